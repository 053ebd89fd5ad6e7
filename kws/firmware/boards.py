"""The boards kws builds for: CPU flags, the QEMU machine that runs each, start-up code and link.

Pure data: no tools are looked up here, so the command line can list the boards cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import KwsError
from .sources import BOARDS_DIR

#: Specs the link adds under QEMU: semihosting (librdimon) for stdio and host files.
SEMIHOSTING_SPECS = ("--specs=rdimon.specs",)


@dataclass(frozen=True)
class Board:
    """A target: its directory under firmware/boards/, CPU flags and the QEMU machine that runs it."""

    name: str
    cpu_flags: tuple[str, ...]
    #: None: no emulator runs the board (hardware only; its image runs apps/listen.c).
    qemu_machine: str | None
    #: Specs the link adds to the C library's: semihosting (librdimon) under QEMU; a board that
    #: runs without a debugger attached must not use semihosting (a BKPT faults), so it takes nosys.
    link_specs: tuple[str, ...] = SEMIHOSTING_SPECS
    #: The linker script, relative to the board's directory.
    linker_script: str = "link.ld"
    #: The board's C sources (start-up code and board.h's functions), relative to its directory.
    #: The QEMU boards share ../qemu/ and differ by their board_config.h.
    sources: tuple[str, ...] = ("startup.c", "board.c")
    #: Address of the image's first byte (the vector table): where a .bin is written to flash.
    flash_origin: int = 0

    @property
    def directory(self) -> Path:
        return BOARDS_DIR / self.name

    @property
    def core(self) -> str:
        """The core, as its -mcpu flag names it ("cortex-m4", "cortex-m55")."""
        return next(flag.split("=", 1)[1] for flag in self.cpu_flags if flag.startswith("-mcpu="))


#: The QEMU boards' shared start-up code and board functions (firmware/boards/qemu/).
QEMU_SOURCES = ("../qemu/startup.c", "../qemu/board.c")

BOARDS = {
    "qemu-mps2-an386": Board(
        name="qemu-mps2-an386",
        cpu_flags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        qemu_machine="mps2-an386",
        linker_script="../qemu/mps2.ld",
        sources=QEMU_SOURCES,
    ),
    # QEMU's Cortex-M7 has the double-precision FPv5 (MVFR0 reports it), as AN500's does.
    "qemu-mps2-an500": Board(
        name="qemu-mps2-an500",
        cpu_flags=("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"),
        qemu_machine="mps2-an500",
        linker_script="../qemu/mps2.ld",
        sources=QEMU_SOURCES,
    ),
    # Cortex-M55: -mcpu=cortex-m55 brings FPv5 and MVE (Helium) with -mfloat-abi=hard. With
    # __ARM_FEATURE_MVE set, CMSIS-DSP switches to its Helium code unless ARM_MATH_AUTOVECTORIZE
    # is defined; that code is not bit-exact with the plain-C build dsp.mfcc_q15 matches, so
    # every file of this board gets the define (GCC may still vectorise the plain C: exact).
    "qemu-mps3-an547": Board(
        name="qemu-mps3-an547",
        cpu_flags=("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-DARM_MATH_AUTOVECTORIZE"),
        qemu_machine="mps3-an547",
        sources=QEMU_SOURCES,
    ),
    # Arduino Nano 33 BLE Sense: nRF52840 (Cortex-M4F, 64 MHz, 1 MiB flash, 256 KiB RAM). The
    # image starts at 0x10000, behind the Arduino bootloader (bossac writes the .bin there).
    "nano33ble": Board(
        name="nano33ble",
        cpu_flags=("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        qemu_machine=None,
        link_specs=("--specs=nosys.specs",),
        flash_origin=0x10000,
    ),
}
DEFAULT_BOARD = "qemu-mps2-an386"


def board_names(*, qemu_only: bool = False) -> tuple[str, ...]:
    """The boards' names, sorted; with ``qemu_only`` those QEMU runs."""
    return tuple(sorted(name for name, board in BOARDS.items() if board.qemu_machine or not qemu_only))


def get_board(name: str, *, qemu: str | None = None) -> Board:
    """The board called ``name``, or :class:`KwsError`; with ``qemu`` (what needs it) also when
    no emulator runs the board."""
    if name not in BOARDS:
        raise KwsError(f"unknown board {name!r}; known: {', '.join(sorted(BOARDS))}")
    board = BOARDS[name]
    if qemu and not board.qemu_machine:
        raise KwsError(f"{qemu} runs under QEMU: QEMU boards only ({', '.join(board_names(qemu_only=True))}), "
                       f"not {name}")
    return board
