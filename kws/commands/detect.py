"""``kws detect FILE``: stream a file through the detector as fast as it goes."""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

DESCRIPTION = """\
Stream an audio file through the always-on detector, as a microphone would feed it but as
fast as the machine goes: streaming MFCC, the int8 model every --every hops on the newest
second, smoothing over --smoothing inferences, a threshold and a refractory time. Prints one
line per detection (JSON with --json: {"time": seconds at the end of the window, "keyword",
"score"}); with --scores also every inference as {"frame": newest MFCC frame, "scores": [int8
output vector]}, the lines the firmware prints for the same file and model.
"""


def _setting(name: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` for one detector setting: the rule :class:`DetectorConfig` checks a
    model's settings by (:func:`kws.detector_config.check_detector_values`), so the command line
    and model.json accept the same values, and a bad one stops before any work."""
    from ..detector_config import check_detector_values

    def parse(text: str) -> Any:
        value = convert(text)  # a ValueError is argparse's "invalid float value"
        problems = check_detector_values(**{name: value})
        if problems:
            raise argparse.ArgumentTypeError(problems[0])
        return value

    parse.__name__ = convert.__name__  # what argparse calls the type in "invalid ... value"
    return parse


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    from ..detector_config import DetectorConfig

    default = DetectorConfig()
    parser.add_argument("--model", metavar="M", help="model (.json/.tflite or folder; default: the shipped one)")
    parser.add_argument("--threshold", type=_setting("threshold", float), default=None,
                        help="smoothed probability a keyword must reach, 0..1 (default: the threshold the model "
                             f"records, e.g. a calibrated wake word's, else {default.threshold})")
    parser.add_argument("--keywords", help="comma-separated keywords that may fire (default: all of the model's)")
    parser.add_argument("--every", type=_setting("inference_every", int), default=None, metavar="HOPS",
                        help="run the model every HOPS MFCC hops (default: what the model records, else "
                             f"{default.inference_every}: 200 ms at a 20 ms hop)")
    parser.add_argument("--smoothing", type=_setting("smoothing", int), default=None, metavar="N",
                        help="average the scores of the last N inferences (default: what the model records, "
                             f"else {default.smoothing})")
    parser.add_argument("--refractory", type=_setting("refractory_ms", float), default=None, metavar="MS",
                        help="after a detection, none for MS milliseconds (default: what the model records, e.g. "
                             f"a wake word's window when longer than 1 s, else {default.refractory_ms:g})")


def detector_config(args: argparse.Namespace, model=None):
    """The detector settings of the command line (each checked by its option's type) over those
    ``model`` records (a calibrated wake word's threshold, a long window's refractory time), over
    the defaults: :func:`kws.detector_config.resolve_detector`."""
    from ..detector_config import resolve_detector

    keywords = tuple(k.strip() for k in args.keywords.split(",") if k.strip()) if args.keywords else None
    return resolve_detector(model.detector if model is not None else None, keywords=keywords,
                            inference_every=args.every, smoothing=args.smoothing, threshold=args.threshold,
                            refractory_ms=args.refractory)


def register(subparsers) -> None:
    parser = subparsers.add_parser("detect", help="detect keywords in an audio file (streaming)",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="FILE", help="wav, flac or ogg file of any length")
    add_detector_options(parser)
    parser.add_argument("--json", action="store_true", help="JSON lines")
    parser.add_argument("--scores", action="store_true", help="also print every inference (JSON)")
    parser.set_defaults(run=run)


#: Samples pushed at a time. The detector gives the same events for any chunking, so a file
#: goes in 10 s pieces: the MFCC of each piece is computed in one vectorised pass.
CHUNK = 160000


def run(args: argparse.Namespace) -> int:
    from ..audio import load_audio
    from ..console import note
    from ..detector import Detection, Detector
    from ..model_file import load_model

    model = load_model(args.model)
    detector = Detector(model, detector_config(args, model))
    audio = load_audio(args.file, sample_rate=model.mfcc.sample_rate)
    for message in audio.notes:
        note(message)
    detections = 0
    samples = audio.samples
    for start in range(0, len(samples), CHUNK):
        for event in detector.process(samples[start : start + CHUNK]):
            if isinstance(event, Detection):
                detections += 1
                if args.json or args.scores:
                    print(json.dumps(event.to_dict()))
                else:
                    print(f"{event.time:8.2f} s  {event.keyword:<8} {event.score:.3f}")
            elif args.scores:
                print(json.dumps(event.to_dict()))
    if not (args.json or args.scores):
        note(f"{detections} detection{'s' if detections != 1 else ''} in {audio.duration:.1f} s "
             f"({detector.inferences} inferences)")
    return 0
