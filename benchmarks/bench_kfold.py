"""Honest 12-class figures: k-fold validation by speakers, mean ± sd of the int8 test-fold accuracy.

    python benchmarks/bench_kfold.py --recipe alone --seeds 0 --epochs 25
    python benchmarks/bench_kfold.py --recipe dscnn --seeds 0 --epochs 25
    python benchmarks/bench_kfold.py --recipe embedding --seeds 0 --epochs 25
    python benchmarks/bench_kfold.py --recipe alone --seeds 0 --epochs 25 --prune-to 48
    python benchmarks/bench_kfold.py --recipe alone --quick --data DIR   # a smoke run, about a minute

The speakers of ../shared/data (speech_commands_v2_test_dev + speech_commands_v1_unknown_dev)
are split into K folds (default 5) by a salted hash of the speaker id
(:func:`kws.data.speech_commands.speaker_fold`). For each seed and fold, the recipe trains on
the other folds, less an inner validation share of their speakers (``--inner-percent``) on
which it picks its best epoch; the test fold is never trained on and never chooses anything.
Each run is exported to int8 and scored on its test fold with LiteRT's reference kernels.

Recipes: ``alone`` the student (ds-cnn-s) alone; ``dscnn`` the DS-CNN teacher, then the student
distilled from it (the teacher trained on the same fold split); ``embedding`` the student
distilled from the speech-embedding teacher (``kws distill --teacher embedding``).
``--prune-to WIDTH`` trains every student row as ``kws train --prune-to WIDTH`` does (the full
width, then pruned to WIDTH channels and fine-tuned; a DS-CNN teacher is never pruned and is
the unpruned recipe's own); its runs and JSON carry ``-prune<WIDTH>`` after ``--tag``. Each run
records its model's MACs, parameters and width (and, pruned, what pruning took).

Writes ``benchmarks/results/kfold_<recipe>.json`` after every finished run, with each run's
test-fold accuracy and per-class recall and their mean ± sd (sample standard deviation) over
the finished runs. Rerun the same command to resume: finished runs (their model.json) are
reused, an interrupted one continues from its checkpoint.
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

from kws.data.speech_commands import LABELS  # noqa: E402
from kws.labels import SILENCE, UNKNOWN  # noqa: E402
from kws.teachers import EMBEDDING  # noqa: E402
from kws.training import TrainConfig, read_run_config  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Trains a run unless finished (its model.json), exports it, returns its accuracy record.
from bench_training import _run  # noqa: E402

RECIPES = ("alone", "dscnn", "embedding")
INT8 = "tflite_int8_reference_kernels"


def model_size(run_dir: Path) -> dict:
    """The run's model: width, parameters and MACs of one inference (its model file's), and for
    a pruned run what pruning took (its metrics')."""
    architecture = json.loads((run_dir / "model.json").read_text())["architecture"]
    pruned = json.loads((run_dir / "metrics.json").read_text()).get("pruned")
    return {"channels": architecture["channels"], "parameters": architecture["parameters"],
            "macs": architecture["macs"], **({"pruned": pruned} if pruned else {})}


def _spread(values: list[float | None]) -> dict | None:
    """Mean, sample sd and count of the measured values (None: not measured, e.g. no clips)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "runs": len(values)}


def summarize(runs: list[dict]) -> dict:
    """Mean ± sd over finished runs of the int8 test-fold accuracy and of each class's recall."""
    if not runs:
        return {}
    summary = {"int8_test_accuracy": _spread([r["test_fold"][INT8] for r in runs]),
               "keras_float_test_accuracy": _spread([r["test_fold"]["keras_float"] for r in runs]),
               "int8_inner_validation_accuracy": _spread([r["validation"][INT8] for r in runs])}
    summary["int8_recall"] = {label: _spread([r["test_fold"]["int8_recall"][label] for r in runs]) for label in LABELS}
    for size in ("channels", "parameters", "macs"):
        values = sorted({r[size] for r in runs if size in r})  # one value, the same model in every run
        if values:
            summary[size] = values[0] if len(values) == 1 else values
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=RECIPES, default="alone")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--folds", type=int, default=5, help="K, the number of speaker folds (default 5)")
    parser.add_argument("--only-folds", type=int, nargs="+", metavar="I",
                        help="train only these folds now (the JSON holds every finished one)")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--inner-percent", type=float, default=20.0,
                        help="share of the training folds' speakers that choose the best epoch (default 20)")
    parser.add_argument("--data", type=Path, nargs="+",
                        default=[ROOT.parent / "shared" / "data" / "speech_commands_v2_test_dev",
                                 ROOT.parent / "shared" / "data" / "speech_commands_v1_unknown_dev"])
    parser.add_argument("--synthetic", type=Path, nargs="+", default=[], metavar="DIR",
                        help="folders `kws data synthesize` wrote, trained on as well (never in a test fold)")
    parser.add_argument("--temperature", type=float, help="distillation temperature (default the recipe's)")
    parser.add_argument("--alpha", type=float, help="weight of the hard-label loss (default the recipe's)")
    parser.add_argument("--cross-fit", type=int, default=0, metavar="K",
                        help="embedding recipe: the teacher's heads cross-fitted over K speaker parts")
    parser.add_argument("--teacher-hears", choices=("augmented", "clean"), default="augmented",
                        help="embedding recipe: the teacher labels each epoch's augmented audio, or each clean clip once")
    parser.add_argument("--filter-synthetic", action="store_true",
                        help="drop the synthetic clips the embedding teacher does not hear as their word")
    parser.add_argument("--tag", default="",
                        help="names this variant: its runs are <prefix><tag>-seedS-foldI, its JSON "
                             "kfold_<recipe><tag>.json")
    parser.add_argument("--prune-to", type=int, metavar="WIDTH",
                        help="prune the students to WIDTH channels a block and fine-tune (kws train --prune-to)")
    parser.add_argument("--prune-epochs", type=int, metavar="N",
                        help="with --prune-to: fine-tuning epochs (default: a third of --epochs)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "kfold")
    parser.add_argument("--json", type=Path, help="default benchmarks/results/kfold_<recipe>.json")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 clips a label, 2 epochs (its runs go under --runs/quick)")
    args = parser.parse_args()
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.prune_epochs and not args.prune_to:
        parser.error("--prune-epochs needs --prune-to")
    teacher_tag = args.tag  # a DS-CNN teacher is never pruned: the unpruned recipe's is reused
    if args.prune_to:
        args.tag += f"-prune{args.prune_to}"
    json_path = args.json or ROOT / "benchmarks" / "results" / f"kfold_{args.recipe}{args.tag}.json"

    base = TrainConfig(data=tuple(str(d) for d in args.data + args.synthetic), epochs=args.epochs, folds=args.folds,
                       validation_percent=args.inner_percent)
    base = replace(base, **{k: v for k, v in (("temperature", args.temperature), ("alpha", args.alpha))
                            if v is not None}, filter_synthetic=args.filter_synthetic)
    runs_root = args.runs
    if args.quick:
        base = replace(base, epochs=min(args.epochs, 2), max_clips_per_label=20, calibration_clips=20, batch_size=32)
        runs_root = args.runs / "quick"
    # The rows a recipe trains, in order: (row, run directory prefix, config of (seed, fold)).
    rows = {"alone": [("student alone", "student")],
            "dscnn": [("teacher", "teacher"), ("student distilled", "distilled")],
            "embedding": [("student distilled from the speech embedding", "embedding-distilled")]}[args.recipe]

    def run_dir_of(prefix: str, seed: int, fold: int) -> Path:
        return runs_root / f"{prefix}{teacher_tag if prefix == 'teacher' else args.tag}-seed{seed}-fold{fold}"

    def config_of(prefix: str, seed: int, fold: int) -> TrainConfig:
        config = replace(base, seed=seed, fold=fold)
        if prefix == "teacher":
            return replace(config, architecture="ds-cnn-teacher")
        config = replace(config, prune_to=args.prune_to or 0, prune_epochs=args.prune_epochs or 0)
        if prefix == "distilled":
            return replace(config, teacher=str(run_dir_of("teacher", seed, fold)))
        if prefix == "embedding-distilled":
            return replace(config, teacher=EMBEDDING, teacher_cross_fit=args.cross_fit, teacher_hears=args.teacher_hears)
        return config

    wanted = set(args.only_folds) if args.only_folds else set(range(args.folds))
    results: dict[str, list[dict]] = {row: [] for row, _ in rows}
    for seed in args.seeds:
        for fold in range(args.folds):
            for row, prefix in rows:
                run_dir = run_dir_of(prefix, seed, fold)
                if fold not in wanted and not (run_dir / "model.json").exists():
                    continue
                print(f"seed {seed}, fold {fold} of {args.folds}: {row}", flush=True)
                config = config_of(prefix, seed, fold)
                if (run_dir / "config.json").exists() and read_run_config(run_dir) != config:
                    # A finished run is reused by its model.json alone: never one of other settings.
                    sys.exit(f"{run_dir} holds a run with other settings; give another --tag or --runs")
                accuracy = _run(config, run_dir)
                validation = {k: accuracy[k] for k in ("validation_clips", "keras_float", "tflite_float", INT8)}
                results[row].append({"seed": seed, "fold": fold, "run": str(run_dir), "validation": validation,
                                     "test_fold": accuracy["test_fold"], **model_size(run_dir)})
                _write(json_path, args, results)
    _print(results, args.folds)


def _write(path: Path, args: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}")
    document = {"date": date.today().isoformat(), "machine": machine, "recipe": args.recipe, "seeds": args.seeds,
                "folds": args.folds, "epochs": args.epochs, "inner_validation_percent": args.inner_percent,
                "quick": args.quick, "data": [str(d) for d in args.data],
                **({"synthetic": [str(d) for d in args.synthetic]} if args.synthetic else {}),
                **{k: getattr(args, k) for k in ("temperature", "alpha", "cross_fit", "filter_synthetic", "tag",
                                                 "prune_to", "prune_epochs")
                   if getattr(args, k)},
                **({"teacher_hears": args.teacher_hears} if args.recipe == "embedding" else {}),
                "finished": {row: [(r["seed"], r["fold"]) for r in runs] for row, runs in results.items()},
                "runs": results, "summary": {row: summarize(runs) for row, runs in results.items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _print(results: dict[str, list[dict]], folds: int) -> None:
    print(f"\nint8 (LiteRT reference kernels) accuracy on the test fold, mean ± sd over the finished runs "
          f"of {folds} folds:\n")
    print("| model | runs | MACs | parameters | test-fold accuracy | `_unknown_` recall | `_silence_` recall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row, runs in results.items():
        summary = summarize(runs)
        if not summary:
            continue
        cells = [summary["int8_test_accuracy"], summary["int8_recall"][UNKNOWN], summary["int8_recall"][SILENCE]]
        sizes = " | ".join(f"{summary[k]:,}" if isinstance(summary.get(k), int) else "—" for k in ("macs", "parameters"))
        print(f"| {row} | {len(runs)} | {sizes} | "
              + " | ".join(f"{100 * c['mean']:.2f} ± {100 * c['sd']:.2f}" if c else "—" for c in cells) + " |")


if __name__ == "__main__":
    main()
