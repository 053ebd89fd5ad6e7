"""How a wake-word model's calibrated threshold does on real people, rule by rule, offline.

    python benchmarks/calibration_rules.py results/wakeword_lexicon_fold0.json results/wakeword_lexicon_fold1.json

For every model a ``bench_wakeword.py`` results file evaluated, this reads the calibration sweep
its training wrote (``report.json``: false accepts and rejects at every threshold on the held-out
TTS voices, TTS speech, real negatives and noise) and the benchmark's sweep on the real recordings
and LibriSpeech, and applies each threshold rule to the first to read the second where it lands:

* ``count``: the lowest threshold whose counted false accepts meet the target; with under
  1/target hours of audio, that is no false accept at all (the rule before 2026-11-25);
* ``rule``: :func:`kws.wakeword.calibrate.choose_threshold`, which estimates the rate from the
  tail of the false accepts where the audio is too short to count it (the rule now).

No model runs; both sweeps are already in the files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kws.stream_eval import ThresholdResult, pick_target  # noqa: E402
from kws.wakeword.calibrate import choose_threshold  # noqa: E402


def calibration_sweep(report: dict) -> tuple[list[ThresholdResult], float]:
    """The report's sweep as ThresholdResults (counts only) and its hours of audio."""
    c = report["calibration"]
    hours = c["negative_hours"] + c["positive_stream_hours"]
    rows = [ThresholdResult(r["threshold"], r["keywords"], r["false_rejects"], {}, r["false_accepts"], 0, 0.0,
                            hours * 3600, ()) for r in c["sweep"]]
    return rows, hours


def at(sweep: list[dict], threshold: float) -> dict:
    row = min(sweep, key=lambda r: abs(r["threshold"] - threshold))
    return {"threshold": round(threshold, 4), "recall": row["recall"], "false_accepts": row["false_accepts"],
            "fa_per_hour": row["fa_per_hour"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench_wakeword.py results files")
    parser.add_argument("--out", type=Path, help="write the table as JSON here too")
    args = parser.parse_args()
    rows = []
    for path in args.results:
        for word, entry in json.loads(path.read_text()).items():
            model = Path(entry["evaluation"]["model"]).parent
            report = json.loads((model / "report.json").read_text())
            sweep, hours = calibration_sweep(report)
            target = report["calibration"]["target_fa_per_hour"]
            counted = pick_target(sweep, target) or min(sweep, key=lambda r: (r.false_accepts, r.threshold))
            method, chosen, tail = choose_threshold(sweep, hours=hours, target_fa_per_hour=target)
            chosen = chosen or counted
            rows.append({"word": word, "model": str(model), "calibration_hours": round(hours, 3),
                         "count": at(entry["sweep"], counted.threshold),
                         "rule": {**at(entry["sweep"], chosen.threshold), "method": method,
                                  "estimated_fa_per_hour": round(tail.fa_per_hour(chosen.threshold), 3) if tail else None},
                         "best_at_most_1_fa_per_hour": entry["best_at_most_1_fa_per_hour"],
                         "test_hours": entry["test_hours"]})
            r = rows[-1]
            print(f'{word:13s} {model.name:22s} count {r["count"]["threshold"]:.2f}: {100 * r["count"]["recall"]:5.1f} % '
                  f'({r["count"]["false_accepts"]} FA) | {method} {r["rule"]["threshold"]:.2f}: '
                  f'{100 * r["rule"]["recall"]:5.1f} % ({r["rule"]["false_accepts"]} FA) | best <= 1 FA/h '
                  f'{r["best_at_most_1_fa_per_hour"]["threshold"]:.2f}: {100 * r["best_at_most_1_fa_per_hour"]["recall"]:.1f} %')
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
