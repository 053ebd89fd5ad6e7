"""Run firmware images under QEMU, with semihosting for the host's files and stdout.

    qemu-system-arm -M mps2-an386 -nographic -icount shift=0 \\
        -semihosting-config enable=on,target=native,arg=PROGRAM,arg=ARG... -kernel app.elf

``-icount shift=0`` makes virtual time advance exactly 1 ns per instruction, so the board's
SysTick counts instructions (40 per tick at the MPS2's 25 MHz) and a run is deterministic.
The program's exit status becomes QEMU's. Each run takes about 0.1 s. :func:`run_app` runs an
image built for a :class:`~kws.firmware.boards.Board` and raises on a non-zero status.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Protocol, Sequence

from ..errors import KwsError
from .boards import Board

QEMU = "qemu-system-arm"

#: Seconds a run may take before it counts as hung (a second of audio takes about 0.1 s).
DEFAULT_TIMEOUT_S = 60.0


def require_qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise KwsError(
            f"{QEMU} not found on PATH: install QEMU (Debian/Ubuntu: apt-get install "
            "--no-install-recommends qemu-system-arm, or bash scripts/setup.sh)"
        )
    return path


def _semihosting_arg(value: str) -> str:
    if any(c.isspace() for c in value):
        # The program sees the arguments joined by spaces (SYS_GET_CMDLINE).
        raise ValueError(f"semihosting arguments cannot contain spaces: {value!r}")
    return "arg=" + value.replace(",", ",,")  # QEMU's option syntax doubles commas


def qemu_command(elf: Path, arguments: Sequence[str], *, machine: str) -> list[str]:
    """The QEMU command line that runs ``elf`` with ``arguments`` (argv[0] first)."""
    semihosting = ",".join(["enable=on", "target=native", *(_semihosting_arg(a) for a in arguments)])
    return [
        QEMU, "-M", machine, "-nographic", "-icount", "shift=0",
        "-semihosting-config", semihosting, "-kernel", str(elf),
    ]


def run_elf(
    elf: Path,
    arguments: Sequence[str],
    *,
    machine: str,
    cwd: Path,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """Run ``elf`` in QEMU with ``cwd`` as the directory its host files are relative to.

    Returns the completed process (any exit status); :class:`KwsError` if QEMU is missing or
    the run exceeds ``timeout`` seconds.
    """
    command = qemu_command(Path(elf).resolve(), arguments, machine=machine)
    command[0] = require_qemu()
    try:
        return subprocess.run(
            command, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise KwsError(f"{Path(elf).name} did not finish in {timeout:g} s under {QEMU} (hung?)") from None


def run_app(elf: Path, arguments: Sequence[str], *, board: Board, cwd: Path, timeout: float = DEFAULT_TIMEOUT_S,
            what: str | None = None) -> subprocess.CompletedProcess:
    """:func:`run_elf` on ``board``'s QEMU machine; :class:`KwsError` with the end of its output
    when the program exits with a non-zero status. ``what`` names the run in that error
    (default: the program, argv[0])."""
    if not board.qemu_machine:
        raise KwsError(f"{board.name} is not a QEMU board")
    result = run_elf(elf, arguments, machine=board.qemu_machine, cwd=cwd, timeout=timeout)
    check_exit(result, f"{what or arguments[0]} on {board.name}")
    return result


class Finished(Protocol):
    """A finished run: a :class:`subprocess.CompletedProcess`, or a traced one."""
    returncode: int
    stdout: str
    stderr: str


def check_exit(result: Finished, what: str) -> None:
    """:class:`KwsError` with the end of its output when ``result`` exited with a non-zero status."""
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise KwsError(f"{what}: exit status {result.returncode}: {tail}")
