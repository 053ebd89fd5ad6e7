"""The k-fold results side by side: one row per variant (benchmarks/results/kfold_*.json), one
column per test fold, int8 test-fold accuracy (LiteRT reference kernels), and each variant's
mean ± sd and its mean difference from a baseline over the folds both have.

    python benchmarks/kfold_table.py                    # baseline: kfold_alone.json
    python benchmarks/kfold_table.py --baseline kokoro-filtered --seed 0
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
INT8 = "tflite_int8_reference_kernels"


def load(seed: int) -> dict[str, dict[int, float]]:
    """Variant name (the JSON's name after kfold_) -> {fold: int8 test accuracy %} for ``seed``."""
    table: dict[str, dict[int, float]] = {}
    for path in sorted(RESULTS.glob("kfold_*.json")):
        document = json.loads(path.read_text())
        if document.get("quick"):
            continue
        for runs in document["runs"].values():
            for run in runs:
                if run["seed"] == seed:
                    table.setdefault(path.stem[len("kfold_"):], {})[run["fold"]] = 100 * run["test_fold"][INT8]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="alone", help="the variant differences are taken from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    table = load(args.seed)
    base = table.get(args.baseline, {})
    folds = range(args.folds)
    print("| variant | " + " | ".join(f"fold {f}" for f in folds) + " | mean ± sd | vs " + args.baseline
          + " (same folds) |")
    print("| --- | " + " | ".join("---:" for _ in folds) + " | ---: | ---: |")
    for name, scores in table.items():
        values = list(scores.values())
        spread = (f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if len(values) > 1
                  else f"{values[0]:.2f}")
        common = [f for f in scores if f in base]
        gain = ("—" if name == args.baseline or not common else
                f"{statistics.mean(scores[f] - base[f] for f in common):+.2f} ({len(common)} folds)")
        cells = " | ".join(f"{scores[f]:.2f}" if f in scores else "" for f in folds)
        print(f"| {name} | {cells} | {spread} ({len(values)}) | {gain} |")


if __name__ == "__main__":
    main()
