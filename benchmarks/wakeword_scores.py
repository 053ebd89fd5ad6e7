"""Where a wake-word model's benchmark figure comes from: its scores on each side, apart.

    python benchmarks/wakeword_scores.py clips runs/wakeword/alexa_final_fold1 runs/wakeword/alexa_v1200r1_f1
    python benchmarks/wakeword_scores.py negatives --fold 1 runs/wakeword/alexa_final_fold1

``clips``: every readable real recording of the model's word (``../shared/data/wakewords/``),
trimmed as the benchmark trims it, alone with 1 s of silence either side; the highest smoothed
wake-word score the live detector gives it. The share of clips at or above a few thresholds says
how well the model knows real people's voices, with no background and no negative in play.

``negatives``: the benchmark's negative audio of one LibriSpeech fold (its test speakers and the
background-noise files, in the benchmark's order); the highest-scoring moments, with the file
and the second they fall in. At "no false accept" the best of these decides the threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsp.config import SAMPLE_RATE  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.8, 0.9)


def smoothed_wake_scores(model, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(end time in seconds of each inference, the detector's smoothed wake-word probability there)
    over ``samples``: the sums :class:`kws.stream_eval.ThresholdSweep` thresholds, as probabilities."""
    from kws.detector import Detector
    from kws.stream_eval import ThresholdSweep, score_stream

    detector = Detector(model)
    sweep = ThresholdSweep(detector, score_stream(detector, samples))
    ends = np.array([detector.end_time(int(frame)) for frame in sweep.frames])
    return ends, sweep.best_sum * sweep.scale / sweep.count


def clips(args: argparse.Namespace) -> None:
    from bench_wakeword import FOLDERS, readable_clips

    from kws.audio import load_audio
    from kws.model_file import load_model
    from kws.trim import trim

    for model_dir in args.models:
        model = load_model(Path(model_dir) / "model.json")
        word = model.labels[-1]
        paths, _ = readable_clips(args.data / "wakewords" / FOLDERS.get(word, word.replace(" ", "_")))
        silence = np.zeros(SAMPLE_RATE, dtype=np.int16)
        best, seconds = {}, {}
        for path in paths:
            samples = load_audio(path, sample_rate=SAMPLE_RATE).samples
            start, end = trim(samples, SAMPLE_RATE)
            _, smoothed = smoothed_wake_scores(model, np.concatenate([silence, samples[start:end], silence]))
            best[path.name] = round(float(smoothed.max()), 4)
            seconds[path.name] = (end - start) / SAMPLE_RATE
        values = np.array(list(best.values()))
        shares = {f"{t:g}": round(float((values >= t).mean()), 3) for t in THRESHOLDS}
        record = {"model": str(model_dir), "word": word, "clips": len(values), "share_at_or_above": shares}
        if args.by_duration:
            # The trimmed clip's length (speech and whatever noise the energy trim keeps).
            lengths = np.array(list(seconds.values()))
            edges = [0.0, 0.7, 0.8, 0.9, 1.0, 1.1, 1.3, np.inf]
            record["share_at_or_above_0.5_by_seconds"] = {
                f"{lo:g}-{hi:g}": {"clips": int(inside.sum()), "share": round(float((values[inside] >= 0.5).mean()), 3)}
                for lo, hi in zip(edges, edges[1:]) if (inside := (lengths >= lo) & (lengths < hi)).any()}
        print(json.dumps(record))


def negatives(args: argparse.Namespace) -> None:
    from kws.audio import load_audio
    from kws.model_file import load_model
    from kws.audio_files import audio_files, load_negatives

    files = audio_files([args.runs / "librispeech_split" / f"fold{args.fold}" / "test",
                         args.data / "speech_commands_v2_test_dev" / "_background_noise_"])
    audio = load_negatives(files, seconds=3600, seed=0)  # the benchmark's --minutes 60, --seed 0
    starts = np.cumsum([0] + [len(load_audio(f, sample_rate=SAMPLE_RATE).samples) for f in audio.files]) / SAMPLE_RATE
    for model_dir in args.models:
        model = load_model(Path(model_dir) / "model.json")
        ends, smoothed = smoothed_wake_scores(model, audio.samples)
        top: list[dict] = []
        for i in np.argsort(-smoothed):
            end = float(ends[i])
            # One entry per moment: inferences within 2 s of a listed one are the same event.
            if any(abs(end - t["end"]) < 2 for t in top):
                continue
            k = int(np.searchsorted(starts, end, side="right")) - 1
            top.append({"end": end, "score": round(float(smoothed[i]), 3),
                        "file": audio.files[k].name, "second": round(end - starts[k], 1)})
            if len(top) == args.top:
                break
        print(json.dumps({"model": str(model_dir), "fold": args.fold, "hours": round(len(audio.samples) / SAMPLE_RATE / 3600, 3),
                          "top": [{k: v for k, v in t.items() if k != "end"} for t in top]}, indent=1))


def main() -> None:
    from kws.extras import import_tensorflow

    import_tensorflow(what="wakeword_scores.py")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "wakeword")
    sub = parser.add_subparsers(dest="what", required=True)
    on_clips = sub.add_parser("clips", help="each real recording's best score, alone")
    on_clips.add_argument("--by-duration", action="store_true",
                          help="also the share at or above 0.5 by the trimmed clip's length")
    on_clips.add_argument("models", nargs="+", type=Path)
    on_clips.set_defaults(run=clips)
    on_negatives = sub.add_parser("negatives", help="the highest-scoring moments of a fold's negative audio")
    on_negatives.add_argument("--fold", type=int, choices=(0, 1), required=True)
    on_negatives.add_argument("--top", type=int, default=6)
    on_negatives.add_argument("models", nargs="+", type=Path)
    on_negatives.set_defaults(run=negatives)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
