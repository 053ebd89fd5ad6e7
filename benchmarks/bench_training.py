"""Training benchmark: teacher, student alone and distilled student, over several seeds.

    python benchmarks/bench_training.py [--seeds 0 1 2] [--epochs 40] [--runs runs/bench]
    python benchmarks/bench_training.py --epochs 25 --synthetic runs/tts-keywords-grid \
        --runs runs/bench-ttsgrid --json benchmarks/results/training_ttsgrid.json
    python benchmarks/bench_training.py --epochs 25 --seeds 0 1 --teachers embedding \
        --json benchmarks/results/training_embedding.json

For each seed: the teacher (ds-cnn-teacher), the student trained alone (ds-cnn-s) and the
student distilled from that seed's teacher, all with the same recipe and the same held-out
validation speakers (20 % of the speakers of ../shared/data, by a fixed salted hash). Each is
exported to int8, and its accuracy is measured at every stage: Keras float, TFLite float,
TFLite int8 with LiteRT's reference kernels. ``--synthetic DIR`` adds a folder of synthetic
keyword clips (``benchmarks/make_tts_keywords.py DIR --grid 240``) to the training side of all
three; its fake speakers are never held out, so the validation clips stay the same real ones.
``--teachers`` picks the teachers (the student alone is always trained): ``dscnn`` the DS-CNN
teacher above, ``embedding`` the speech-embedding teacher (``kws distill --teacher embedding``:
its head trained on the same training clips; its float accuracy is measured by the run, the
student distilled from it is exported like the others). Prints mean and spread (sample standard
deviation) over the seeds as a markdown table and writes the raw figures to --json.
Runs resume: finished runs are reused, interrupted ones continue from their checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kws.exporting import export_run  # noqa: E402
from kws.teachers import EMBEDDING  # noqa: E402
from kws.training import TrainConfig, train  # noqa: E402

STAGES = ("keras_float", "tflite_float", "tflite_int8_reference_kernels")
#: The rows of the table by --teachers: (row, run directory prefix), in the order they train.
ROWS = {"dscnn": (("teacher", "teacher"),),
        "alone": (("student alone", "student"),),
        "dscnn-student": (("student distilled", "distilled"),),
        "embedding": (("student distilled from the speech embedding", "embedding-distilled"),)}
EMBEDDING_TEACHER = "speech-embedding teacher (float)"


def _run(config: TrainConfig, run_dir: Path) -> dict:
    model = run_dir / "model.json"
    if not model.exists():
        train(config, run_dir, progress=False, log=lambda m: print(f"  {run_dir.name}: {m}", flush=True))
        export_run(run_dir, log=lambda m: None)
    return json.loads(model.read_text())["accuracy"]


def _embedding_teacher(run_dir: Path) -> dict:
    """The speech-embedding teacher's float accuracy, as its distillation run measured it."""
    accuracy = json.loads((run_dir / "metrics.json").read_text())["teacher_val_accuracy"]
    return {"validation_clips": None, "keras_float": accuracy, "tflite_float": None,
            "tflite_int8_reference_kernels": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--synthetic", type=Path, action="append", default=[],
                        help="a Speech Commands-layout folder of synthetic clips to train on as well (repeatable)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "training.json")
    parser.add_argument("--teachers", nargs="+", choices=("dscnn", "embedding"), default=["dscnn"],
                        help="which teachers to distil from (default: the DS-CNN teacher)")
    args = parser.parse_args()

    data = (str(args.data / "speech_commands_v2_test_dev"), str(args.data / "speech_commands_v1_unknown_dev"))
    data += tuple(str(folder) for folder in args.synthetic)
    base = TrainConfig(data=data, epochs=args.epochs, validation_percent=20.0)
    dscnn = "dscnn" in args.teachers
    groups = ["dscnn"] * dscnn + ["alone"] + ["dscnn-student"] * dscnn + ["embedding"] * ("embedding" in args.teachers)
    results: dict[str, list[dict]] = {row: [] for group in groups for row, _ in ROWS[group]}
    if "embedding" in args.teachers:
        results[EMBEDDING_TEACHER] = []
    for seed in args.seeds:
        teacher_dir = args.runs / f"teacher-seed{seed}"
        configs = {"teacher": replace(base, architecture="ds-cnn-teacher", seed=seed),
                   "student": replace(base, seed=seed),
                   "distilled": replace(base, seed=seed, teacher=str(teacher_dir)),
                   "embedding-distilled": replace(base, seed=seed, teacher=EMBEDDING)}
        print(f"seed {seed}", flush=True)
        for group in groups:
            for row, prefix in ROWS[group]:
                run_dir = args.runs / f"{prefix}-seed{seed}"
                results[row].append(_run(configs[prefix], run_dir))
                if prefix == "embedding-distilled":
                    results[EMBEDDING_TEACHER].append(_embedding_teacher(run_dir))

    summary = {}
    for kind, rows in results.items():
        summary[kind] = {}
        for stage in STAGES:
            values = [row[stage] for row in rows]
            if None in values:
                continue
            summary[kind][stage] = {"mean": statistics.mean(values),
                                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                                    "values": values}
    clips = results["student alone"][0]["validation_clips"]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    document = {"date": date.today().isoformat(), "machine": machine, "seeds": args.seeds, "epochs": args.epochs,
                "validation_clips": clips, "synthetic": [str(f) for f in args.synthetic], "teachers": args.teachers,
                "results": results, "summary": summary}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")

    print(f"\nAccuracy on {clips} validation clips of held-out speakers, mean ± std over seeds {args.seeds}:\n")
    print("| model | Keras float | TFLite float | TFLite int8 (reference kernels) |")
    print("| --- | ---: | ---: | ---: |")
    for kind in results:
        cells = [f"{100 * summary[kind][s]['mean']:.2f} ± {100 * summary[kind][s]['std']:.2f}" if s in summary[kind]
                 else "—" for s in STAGES]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    alone = summary["student alone"][STAGES[2]]["mean"]
    for kind in (row for row, prefix in ROWS["dscnn-student"] + ROWS["embedding"] if row in summary):
        print(f"\nDistillation gain (int8), {kind}: {100 * (summary[kind][STAGES[2]]['mean'] - alone):+.2f} points")


if __name__ == "__main__":
    main()
