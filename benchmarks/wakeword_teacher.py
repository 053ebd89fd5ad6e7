"""The wake-word teacher's ceiling: the speech embedding, with a head trained on the recipe's own
material, tested on real people exactly as bench_wakeword.py tests the int8 student.

    python benchmarks/wakeword_teacher.py --word alexa --fold 0 [--epochs 3] [--set kokoro_share=0.5]

Why: the 12-keyword embedding teacher scores 91 % on unseen speakers where the student trained
alone scores 83 % (benchmarks/README.md). Before the teacher is built into `kws wakeword train`,
this measures whether it hears the real recordings of a wake word it learnt from text alone any
better than the student does. If it does not, distilling it cannot help and the gap is the data.

What: `kws wakeword train`'s material (its gather(): TTS wake word, confusables, sentences,
noise, and the same real negatives bench_wakeword.py passes: Speech Commands words of other
people and, for fold F, half of LibriSpeech test-other's speakers) drawn for ``--epochs`` epochs of
augmented 1 s windows; the embedding teacher's default head (three MLPs on the six embedding
windows of each padded 1 s window) trained on them. Test: the Picovoice recordings of the word at
20 and 10 dB SNR in the other LibriSpeech half + the six background noises, and that audio alone,
built with kws.keyword_stream as `kws evaluate-stream` builds them (seed 0, gap 2-5 s). The
teacher scores a 1 s window every 80 ms (its embedding's hop), the window's end being the
detection time; it fires when p(wake) reaches the threshold, then stays quiet for 1 s (the
detector's refractory time; no smoothing); hits are matched by kws.stream_eval.match.
Writes benchmarks/results/wakeword_teacher<tag>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_wakeword import FOLDERS, readable_clips, speech_commands_negatives, split_speakers  # noqa: E402

#: The teacher scores one window per embedding hop (80 ms).
HOP_SAMPLES = 1280
REFRACTORY_SECONDS = 1.0
THRESHOLDS = [round(t, 3) for t in np.arange(0.05, 0.99, 0.01)] + [0.99, 0.995, 0.998, 0.999]


def window_probabilities(teacher, samples: np.ndarray, *, clip_samples: int, batch: int = 2048
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(end times in seconds, p(wake)) of 1 s windows every HOP_SAMPLES over ``samples`` (int16)."""
    from kws.progress import progress_bar
    from kws.wakeword.dataset import LABEL_WAKE

    starts = np.arange(0, len(samples) - clip_samples + 1, HOP_SAMPLES)
    probabilities = []
    bar = progress_bar(enabled=True, total=len(starts), desc="teacher over the stream", unit="window")
    for first in range(0, len(starts), batch):
        chunk = starts[first:first + batch]
        windows = np.stack([samples[s:s + clip_samples] for s in chunk])
        logits = teacher.logits(windows)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probabilities.append(p[:, LABEL_WAKE])
        bar.update(len(chunk))
    bar.close()
    return (starts + clip_samples) / 16000.0, np.concatenate(probabilities)


def detections(times: np.ndarray, p: np.ndarray, threshold: float, word: str):
    from kws.detector import Detection

    out, quiet_until = [], -1.0
    for index in np.flatnonzero(p >= threshold):
        if times[index] < quiet_until:
            continue
        out.append(Detection(float(times[index]), word, float(p[index]), int(index)))
        quiet_until = times[index] + REFRACTORY_SECONDS
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--word", default="alexa")
    parser.add_argument("--fold", type=int, choices=(0, 1), default=0)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of augmented windows the head learns from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                        help="a recipe setting (as kws wakeword train --set)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "wakeword")
    parser.add_argument("--tag", default="")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    from kws.audio_files import audio_files, load_negatives
    from kws.data.feature_cache import DEFAULT_CACHE_DIR
    from kws.keyword_stream import build_positive_stream, keyword_sources, load_clips, select_sources
    from kws.stream_eval import fa_per_hour, match
    from kws.teachers.embedding import EmbeddingTeacher
    from kws.wakeword.dataset import epoch_windows
    from kws.wakeword.train import WakewordConfig, gather, with_settings

    started = time.time()
    sc2 = args.data / "speech_commands_v2_test_dev"
    negatives = speech_commands_negatives(args.data)
    train_half, test_half = split_speakers(args.data / "librispeech_test_other", args.runs / "librispeech_split",
                                           args.fold)
    negatives.append(str(train_half))
    config = WakewordConfig(wake_word=args.word, negatives=tuple(negatives), seed=args.seed)
    config = with_settings(config, args.settings)
    material, _calibration, summary = gather(config, cache_dir=DEFAULT_CACHE_DIR / "tts", progress=True, log=print)
    drawn = [epoch_windows(material, config.window, config.room, seed=config.seed, epoch=e) for e in range(args.epochs)]
    teacher = EmbeddingTeacher.fit([w for w, _ in drawn], [y for _, y in drawn], 3, seed=args.seed,
                                   cache_dir=DEFAULT_CACHE_DIR)
    trained = time.time()

    slug = FOLDERS.get(args.word, args.word.replace(" ", "_"))
    clips_found, unreadable = readable_clips(args.data / "wakewords" / slug)
    with tempfile.TemporaryDirectory() as folder:
        for clip in clips_found:
            (Path(folder) / clip.name).symlink_to(clip.resolve())
        sources = keyword_sources(folder, [args.word], word=args.word)
        negative_audio = load_negatives(audio_files([test_half, sc2 / "_background_noise_"]), seconds=3600, seed=0)
        clips, _notes = load_clips(select_sources(sources, 10000, seed=0), trim_db=30.0)
    stream = build_positive_stream(clips, negative_audio.samples, snrs_db=[20.0, 10.0], gap_seconds=(2.0, 5.0),
                                   seed=0)
    clip_samples = config.window.clip_samples
    positive_times, positive_p = window_probabilities(teacher, stream.samples, clip_samples=clip_samples)
    negative_times, negative_p = window_probabilities(teacher, negative_audio.samples, clip_samples=clip_samples)
    seconds = stream.duration + len(negative_audio.samples) / 16000.0

    sweep = []
    for threshold in THRESHOLDS:
        hits, false_positive = match(detections(positive_times, positive_p, threshold, args.word), stream.keywords,
                                     sample_rate=16000)
        false_accepts = len(false_positive) + len(detections(negative_times, negative_p, threshold, args.word))
        sweep.append({"threshold": threshold, "recall": round(sum(h is not None for h in hits) / len(hits), 4),
                      "false_accepts": false_accepts, "fa_per_hour": round(fa_per_hour(false_accepts, seconds), 3)})

    def best(max_fa_per_hour: float):
        rows = [r for r in sweep if r["fa_per_hour"] <= max_fa_per_hour + 1e-9]
        return max(rows, key=lambda r: (r["recall"], r["threshold"])) if rows else None

    result = {
        "word": args.word, "fold": args.fold, "seed": args.seed, "settings": args.settings,
        "epochs_of_windows": args.epochs, "windows": int(sum(len(y) for _, y in drawn)),
        "training": {k: summary[k] for k in ("wake_word_clips", "confusable_clips", "other_speech_seconds",
                                             "user_negative_seconds", "voices")},
        "real_clips": len(stream.keywords), "unreadable_clips_left_out": unreadable,
        "test_hours": round(seconds / 3600, 3),
        "best_at_0_fa": best(0.0), "best_at_most_1_fa_per_hour": best(1.0), "best_at_most_2_fa_per_hour": best(2.0),
        "best_at_most_5_fa_per_hour": best(5.0), "at_0.5": next(r for r in sweep if r["threshold"] == 0.5),
        "seconds": {"material_and_head": round(trained - started), "test": round(time.time() - trained)},
        "sweep": sweep,
    }
    path = args.results / f"wakeword_teacher{args.tag}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[f"{args.word} fold{args.fold} seed{args.seed}"] = result
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "sweep"}, indent=2))


if __name__ == "__main__":
    main()
