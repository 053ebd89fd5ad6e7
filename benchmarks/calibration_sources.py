"""Which negatives should set a wake word's threshold: where each choice lands on real people.

    python benchmarks/calibration_sources.py benchmarks/results/wakeword_embteacher_fold0.json ...

A trained model's threshold is chosen on held-out material (kws.wakeword.calibrate): a positive
stream of held-out TTS voices in noise, and a negative stream of held-out TTS sentences *and* the
held-out fifth of the real ``--negatives`` files (Speech Commands words of other people and half of
LibriSpeech's speakers in bench_wakeword.py). The TTS sentences fire more than real speech does, so
the threshold is cautious and recall at it low. This rebuilds each model's calibration material
from its config.json (the recipe's gather(), cached TTS), scores the two kinds of negatives apart
with the model's own detector, and applies kws.wakeword.calibrate.choose_threshold (count, or tail
estimate where the audio is too short) with the negatives of:

* ``both``: TTS sentences and real speech (what the recipe does; must give the model's threshold);
* ``real``: the real speech alone (what people's rooms sound like);
* ``synthetic``: the TTS sentences alone (what a user without --negatives has).

Each threshold is then read off the benchmark's sweep on the real recordings and LibriSpeech.
Writes benchmarks/results/calibration_sources.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from calibration_rules import at  # noqa: E402


def rebuilt_config(saved: dict):
    """The WakewordConfig a model was trained with, from its config.json (checked equal)."""
    from kws.wakeword.train import SETTABLE, WakewordConfig, with_window

    values = {key: (tuple(saved[key]) if isinstance(saved[key], list) else saved[key]) for key in SETTABLE}
    config = WakewordConfig(wake_word=saved["wake_word"], negatives=tuple(saved["negatives"]),
                            noise=tuple(saved["noise"]), recordings=saved["recordings"], seed=saved["seed"],
                            target_fa_per_hour=saved["target_fa_per_hour"], backbone=saved["backbone"],
                            distill=saved["distill"], **values)
    config = with_window(replace(config, window_seconds=saved["window_seconds"]))
    if json.loads(json.dumps(config.to_dict())) != saved:
        raise SystemExit("could not rebuild the model's config from its config.json")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench_wakeword.py results files")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "calibration_sources.json")
    args = parser.parse_args()

    from kws.data.feature_cache import DEFAULT_CACHE_DIR
    from kws.detector import Detector
    from kws.model_file import load_model
    from kws.stream_eval import ThresholdSweep, evaluate_threshold, score_stream
    from kws.wakeword.calibrate import THRESHOLDS, choose_threshold, positive_stream
    from kws.wakeword.train import gather, negative_stream

    rows = json.loads(args.out.read_text()) if args.out.exists() else {}
    for path in args.results:
        for word, entry in json.loads(path.read_text()).items():
            model_dir = Path(entry["evaluation"]["model"]).parent
            config = rebuilt_config(json.loads((model_dir / "config.json").read_text()))
            _, held, _ = gather(config, cache_dir=DEFAULT_CACHE_DIR / "tts", progress=False, log=print)
            synthetic, real = held["speech"][0], np.concatenate(held["speech"][1:]) if len(held["speech"]) > 1 else None
            model = load_model(model_dir)
            detector = Detector(model, config.detector)
            _, background = negative_stream(held, seed=config.seed, noise_seconds=config.noise_seconds)
            stream = positive_stream(held["positives"], background, config.wake_word, snrs_db=(20.0, 10.0, 5.0),
                                     seed=config.seed)
            positive = ThresholdSweep(detector, score_stream(detector, stream.samples))
            # The negatives as the recipe builds them (speech with quiet noise under it, then noise
            # stretches), from each kind of speech alone and from both.
            kinds = {"both": held["speech"], "synthetic": [synthetic]}
            if real is not None:
                kinds["real"] = [real]
            row = {"word": word, "model": str(model_dir), "model_threshold": model.detector.threshold,
                   "best_at_most_1_fa_per_hour": entry["best_at_most_1_fa_per_hour"], "test_hours": entry["test_hours"]}
            for kind, speech in kinds.items():
                negatives, _ = negative_stream({**held, "speech": speech}, seed=config.seed,
                                               noise_seconds=config.noise_seconds)
                scores = score_stream(detector, negatives)
                negative = ThresholdSweep(detector, scores)
                results = [evaluate_threshold(t, positive, negative, stream, seconds_negative=scores.seconds)
                           for t in THRESHOLDS]
                hours = (scores.seconds + stream.duration) / 3600
                method, chosen, tail = choose_threshold(results, hours=hours,
                                                        target_fa_per_hour=config.target_fa_per_hour)
                if chosen is None:
                    chosen = min(results, key=lambda r: (r.false_accepts, r.false_rejects, r.threshold))
                row[kind] = {"speech_hours": round(sum(len(s) for s in speech) / 16000 / 3600, 3),
                             "calibration_hours": round(hours, 3), "method": method,
                             "estimated_fa_per_hour": round(tail.fa_per_hour(chosen.threshold), 3) if tail else None,
                             "test": at(entry["sweep"], chosen.threshold)}
            if abs(row["both"]["test"]["threshold"] - model.detector.threshold) > 1e-9:
                raise SystemExit(f"{model_dir}: 'both' gives {row['both']['test']['threshold']}, the model "
                                 f"{model.detector.threshold}: the rebuilt calibration is not the recipe's")
            rows[f"{word} {model_dir.name}"] = row
            print(f"{word:13s} {model_dir.name:28s} " + " | ".join(
                f'{k} {row[k]["test"]["threshold"]:.2f}: {100 * row[k]["test"]["recall"]:5.1f} % '
                f'({row[k]["test"]["false_accepts"]} FA)' for k in kinds)
                + (f' | best <= 1 FA/h {100 * entry["best_at_most_1_fa_per_hour"]["recall"]:.1f} %'
                   if entry["best_at_most_1_fa_per_hour"] else " | nothing at <= 1 FA/h"))
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
