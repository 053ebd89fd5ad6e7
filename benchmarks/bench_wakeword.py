"""Wake words from text, measured on real people: "alexa", "smart mirror" and "snowboy".

    python benchmarks/bench_wakeword.py [--quick] [--words alexa "smart mirror" snowboy] [--data ../shared/data]

For each word: `kws wakeword train WORD` from text only (no recording of the word), with Speech
Commands words of other people as extra negatives (the v0.02 test-dev keyword and _unknown_
folders, the v0.01 unknown words; never LibriSpeech or the background noise, which are the test
negatives), then `kws evaluate-stream` on the Picovoice recordings of the word
(../shared/data/wakewords/<word>/, never trained on) placed at 20 and 10 dB SNR into LibriSpeech
+ the background noise, which are also the negative stream. Reports recall at the model's own
calibrated threshold and the best recall at <= 1 false accept per hour (a threshold chosen on the
test itself: an upper bound), the training time, and a DET curve per word. Writes
benchmarks/results/wakeword.json and wakeword_<word>.png; models go to runs/wakeword/<word>.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kws.cli import main as kws  # noqa: E402

FOLDERS = {"alexa": "alexa", "smart mirror": "smart_mirror", "snowboy": "snowboy"}


def readable_clips(folder: Path) -> tuple[list[Path], list[str]]:
    """The clips soundfile can decode, and the names of those it cannot (one alexa flac is corrupt)."""
    import soundfile as sf

    good, bad = [], []
    for path in sorted(folder.iterdir()):
        try:
            sf.read(path, frames=-1)
            good.append(path)
        except Exception:  # noqa: BLE001 - any decoder error means: leave it out, and say so
            bad.append(path.name)
    return good, bad


def split_speakers(folder: Path, out: Path, fold: int = 0) -> tuple[Path, Path]:
    """(training, test): folders of links to LibriSpeech's files (<speaker>-<chapter>-<n>.flac).
    Fold 0 trains on the speakers at even positions in sorted order and tests on the odd ones;
    fold 1 the other way round."""
    speakers = sorted({p.name.split("-")[0] for p in folder.glob("*.flac")}, key=int)
    halves = (out / f"fold{fold}" / "train", out / f"fold{fold}" / "test")
    for half in halves:
        half.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.flac")):
        link = halves[(speakers.index(path.name.split("-")[0]) + fold) % 2] / path.name
        if not link.is_symlink():  # runs beside each other share the folders: never remove a link
            link.symlink_to(path.resolve())
    return halves


def speech_commands_negatives(data: Path) -> list[str]:
    """The real-speech negatives every wake word trains with: the Speech Commands v0.02 test-dev
    word folders (keywords and _unknown_, not the noise or silence) and the v0.01 unknown words."""
    sc2 = data / "speech_commands_v2_test_dev"
    negatives = [str(p) for p in sorted(sc2.iterdir()) if p.is_dir() and p.name not in ("_background_noise_", "_silence_")]
    return negatives + [str(data / "speech_commands_v1_unknown_dev")]


def changed_settings(config: dict) -> dict:
    """The recipe settings (``kws wakeword train --set``) in a model's config.json that differ
    from today's defaults."""
    from kws.wakeword.train import SETTABLE, WakewordConfig

    defaults = WakewordConfig(wake_word="x").to_dict()
    return {key: config[key] for key in SETTABLE
            if key in config and json.dumps(config[key]) != json.dumps(defaults[key])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--words", nargs="+", default=list(FOLDERS))
    parser.add_argument("--quick", action="store_true", help="the --quick recipe (a smoke test)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--voices", type=int)
    parser.add_argument("--backbone", type=Path, help="passed to kws wakeword train --backbone")
    parser.add_argument("--distill", nargs="?", const="dscnn", metavar="TEACHER",
                        help="passed to kws wakeword train --distill (dscnn if no TEACHER is named, or embedding)")
    parser.add_argument("--fold", type=int, choices=(0, 1), default=0,
                        help="with --split-librispeech: which half of the speakers trains (0: even positions)")
    parser.add_argument("--mine-every", type=int, help="passed to kws wakeword train --mine-every")
    parser.add_argument("--split-librispeech", action="store_true",
                        help="train on half of LibriSpeech's speakers as negatives and test on the other half "
                             "(the test stream gets shorter: one false accept weighs more per hour)")
    parser.add_argument("--no-real-negatives", action="store_true",
                        help="train without the Speech Commands negatives (synthetic negatives only)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                        help="passed to kws wakeword train --set (repeatable)")
    parser.add_argument("--seed", type=int, help="passed to kws wakeword train --seed")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "wakeword")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--tag", default="", help="suffix of the result file names")
    parser.add_argument("--evaluate-only", action="store_true", help="reuse the trained models in --runs")
    parser.add_argument("--models-tag", help="with --evaluate-only: the models of this --tag (default: --tag)")
    args = parser.parse_args()
    sc2 = args.data / "speech_commands_v2_test_dev"
    negatives = speech_commands_negatives(args.data)
    librispeech = args.data / "librispeech_test_other"
    if args.split_librispeech:
        train_half, test_half = split_speakers(librispeech, args.runs / "librispeech_split", args.fold)
        negatives.append(str(train_half))
        librispeech = test_half
    test_negatives = [str(librispeech), str(sc2 / "_background_noise_")]
    results_path = args.results / f"wakeword{args.tag}.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for word in args.words:
        slug = FOLDERS.get(word, word.replace(" ", "_"))
        out = args.runs / (slug + (args.models_tag if args.evaluate_only and args.models_tag is not None else args.tag))
        argv = ["wakeword", "train", word, "--out", str(out), "--no-progress"]
        if not args.no_real_negatives:
            for folder in negatives:
                argv += ["--negatives", folder]
        if args.quick:
            argv.append("--quick")
        if args.epochs:
            argv += ["--epochs", str(args.epochs)]
        if args.voices:
            argv += ["--voices", str(args.voices)]
        if args.backbone:
            argv += ["--backbone", str(args.backbone)]
        if args.distill:
            argv += ["--distill", args.distill]
        if args.mine_every is not None:
            argv += ["--mine-every", str(args.mine_every)]
        for setting in args.settings:
            argv += ["--set", setting]
        if args.seed is not None:
            argv += ["--seed", str(args.seed)]
        started = time.time()
        if args.evaluate_only:
            train_seconds = json.loads((out / "report.json").read_text())["timings"]["total_seconds"]
        elif kws(argv) != 0:
            sys.exit(f"training {word!r} failed")
        else:
            train_seconds = time.time() - started
        model = json.loads((out / "model.json").read_text())
        trained_config = json.loads((out / "config.json").read_text())
        threshold = model["detector"]["threshold"]
        clips, unreadable = readable_clips(args.data / "wakewords" / slug)
        report = io.StringIO()
        with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(report):
            for clip in clips:
                (Path(folder) / clip.name).symlink_to(clip.resolve())
            status = kws(["evaluate-stream", "--model", str(out), "--keywords-from", folder,
                          "--word", word, "--negatives", *test_negatives, "--minutes", "60", "--clips", "10000",
                          "--snr", "20", "10", "--thresholds", "0.05:0.99:0.01", "--threshold", str(threshold),
                          "--target-fa-per-hour", "1", "--json", "--png", str(args.results / f"wakeword_{slug}{args.tag}.png"),
                          "--no-progress"])
        if status != 0:
            sys.exit(f"evaluating {word!r} failed")
        evaluation = json.loads(report.getvalue())
        by_threshold = {row["threshold"]: row for row in evaluation["thresholds"]}
        at_model = by_threshold[threshold]
        target = evaluation.get("target") or {}
        best = target.get("result")
        calibration = json.loads((out / "report.json").read_text())["calibration"]
        results[word] = {
            "recipe": "quick" if args.quick else "default",
            "backbone": str(args.backbone) if args.backbone else None,
            "distilled": args.distill,
            "mine_every": trained_config.get("mine_every", 0),
            "seed": trained_config.get("seed", 0),
            "settings": changed_settings(trained_config),
            "librispeech": f"half the speakers in training, the other half in the test (fold {args.fold})"
                           if args.split_librispeech else "test only",
            "real_negatives_in_training": not args.no_real_negatives,
            "train_seconds": round(train_seconds, 1),
            "real_clips": at_model["keywords"],
            "unreadable_clips_left_out": unreadable,
            "calibrated_threshold": threshold,
            "calibration_on_synthetic": {k: calibration[k] for k in ("target_fa_per_hour", "target_met", "recall",
                                                                    "negative_hours")},
            "at_calibrated_threshold": {"recall": round(1 - at_model["false_reject_rate"], 4),
                                        "fa_per_hour": at_model["fa_per_hour"],
                                        "recall_by_snr": {k: (round(1 - v, 4) if v is not None else None)
                                                          for k, v in at_model["false_reject_rate_by_snr"].items()}},
            "best_at_most_1_fa_per_hour": None if best is None else {
                "threshold": best["threshold"], "recall": round(1 - best["false_reject_rate"], 4),
                "fa_per_hour": best["fa_per_hour"]},
            "test_hours": evaluation.get("hours"),
            "evaluation": {k: v for k, v in evaluation.items() if k != "thresholds"},
            "sweep": [{"threshold": r["threshold"], "recall": round(1 - r["false_reject_rate"], 4),
                       "false_accepts": r["false_accepts"], "fa_per_hour": r["fa_per_hour"]}
                      for r in evaluation["thresholds"]],
        }
        args.results.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({word: {k: v for k, v in results[word].items() if k not in ("evaluation", "sweep")}}, indent=2))


if __name__ == "__main__":
    main()
