"""``kws listen``: the detector live on a microphone, until Ctrl-C or ``--duration``.

sounddevice (and so PortAudio) is imported when the command runs, through the same helper as
``kws devices``; the listening itself is :class:`kws.live.Listener`, the view
:mod:`kws.live_view`. This module only turns options into those, and PortAudio's failures
into one-line errors.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType
from typing import Any, Optional

from ..errors import KwsError
from ..validate import number
from .detect import add_detector_options, detector_config

DESCRIPTION = """\
Listen to a microphone and detect keywords live, with the same streaming detector as
`kws detect` (the same integers for the same samples). The view shows the input level in
dBFS, the three best scores of the latest inference and the recent detections; it is redrawn
in place on a terminal, and printed as plain lines when stdout is a pipe or a file.
Ctrl-C ends it and prints a summary: audio time, inferences, detections per keyword, and the
CPU used as a percentage of one core.
"""

EPILOG = """\
examples:
  kws listen                          the default microphone, the shipped model
  kws listen --list-devices           the microphones PortAudio sees
  kws listen --device 2 --keywords yes,no --threshold 0.7
  kws listen --device "USB" --duration 30
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser("listen", help="detect keywords live on a microphone",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", metavar="D",
                        help="input device: an index or part of its name, as `--list-devices` shows "
                             "(default: the system's default input)")
    parser.add_argument("--list-devices", action="store_true", help="list the input devices and exit")
    add_detector_options(parser)
    parser.add_argument("--duration", type=number(above=0), metavar="SECONDS",
                        help="stop after this much audio (default: until Ctrl-C)")
    parser.add_argument("--block-ms", type=number(low=1, high=1000), default=100.0, metavar="MS",
                        help="audio block size in milliseconds (default 100)")
    parser.set_defaults(run=run)


def _names(devices: list[tuple[int, dict[str, Any]]]) -> str:
    return ", ".join(f"{index} {device['name']}" for index, device in devices)


def no_input_device(everything: list[dict[str, Any]]) -> KwsError:
    """The one-line error for a machine without a microphone; says what exists and what to do."""
    outputs = [(index, device) for index, device in enumerate(everything)]
    seen = f"PortAudio sees only output devices: {_names(outputs)}" if outputs else "PortAudio sees no devices at all"
    return KwsError(
        # Not "see --list-devices": with no input it can only repeat this line.
        f"no audio input device found ({seen}). Connect or unmute a microphone (check `arecord -l`); "
        "once one appears, `kws devices` lists it for `--device INDEX` or `--device NAME`."
    )


def choose_device(sounddevice: ModuleType, wanted: Optional[str]) -> tuple[int, str]:
    """(index, name) of the input device: ``wanted`` as an index or name words, or the default.

    Names match as sounddevice matches them: every word of ``wanted`` must occur, ignoring case,
    in "NAME, HOST API"; an exact name wins over partial matches ("default" vs "sysdefault").
    """
    from .devices import _host_api_name, all_devices

    everything = all_devices(sounddevice)
    inputs = [(index, device) for index, device in enumerate(everything) if device["max_input_channels"] > 0]
    if not inputs:
        raise no_input_device(everything)
    choices = f"input devices: {_names(inputs)} (see `kws listen --list-devices`)"
    if wanted is None:
        default = sounddevice.default.device[0]  # -1 when the system names no default input
        index, device = next(((i, d) for i, d in inputs if i == default), inputs[0])
        return index, str(device["name"])
    text = wanted.strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        for i, device in inputs:
            if i == index:
                return i, str(device["name"])
        raise KwsError(f"--device {index} is not an input device; {choices}")
    words = text.lower().split()
    matches = [(i, d) for i, d in inputs
               if all(word in f"{d['name']}, {_host_api_name(sounddevice, d['hostapi'])}".lower() for word in words)]
    exact = [(i, d) for i, d in matches if str(d["name"]).lower() == text.lower()]
    if len(exact) == 1 or len(matches) == 1:
        index, device = (exact or matches)[0]
        return index, str(device["name"])
    if matches:
        raise KwsError(f"--device {wanted!r} matches several input devices: {_names(matches)}; "
                       "give the index or more of the name")
    raise KwsError(f"no input device matches --device {wanted!r}; {choices}")


def run(args: argparse.Namespace) -> int:
    from .devices import import_sounddevice, input_devices, print_input_devices

    if args.list_devices:
        from .devices import all_devices

        sounddevice = import_sounddevice()
        devices = input_devices(sounddevice)
        if not devices:
            raise no_input_device(all_devices(sounddevice))
        print_input_devices(sounddevice, devices)
        return 0

    from ..console import note
    from ..detector import Detector
    from ..live import Listener
    from ..live_view import LiveView, render_summary
    from ..model_file import load_model

    # Every option (the numbers were checked by their types) before the microphone: a mistyped
    # option is reported as such, not as a missing microphone, on any machine.
    model = load_model(args.model)
    detector = Detector(model, detector_config(args, model))
    sounddevice = import_sounddevice()
    index, name = choose_device(sounddevice, args.device)
    rate = model.mfcc.sample_rate
    block_size = max(1, round(args.block_ms * rate / 1000))

    def open_stream(callback):
        try:
            return sounddevice.InputStream(device=index, samplerate=rate, channels=1, dtype="int16",
                                           blocksize=block_size, callback=callback)
        except (sounddevice.PortAudioError, ValueError) as error:
            raise KwsError(f"cannot record from device {index} ({name}) at {rate} Hz mono 16-bit: {error} "
                           "(try another --device; see `kws listen --list-devices`)") from None

    listener = Listener(detector, open_stream, block_size=block_size, device=f"{index} {name}")
    view = LiveView(sys.stdout, tty=sys.stdout.isatty())
    model_name = model.name
    note(f"listening on device {index} ({name}) at {rate} Hz with model {model_name}; Ctrl-C ends")
    try:
        summary = listener.run(args.duration, on_update=view.update)
    except sounddevice.PortAudioError as error:
        raise KwsError(f"audio input from device {index} ({name}) failed: {error}") from None
    finally:
        view.close()
    print(render_summary(summary))
    return 0
