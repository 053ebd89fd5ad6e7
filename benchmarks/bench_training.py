"""Training benchmark: teacher, student alone and distilled student, over several seeds.

    python benchmarks/bench_training.py [--seeds 0 1 2] [--epochs 40] [--runs runs/bench]
    python benchmarks/bench_training.py --epochs 25 --synthetic runs/tts-keywords-grid \
        --runs runs/bench-ttsgrid --json benchmarks/results/training_ttsgrid.json

For each seed: the teacher (ds-cnn-teacher), the student trained alone (ds-cnn-s) and the
student distilled from that seed's teacher, all with the same recipe and the same held-out
validation speakers (20 % of the speakers of ../shared/data, by a fixed salted hash). Each is
exported to int8, and its accuracy is measured at every stage: Keras float, TFLite float,
TFLite int8 with LiteRT's reference kernels. ``--synthetic DIR`` adds a folder of synthetic
keyword clips (``benchmarks/make_tts_keywords.py DIR --grid 240``) to the training side of all
three; its fake speakers are never held out, so the validation clips stay the same real ones. Prints mean and spread (sample standard
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
from kws.training import TrainConfig, train  # noqa: E402

STAGES = ("keras_float", "tflite_float", "tflite_int8_reference_kernels")
KINDS = ("teacher", "student alone", "student distilled")


def _run(config: TrainConfig, run_dir: Path) -> dict:
    model = run_dir / "model.json"
    if model.exists():
        return json.loads(model.read_text())["accuracy"]
    train(config, run_dir, progress=False, log=lambda m: print(f"  {run_dir.name}: {m}", flush=True))
    return export_run(run_dir, log=lambda m: None)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--synthetic", type=Path, action="append", default=[],
                        help="a Speech Commands-layout folder of synthetic clips to train on as well (repeatable)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "bench")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "training.json")
    args = parser.parse_args()

    data = (str(args.data / "speech_commands_v2_test_dev"), str(args.data / "speech_commands_v1_unknown_dev"))
    data += tuple(str(folder) for folder in args.synthetic)
    base = TrainConfig(data=data, epochs=args.epochs, validation_percent=20.0)
    results: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for seed in args.seeds:
        teacher_dir = args.runs / f"teacher-seed{seed}"
        print(f"seed {seed}", flush=True)
        results["teacher"].append(_run(replace(base, architecture="ds-cnn-teacher", seed=seed), teacher_dir))
        results["student alone"].append(_run(replace(base, seed=seed), args.runs / f"student-seed{seed}"))
        results["student distilled"].append(
            _run(replace(base, seed=seed, teacher=str(teacher_dir)), args.runs / f"distilled-seed{seed}"))

    summary = {}
    for kind, rows in results.items():
        summary[kind] = {}
        for stage in STAGES:
            values = [row[stage] for row in rows]
            summary[kind][stage] = {"mean": statistics.mean(values),
                                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                                    "values": values}
    clips = results["teacher"][0]["validation_clips"]
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    document = {"date": date.today().isoformat(), "machine": machine, "seeds": args.seeds, "epochs": args.epochs,
                "validation_clips": clips, "synthetic": [str(f) for f in args.synthetic], "results": results, "summary": summary}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")

    print(f"\nAccuracy on {clips} validation clips of held-out speakers, mean ± std over seeds {args.seeds}:\n")
    print("| model | Keras float | TFLite float | TFLite int8 (reference kernels) |")
    print("| --- | ---: | ---: | ---: |")
    for kind in KINDS:
        cells = [f"{100 * summary[kind][s]['mean']:.2f} ± {100 * summary[kind][s]['std']:.2f}" for s in STAGES]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    gain = summary["student distilled"][STAGES[2]]["mean"] - summary["student alone"][STAGES[2]]["mean"]
    print(f"\nDistillation gain (int8): {100 * gain:+.2f} points")


if __name__ == "__main__":
    main()
