"""``kws evaluate-stream``: false rejects and false accepts per hour of the streaming detector."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import KwsError
from ..validate import number, seed_number, whole_number
from .detect import add_detector_options, detector_config
from .features import require_matplotlib

DESCRIPTION = """\
Measure the always-on detector (the one `kws detect` runs) on long synthetic streams:

  positive stream  keyword clips placed into the negative audio at each --snr (keyword RMS over
                   the RMS of the audio under it), with random gaps, every position recorded;
  negative stream  the negative audio alone (--minutes of it), no keyword inserted.

The detector runs once over each stream and every inference's int8 scores are kept; each
threshold of --thresholds is then applied offline with the detector's exact integer rule
(smoothing, threshold, refractory time), so the sweep gives what `kws detect --threshold T`
would. A detection is a hit when it names the placed word and falls while the clip plays or
within --hit-window of the clip's end (one hit per clip); every other detection, in either
stream, is a false accept.
False accepts per hour count both streams' false accepts over both streams' duration (the
negative stream alone is reported too). Deterministic for a given --seed.
"""

EPILOG = """\
examples:
  kws evaluate-stream --keywords-from speech_commands_test \\
      --negatives LibriSpeech/test-clean speech_commands_test/_background_noise_
  kws evaluate-stream --keywords-from hey_nova_clips --word hey_nova --negatives noise/ \\
      --snr 10 --minutes 60 --png det.png --json
  kws evaluate-stream ... --save-stream stream.wav    # the positive stream, and stream.json (labels)
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate-stream", help="false rejects and false accepts per hour of `kws detect`",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("streams")
    data.add_argument("--keywords-from", required=True, type=Path, metavar="DIR",
                      help="keyword clips: a folder in Speech Commands layout (<word>/<clip>.wav; its clips "
                           "of the detector's keywords are used), or with --word a plain folder of clips of one word")
    data.add_argument("--word", metavar="W", help="DIR holds clips of this one keyword (every audio file under it)")
    data.add_argument("--negatives", required=True, nargs="+", type=Path, metavar="PATH",
                      help="audio without the keywords: files and folders (searched recursively for "
                           "wav/flac/ogg), speech or noise, e.g. LibriSpeech and _background_noise_")
    data.add_argument("--snr", nargs="+", type=number(low=-100, high=100), default=[20.0, 10.0, 5.0], metavar="DB",
                      help="keyword-to-background SNRs in dB (-100 to 100), shared equally among the clips "
                           "(default 20 10 5)")
    data.add_argument("--minutes", type=number(above=0), default=10.0, metavar="N",
                      help="minutes of negative audio to use (default 10; files taken in a seeded order)")
    data.add_argument("--clips", type=whole_number(low=1), default=200, metavar="N",
                      help="keyword clips to place, drawn at random (default 200; all if fewer)")
    data.add_argument("--gap", nargs=2, type=number(low=0, high=600), default=[2.0, 5.0], metavar=("MIN", "MAX"),
                      help="seconds of negative audio between clips, uniform, each 0 to 600 (default 2 5)")
    data.add_argument("--trim-db", type=number(low=0), default=30.0, metavar="DB",
                      help="trim each clip to where it is within DB of its loudest 10 ms, so the clip's "
                           "end is the word's end (default 30; 0 keeps whole clips)")
    data.add_argument("--seed", type=seed_number, default=0, help="seed of every random choice (default 0)")
    add_detector_options(parser.add_argument_group("detector"))  # the options of `kws detect`
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--thresholds", default="0.3:0.95:0.05", metavar="SPEC",
                         help="START:STOP:STEP (STOP included) or a comma-separated list (default "
                              "0.3:0.95:0.05); --threshold, the operating point, is always added")
    scoring.add_argument("--hit-window", nargs=2, type=number(low=0), default=[0.5, 1.0], metavar=("BEFORE", "AFTER"),
                         help="a hit lies between the clip's start (or BEFORE s before its end, if earlier) and "
                              "AFTER s after its end (default 0.5 1.0: the model often fires before the word has "
                              "quite died away, and a trimmed recording can run on past the word)")
    scoring.add_argument("--target-fa-per-hour", type=number(low=0), default=0.5, metavar="R",
                         help="report the threshold with the fewest false rejects at no more than R false "
                              "accepts per hour (default 0.5)")
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    output.add_argument("--png", type=Path, metavar="OUT.png",
                        help="plot the DET curve (needs matplotlib)")
    output.add_argument("--save-stream", type=Path, metavar="OUT.wav",
                        help="write the positive stream to OUT.wav and its labels to OUT.json")
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that can be refused before minutes of work (the numbers' ranges are their
    options' types)."""
    low, high = args.gap
    if low > high:
        raise KwsError(f"--gap {low:g} {high:g}: need MIN <= MAX")
    if args.save_stream is not None and args.save_stream.suffix.lower() != ".wav":
        raise KwsError(f"--save-stream {args.save_stream}: name a .wav file (its labels go beside it, .json)")
    if args.png is not None:
        require_matplotlib()


def _check_outputs(args: argparse.Namespace, model) -> None:
    """No output over or among the clips, the negatives or the model (kws.outputs)."""
    from ..keyword_stream import labels_path
    from ..outputs import check_outputs

    labels = labels_path(args.save_stream) if args.save_stream is not None else None
    check_outputs(files={"--png": args.png, "--save-stream": args.save_stream, "--save-stream's labels": labels},
                  inputs={"--keywords-from": args.keywords_from, "--negatives": args.negatives,
                          "the model": [model.json_path, model.tflite_path]})


def _notes(messages: list[str]) -> None:
    """A few notes in full, then a count: hundreds of resampled files need not be hundreds of lines."""
    from ..console import note

    for message in messages[:3]:
        note(message)
    if len(messages) > 3:
        note(f"... and {len(messages) - 3} more notes like these")


def run(args: argparse.Namespace) -> int:
    _check_arguments(args)
    from ..stream_eval import parse_thresholds

    thresholds = parse_thresholds(args.thresholds)

    from ..console import note
    from ..detector import Detector
    from ..model_file import load_model
    from ..plots import det_png
    from ..stream_eval import ThresholdSweep, evaluate_threshold, fa_per_hour, pick_target, score_stream

    model = load_model(args.model)
    _check_outputs(args, model)
    config = detector_config(args, model)
    detector = Detector(model, config)
    rate = model.mfcc.sample_rate
    progress = not args.no_progress
    stream, negatives = _build_streams(args, [model.labels[i] for i in detector.keyword_index], rate, progress)

    positive_scores = score_stream(detector, stream.samples, sample_rate=rate, progress=progress,
                                   desc="positive stream")
    negative_scores = score_stream(detector, negatives.samples, sample_rate=rate, progress=progress,
                                   desc="negative stream")
    positive = ThresholdSweep(detector, positive_scores)
    negative = ThresholdSweep(detector, negative_scores)
    # The sweep re-implements the detector's rule; at the detector's own threshold it must give
    # exactly what the live runs gave, or every other row would be wrong too.
    for name, sweep, live in (("positive", positive, positive_scores), ("negative", negative, negative_scores)):
        if sweep.detections(config.threshold) != live.detections:
            raise RuntimeError(f"offline threshold sweep disagrees with the detector on the {name} stream")

    before, after = args.hit_window
    thresholds = sorted(set(thresholds) | {config.threshold})
    results = [evaluate_threshold(t, positive, negative, stream, seconds_negative=negative_scores.seconds,
                                  before=before, after=after) for t in thresholds]
    default = next(r for r in results if r.threshold == config.threshold)
    target = pick_target(results, args.target_fa_per_hour)
    seconds = stream.duration + negative_scores.seconds
    if fa_per_hour(1, seconds) > args.target_fa_per_hour:
        note(f"one false accept in {seconds / 3600:.2f} h is {fa_per_hour(1, seconds):.2f}/h, more than the "
             f"target {args.target_fa_per_hour:g}/h: only thresholds with no false accept at all can meet it "
             "(more --minutes of negatives resolve it)")
    summary = _summary(args, model, config, stream, negatives, results, default, target)

    files: dict[Path, bytes] = {}
    if args.png is not None:
        title = f"{model.json_path.parent.name}/{model.json_path.name}: {len(stream.keywords)} keywords, " \
                f"{seconds / 3600:.2f} h"
        files[args.png] = det_png(results, default=default, target=target,
                                  target_fa_per_hour=args.target_fa_per_hour, title=title)
    if args.save_stream is not None:
        from ..keyword_stream import stream_files

        labels = _stream_labels(args, config, stream, positive_scores.detections, rate)
        files.update(stream_files(stream, args.save_stream, labels))
    if files:
        from ..atomic import write_files_atomically

        write_files_atomically(files)  # all or none, and only once everything succeeded

    if args.json:
        print(json.dumps(summary))
        return 0
    _print_table(summary, results, default, target, args)
    for path in files:
        note(f"wrote {path}")
    return 0


def _build_streams(args: argparse.Namespace, keywords: list[str], rate: int, progress: bool):
    """(the positive stream, the negative audio), with notes on what was short or converted."""
    from ..audio_files import audio_files, load_negatives
    from ..console import note
    from ..keyword_stream import build_positive_stream, keyword_sources, load_clips, select_sources

    sources = keyword_sources(args.keywords_from, keywords, word=args.word)
    negative_files = audio_files(args.negatives)
    # Keywords among the negatives would count as false accepts (say, --negatives naming the
    # whole Speech Commands folder rather than its _background_noise_).
    shared = {p.resolve() for p in negative_files} & {s.path.resolve() for s in sources}
    if shared:
        raise KwsError(f"--negatives includes {len(shared)} of the keyword clips (e.g. {min(shared)}); "
                       "name folders without them, such as _background_noise_")

    negatives = load_negatives(negative_files, seconds=args.minutes * 60, seed=args.seed, sample_rate=rate,
                               progress=progress)
    _notes(negatives.notes)
    if len(negatives.samples) < round(args.minutes * 60 * rate):
        note(f"only {len(negatives.samples) / rate / 60:.1f} min of negative audio in "
             f"{len(negative_files)} file{'s' if len(negative_files) != 1 else ''}; using all of it")
    chosen = select_sources(sources, args.clips, seed=args.seed)
    if len(chosen) < args.clips:
        note(f"only {len(chosen)} keyword clips in {args.keywords_from}; placing all of them")
    clips, clip_notes = load_clips(chosen, sample_rate=rate, trim_db=args.trim_db, progress=progress)
    _notes(clip_notes)
    if not clips:
        raise KwsError(f"no usable keyword clips in {args.keywords_from} (all silent or undecodable)")
    stream = build_positive_stream(clips, negatives.samples, snrs_db=args.snr, gap_seconds=tuple(args.gap),
                                   seed=args.seed, sample_rate=rate)
    return stream, negatives


def _summary(args, model, config, stream, negatives, results, default, target) -> dict:
    """The --json object (also what the table prints from)."""
    before, after = args.hit_window
    seconds = results[0].seconds_positive + results[0].seconds_negative
    words = sorted({k.word for k in stream.keywords})
    return {
        "model": str(model.json_path),
        "detector": config.to_dict(),
        "seed": args.seed,
        "positive_stream": {
            "seconds": round(stream.duration, 3),
            "keywords": len(stream.keywords),
            "words": {w: sum(k.word == w for k in stream.keywords) for w in words},
            "snr_db": list(args.snr),
            "gap_s": list(args.gap),
            "attenuated_clips": sum(1 for k in stream.keywords if k.attenuation_db > 0),
        },
        "negative_stream": {"seconds": round(results[0].seconds_negative, 3), "files": len(negatives.files)},
        "hours": round(seconds / 3600, 6),
        "fa_per_hour_counts": "false accepts of both streams over the duration of both streams",
        "hit_window_s": [-before, after],
        "thresholds": [r.to_dict() for r in results],
        "default": default.to_dict(),
        # threshold and result are null when no threshold tried meets the target.
        "target": {"fa_per_hour": args.target_fa_per_hour,
                   "threshold": target.threshold if target is not None else None,
                   "result": target.to_dict() if target is not None else None},
    }


def _stream_labels(args, config, stream, detections, rate: int) -> dict:
    """The labels written beside --save-stream: every placed clip, and the detections at the
    detector's threshold, each marked hit or false accept."""
    from ..stream_eval import match

    before, after = args.hit_window
    hits, false_accepts = match(detections, stream.keywords, sample_rate=rate, before=before, after=after)
    false_ids = {id(d) for d in false_accepts}
    return {
        "wav": args.save_stream.name,
        "sample_rate": rate,
        "samples": len(stream.samples),
        "seed": args.seed,
        "detector": config.to_dict(),
        "hit_window_s": [-before, after],
        "keywords": [{**k.to_dict(rate), "detected": h is not None,
                      "latency_ms": round((h.time - k.end / rate) * 1000, 1) if h is not None else None}
                     for k, h in zip(stream.keywords, hits)],
        "detections": [{**d.to_dict(), "false_accept": id(d) in false_ids}
                       for d in sorted(detections, key=lambda d: d.time)],
    }


def _print_table(summary: dict, results: list, default, target, args: argparse.Namespace) -> None:
    positive = summary["positive_stream"]
    negative = summary["negative_stream"]
    snrs = sorted({float(s) for s in args.snr}, reverse=True)
    words = ", ".join(f"{w} {n}" for w, n in positive["words"].items())
    print(f"model:     {summary['model']}")
    print(f"positive:  {positive['seconds'] / 60:.1f} min, {positive['keywords']} keywords ({words}) at "
          f"{'/'.join(f'{s:g}' for s in snrs)} dB SNR"
          + (f", {positive['attenuated_clips']} turned down to avoid clipping" if positive["attenuated_clips"] else ""))
    plural = "s" if negative["files"] != 1 else ""
    print(f"negative:  {negative['seconds'] / 60:.1f} min from {negative['files']} file{plural}")
    before, after = args.hit_window
    print(f"hit:       the placed word within {before:g} s before to {after:g} s after the clip's end; "
          f"FA/h counts both streams ({summary['hours']:.2f} h)")
    print()
    snr_header = "".join(f"{f'FRR@{s:g}dB':>10}" for s in snrs) if len(snrs) > 1 else ""
    print(f"  {'threshold':>9} {'FRR':>7} {'FR':>9} {'FA':>5} {'FA/h':>8} {'FA/h neg':>9} "
          f"{'latency ms med/p90':>19}{snr_header}")
    for r in results:
        mark = ("*" if r is default else " ") + (">" if r is target else " ")
        latency = r.latency_ms()
        latency_text = f"{latency['median']:.0f} / {latency['p90']:.0f}" if latency else "-"
        by_snr = "".join(f"{100 * r.false_rejects_by_snr[s][0] / r.false_rejects_by_snr[s][1]:9.1f}%"
                         if r.false_rejects_by_snr.get(s, (0, 0))[1] else f"{'-':>10}"
                         for s in snrs) if len(snrs) > 1 else ""
        print(f"{mark}{r.threshold:9.3g} {100 * r.false_reject_rate:6.1f}% {r.false_rejects:>4}/{r.keywords:<4} "
              f"{r.false_accepts:>5} {r.fa_per_hour:8.2f} {r.fa_per_hour_negative:9.2f} {latency_text:>19}{by_snr}")
    print()
    print(f"* default threshold {default.threshold:g}: FRR {100 * default.false_reject_rate:.1f}%, "
          f"{default.fa_per_hour:.2f} FA/h")
    if target is not None:
        print(f"> target {args.target_fa_per_hour:g} FA/h: threshold {target.threshold:g}, "
              f"FRR {100 * target.false_reject_rate:.1f}%, {target.fa_per_hour:.2f} FA/h")
    else:
        print(f"> target {args.target_fa_per_hour:g} FA/h: no threshold tried meets it")
