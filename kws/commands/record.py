"""``kws record TEXT``: record your own takes of a wake word from the microphone."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from dsp.config import SAMPLE_RATE

from ..errors import KwsError
from ..validate import number, whole_number

DESCRIPTION = """\
Record takes of a wake word from a microphone, for `kws wakeword train --recordings DIR`.
Each take is prompted on the terminal (press Enter, then speak; without a terminal, a take
starts every --seconds), recorded at 16 kHz mono 16-bit, trimmed to the spoken part by energy
(with a 20 ms margin) and written as DIR/<word>_<n>.wav, numbered after the takes already
there. A silent, too short or clipped take is said so and recorded again.
"""

EPILOG = """\
examples:
  kws record "hey nova" --count 20 --out recordings/hey_nova
  kws record "hey nova" --device USB --seconds 3 --out recordings/hey_nova
"""

#: A take quieter than this (peak, dBFS) is taken as silence.
SILENT_DBFS = -40.0
#: Shortest spoken part kept, seconds.
SHORTEST_S = 0.2


def register(subparsers) -> None:
    parser = subparsers.add_parser("record", help="record takes of a wake word from the microphone",
                                   description=DESCRIPTION, epilog=EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", metavar="TEXT", help='what to say, e.g. "hey nova"')
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the takes (made in an existing folder if missing)")
    parser.add_argument("--count", type=whole_number(low=1), default=20, metavar="N",
                        help="takes to record (default 20)")
    parser.add_argument("--seconds", type=number(low=0.5, high=10), default=2.0, metavar="S",
                        help="length of each take, 0.5 to 10 (default 2)")
    parser.add_argument("--device", metavar="D", help="input device index or name (default: the system's)")
    parser.set_defaults(run=run)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "take"


def check_take(samples: np.ndarray) -> tuple[np.ndarray | None, str]:
    """(the trimmed take, "") or (None, why it is refused)."""
    from ..trim import trim

    peak = int(np.max(np.abs(samples.astype(np.int32)))) if len(samples) else 0
    if peak == 0 or 20 * np.log10(peak / 32768.0) < SILENT_DBFS:
        return None, "nothing heard (speak closer, or check the input level)"
    if np.mean(np.abs(samples.astype(np.int32)) >= 32767) > 0.001:
        return None, "clipped (too loud: speak further away or turn the input down)"
    start, end = trim(samples, SAMPLE_RATE)
    if (end - start) < SHORTEST_S * SAMPLE_RATE:
        return None, "too short"
    if start == 0 and end == len(samples) and len(samples) > SAMPLE_RATE:
        # Sound from the first to the last frame: the word was probably cut off.
        return None, "sound up to both ends of the take: start speaking after the prompt and stop before it ends"
    return samples[start:end], ""


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_outputs

    if not args.text.strip():
        raise KwsError("nothing to say: TEXT is empty")
    check_outputs(folders={"--out": args.out})
    from ..audio import write_wav
    from ..console import note
    from .devices import import_sounddevice
    from .listen import choose_device

    sounddevice = import_sounddevice()
    index, name = choose_device(sounddevice, args.device)
    args.out.mkdir(exist_ok=True)  # its parent exists (check_outputs): a typo makes no tree of folders
    stem = slug(args.text)
    taken = [int(m.group(1)) for p in args.out.glob(f"{stem}_*.wav") if (m := re.fullmatch(rf"{stem}_(\d+)", p.stem))]
    number = max(taken, default=0)
    interactive = sys.stdin.isatty()
    note(f"recording {args.count} takes of {args.text!r} from device {index} ({name}), {args.seconds:g} s each")
    frames = int(round(args.seconds * SAMPLE_RATE))
    written = 0
    attempts = 0
    while written < args.count:
        attempts += 1
        if attempts > 3 * args.count:
            raise KwsError(f"too many refused takes ({attempts - 1 - written}); {written} written to {args.out}")
        prompt = f"take {written + 1}/{args.count}: say {args.text!r}"
        if interactive:
            input(f"{prompt} — press Enter, then speak ")
        else:
            print(f"{prompt} now", flush=True)
        try:
            recording = sounddevice.rec(frames, samplerate=SAMPLE_RATE, channels=1, dtype="int16", device=index)
            sounddevice.wait()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise KwsError(f"cannot record from device {index} ({name}) at {SAMPLE_RATE} Hz mono 16-bit: "
                           f"{error}") from None
        take, why = check_take(np.asarray(recording, dtype=np.int16).reshape(-1))
        if take is None:
            note(f"take refused: {why}; again")
            continue
        number += 1
        path = args.out / f"{stem}_{number:03d}.wav"
        write_wav(path, take, SAMPLE_RATE)
        written += 1
        print(f"  {path} ({len(take) / SAMPLE_RATE:.2f} s)", flush=True)
        if not interactive:
            time.sleep(0.3)
    note(f"{written} takes in {args.out}; train with: kws wakeword train {args.text!r} --recordings {args.out} --out DIR")
    return 0
