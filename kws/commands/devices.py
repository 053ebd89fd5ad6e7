"""``kws devices``: the audio input devices PortAudio sees, to pick a microphone.

sounddevice is imported here, when the command runs: it loads the PortAudio C library at
import time, and the rest of kws must work on machines without it (CI, servers).
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

from ..errors import KwsError

NO_DEVICE = (
    "no audio input device found (PortAudio sees none). "
    "Connect a microphone, or check `arecord -l`."
)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "devices",
        help="list audio input devices (microphones)",
        description="List the audio input devices PortAudio sees; * marks the default input.",
    )
    parser.set_defaults(run=run)


def import_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing package or PortAudio library into a KwsError."""
    try:
        import sounddevice
    except OSError as error:  # sounddevice raises OSError when it cannot load libportaudio
        raise KwsError(
            f"cannot use audio devices: the PortAudio library is missing ({error}). Install it: "
            "sudo apt-get install libportaudio2 (Debian/Ubuntu) or brew install portaudio (macOS)"
        ) from None
    except ImportError:
        raise KwsError("cannot use audio devices: sounddevice is not installed; pip install sounddevice") from None
    return sounddevice


def _host_api_name(sounddevice: ModuleType, index: int) -> str:
    try:
        return str(sounddevice.query_hostapis(index)["name"])
    except Exception:  # a name for display only; an odd host API must not hide the device
        return "?"


def all_devices(sounddevice: ModuleType) -> list[dict[str, Any]]:
    """Every device PortAudio sees (inputs and outputs), in index order."""
    try:
        return list(sounddevice.query_devices())
    except sounddevice.PortAudioError as error:
        raise KwsError(f"PortAudio cannot list audio devices: {error}") from None


def input_devices(sounddevice: ModuleType) -> list[tuple[int, dict[str, Any]]]:
    """(index, device info) of every device with at least one input channel."""
    return [(index, device) for index, device in enumerate(all_devices(sounddevice))
            if device["max_input_channels"] > 0]


def run(args: argparse.Namespace) -> int:
    sounddevice = import_sounddevice()
    devices = input_devices(sounddevice)
    if not devices:
        raise KwsError(NO_DEVICE)
    print_input_devices(sounddevice, devices)
    return 0


def print_input_devices(sounddevice: ModuleType, devices: list[tuple[int, dict[str, Any]]]) -> None:
    """The table of `kws devices` (also `kws listen --list-devices`); * marks the default input."""
    default_input = sounddevice.default.device[0]  # -1 when there is none
    print(f"  {'index':>5}  {'channels':>8}  {'rate (Hz)':>9}  {'host API':<12}  name")
    for index, device in devices:
        mark = "*" if index == default_input else " "
        print(
            f"{mark} {index:>5}  {device['max_input_channels']:>8}  {device['default_samplerate']:>9.0f}  "
            f"{_host_api_name(sounddevice, device['hostapi']):<12}  {device['name']}"
        )
