"""The speech-embedding teacher's own float accuracy on each test fold (the teacher a k-fold
run trained, ``embedding_teacher.npz`` in its run folder, scored on that run's test fold).

    python benchmarks/kfold_teacher.py runs/kfold/embedding-distilled-kokoro-filtered-clean-seed0-fold*

Writes benchmarks/results/embedding_teacher_kfold.json: per run, the test-fold accuracy and its mean ± sd.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kws.data.speech_commands import LABELS, scan  # noqa: E402
from kws.teachers.embedding import EmbeddingTeacher  # noqa: E402
from kws.training import _load_audio_matrix, read_run_config  # noqa: E402


def test_fold_accuracy(run_dir: Path) -> dict:
    config = read_run_config(run_dir)
    split = json.loads((run_dir / "split.json").read_text())
    by_path = {str(c.path): c for root in config.data for c in scan(root)[0]}
    clips = [by_path[p] for p in split["test_files"]]
    audio = _load_audio_matrix([c.path for c in clips], config.clip_samples, config.mfcc.sample_rate)
    labels = np.array([LABELS.index(c.label) for c in clips])
    teacher = EmbeddingTeacher.load(run_dir / "embedding_teacher.npz")
    predicted = np.argmax(teacher.logits(audio), axis=1)
    return {"run": str(run_dir), "fold": config.fold, "clips": len(clips),
            "teacher_float_test_accuracy": float(np.mean(predicted == labels))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "embedding_teacher_kfold.json")
    args = parser.parse_args()
    rows = [test_fold_accuracy(run) for run in args.runs if (run / "embedding_teacher.npz").exists()]
    values = [r["teacher_float_test_accuracy"] for r in rows]
    summary = {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
               "runs": len(values)}
    args.json.write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")
    for r in rows:
        print(f"fold {r['fold']}: {100 * r['teacher_float_test_accuracy']:.2f} % of {r['clips']} clips ({r['run']})")
    print(f"mean ± sd: {100 * summary['mean']:.2f} ± {100 * summary['sd']:.2f} over {summary['runs']} folds")


if __name__ == "__main__":
    main()
