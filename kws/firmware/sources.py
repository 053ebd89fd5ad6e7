"""Where the firmware's C lives, and which kernel files each kernel set compiles.

The C sources are in ``firmware/`` at the top of a source checkout, beside the ``kws`` package;
an installed wheel carries a copy as ``kws/firmware/c/`` (setup.py puts it there).
The int8 kernels are one file per kernel, as CMSIS-NN has them: ``src/int8/`` the plain-C ones
(equal to LiteRT's BUILTIN_REF), ``src/int8_dsp/`` the DSP-extension ones (the same integers).
The lists are the directories' contents, so a kernel added there is built everywhere: the
images (:mod:`kws.firmware.image`, :mod:`kws.firmware.infer`) and the host library of the tests
(:mod:`kws.firmware.int8_host`).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import KwsError

#: The firmware sources: firmware/ beside the kws package in a source checkout, else the copy
#: a wheel installs inside the package.
CHECKOUT_FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
INSTALLED_FIRMWARE_DIR = Path(__file__).resolve().parent / "c"
FIRMWARE_DIR = CHECKOUT_FIRMWARE_DIR if CHECKOUT_FIRMWARE_DIR.is_dir() else INSTALLED_FIRMWARE_DIR
SRC_DIR = FIRMWARE_DIR / "src"
APPS_DIR = FIRMWARE_DIR / "apps"
BOARDS_DIR = FIRMWARE_DIR / "boards"
#: The MFCC frontend's own stages (normalisation and window, FFT, magnitude, log), one per file.
FRONTEND_STAGES_DIR = SRC_DIR / "frontend"

#: What the QEMU apps (run, infer, mfcc_dump) print with, instead of stdio: text to the host
#: over semihosting (firmware/apps/host_text.c). listen.c writes its own lines to the serial port.
HOST_TEXT_SOURCE = APPS_DIR / "host_text.c"


def app_sources(app: str) -> tuple[Path, ...]:
    """The C files of ``app`` (firmware/apps/<app>.c): the app, and host_text.c for those that
    talk to a host (every app but ``listen``)."""
    return (APPS_DIR / f"{app}.c",) + (() if app == "listen" else (HOST_TEXT_SOURCE,))


#: Kernel sets an image can call: the plain C kernels, or the DSP extension's where there is one.
KERNELS = ("plain", "dsp")
#: What every command and builder uses unless told otherwise: the same integers, ~5x fewer
#: instructions on a core with the DSP extension (and the plain kernels on a core without it).
DEFAULT_KERNELS = "dsp"

#: The kernels' directories under src/, per kernel set (the DSP kernels call the plain ones
#: for the cases they do not specialise, so "dsp" compiles both).
_KERNEL_DIRS = {"plain": ("int8",), "dsp": ("int8", "int8_dsp")}


def check_kernels(kernels: str) -> str:
    """``kernels`` if it names a kernel set, else :class:`KwsError`."""
    if kernels not in KERNELS:
        raise KwsError(f"unknown kernels {kernels!r}; known: {', '.join(KERNELS)}")
    return kernels


def kernel_sources(kernels: str = DEFAULT_KERNELS) -> tuple[Path, ...]:
    """The C files of the ``kernels`` set, in a stable order."""
    return tuple(path for directory in _KERNEL_DIRS[check_kernels(kernels)]
                 for path in sorted((SRC_DIR / directory).glob("*.c")))


def kernel_headers(kernels: str = DEFAULT_KERNELS) -> tuple[Path, ...]:
    """The headers the ``kernels`` set is built from: the public ones and each directory's private ones."""
    public = [SRC_DIR / "kws_int8_ops.h"] + ([SRC_DIR / "kws_int8_ops_dsp.h"] if kernels == "dsp" else [])
    return (*public, *(path for directory in _KERNEL_DIRS[check_kernels(kernels)]
                       for path in sorted((SRC_DIR / directory).glob("*.h"))))


def require_checkout() -> None:
    """:class:`KwsError` unless the firmware's C sources are here (a checkout, or the wheel's copy)."""
    if not (SRC_DIR / "kws_frontend.c").is_file():
        raise KwsError(f"firmware sources not found in {FIRMWARE_DIR}: reinstall kws (its wheel carries them) "
                       "or build from a source checkout")
