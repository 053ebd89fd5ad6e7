"""Pool the two LibriSpeech folds of the wake-word benchmark into one figure per word.

    python benchmarks/pool_wakeword_folds.py --tags _final _final_fold1 --out benchmarks/results/wakeword_final.json

`bench_wakeword.py --split-librispeech --fold 0` trains on half of LibriSpeech's speakers and
tests on the other half; `--fold 1` the other way round. Each test stream is short (about 0.6 h
with the keyword stream), so one false accept is 1.6 per hour and a threshold at <= 1 FA/h must
have none. Pooled, every LibriSpeech speaker is tested by a model that never heard them, on
about 1.2 h: per threshold of the shared sweep, the false accepts of both folds over both folds'
hours, and the mean recall of the two (the same real clips, placed into each fold's test audio).
Each fold's calibrated threshold is its own model's; those are reported per fold.

Runs of other seeds of the same folds may be pooled too (``--tags`` takes any number): the
negative audio then counts once per model, so the pooled rate is the models' mean false accepts
per hour, the recall their mean, which is what a user of the recipe can expect from one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pool(folds: list[dict]) -> dict:
    """One word's pooled sweep and the best recall at <= 1 and <= 2 false accepts per hour."""
    hours = sum(f["test_hours"] for f in folds)
    by_threshold = [{row["threshold"]: row for row in f["sweep"]} for f in folds]
    common = sorted(set.intersection(*(set(t) for t in by_threshold)))
    sweep = []
    for threshold in common:
        rows = [t[threshold] for t in by_threshold]
        false_accepts = sum(r["false_accepts"] for r in rows)
        sweep.append({"threshold": threshold, "recall": round(sum(r["recall"] for r in rows) / len(rows), 4),
                      "false_accepts": false_accepts, "fa_per_hour": round(false_accepts / hours, 3)})

    def best(limit: float):
        within = [r for r in sweep if r["fa_per_hour"] <= limit]
        return max(within, key=lambda r: (r["recall"], r["threshold"])) if within else None

    return {
        "folds": len(folds), "test_hours": round(hours, 3), "one_false_accept_per_hour": round(1 / hours, 3),
        "best_at_most_1_fa_per_hour": best(1.0), "best_at_most_2_fa_per_hour": best(2.0),
        "best_at_most_5_fa_per_hour": best(5.0),
        "at_calibrated_threshold_per_fold": [{"threshold": f["calibrated_threshold"], **f["at_calibrated_threshold"]}
                                              for f in folds],
        "train_seconds_per_fold": [f["train_seconds"] for f in folds],
        "sweep": sweep,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tags", nargs="+", required=True, metavar="TAG",
                        help="the --tag of the fold-0 and the fold-1 benchmark runs (or of several seeds of each: "
                             "their sweeps are pooled the same way, the recall averaged, the false accepts summed)")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if len(args.tags) < 2:
        parser.error("--tags needs at least the two folds' runs")
    runs = [json.loads((args.results / f"wakeword{tag}.json").read_text()) for tag in args.tags]
    for tag, run in zip(args.tags, runs):
        for word, result in run.items():
            if "fold" not in result.get("librispeech", ""):
                raise SystemExit(f"wakeword{tag}.json: {word} was not a --split-librispeech run")
    words = [w for w in runs[0] if all(w in run for run in runs)]
    pooled = {word: pool([run[word] for run in runs]) for word in words}
    args.out.write_text(json.dumps(pooled, indent=2) + "\n")
    for word, result in pooled.items():
        print(json.dumps({word: {k: v for k, v in result.items() if k != "sweep"}}, indent=2))


if __name__ == "__main__":
    main()
