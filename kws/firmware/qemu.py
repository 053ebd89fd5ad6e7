"""Run firmware images under QEMU, with semihosting for the host's files and stdout.

    qemu-system-arm -M mps2-an386 -nographic -icount shift=0 \\
        -semihosting-config enable=on,target=native,arg=PROGRAM,arg=ARG... -kernel app.elf

``-icount shift=0`` makes virtual time advance exactly 1 ns per instruction, so the board's
SysTick counts instructions (40 per tick at the MPS2's 25 MHz) and a run is deterministic.
The program's exit status becomes QEMU's. Each run takes about 0.1 s.

:func:`run_mfcc_dump` feeds int16 samples to ``mfcc_dump.elf`` (built by
:mod:`kws.firmware.build`) and returns its MFCC frames and per-frame instruction counts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from dsp import MfccConfig

from ..errors import KwsError
from .build import FirmwareBuild

QEMU = "qemu-system-arm"

#: Seconds a run may take before it counts as hung (a second of audio takes about 0.1 s).
DEFAULT_TIMEOUT_S = 60.0

_FRAME_LINE = re.compile(r"^frame (\d+) instructions (\d+)(?: mfcc((?: -?\d+)+))?$")
_HEADER_LINE = re.compile(r"^mfcc_dump board=(\S+) config=(\{.*\})$")
_DONE_LINE = re.compile(r"^done frames=(\d+)$")
_WHOLE_LINE = re.compile(r"^whole frames=(\d+) instructions=(\d+)$")


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


@dataclass(frozen=True)
class MfccDump:
    """What ``mfcc_dump`` computed on the device."""

    frames: np.ndarray  # (n_frames, n_mfcc) int16 q8.7
    instructions: np.ndarray  # (n_frames,) int64 per frame (streaming), zeros with whole=True
    whole_instructions: int | None  # the single kws_frontend_process call, with whole=True
    stdout: str


def _parse_failure(what: str, result: subprocess.CompletedProcess) -> KwsError:
    tail = (result.stderr.strip() or result.stdout.strip())[-2000:]
    return KwsError(f"{what}: exit status {result.returncode}: {tail}")


def run_mfcc_dump(
    build: FirmwareBuild,
    samples: np.ndarray,
    *,
    whole: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> MfccDump:
    """MFCC of ``samples`` (int16, mono, the config's sample rate) computed by ``mfcc_dump.elf``.

    Streams frame by frame, timing each; ``whole=True`` makes one ``kws_frontend_process``
    call over all the samples instead (at most 30 s of audio). Checks that the image was built
    for ``build.config`` and that it produced the expected number of frames.
    """
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.dtype != np.int16:
        raise ValueError(f"expected int16 mono samples, got {samples.dtype} of shape {samples.shape}")
    config = build.config
    with tempfile.TemporaryDirectory(prefix="kws-qemu-") as work:
        work_dir = Path(work)
        samples.astype("<i2").tofile(work_dir / "input.raw")
        arguments = ["mfcc_dump", *(["--whole"] if whole else []), "input.raw", "mfcc.raw"]
        result = run_elf(build.elf, arguments, machine=build.board.qemu_machine, cwd=work_dir, timeout=timeout)
        if result.returncode != 0:
            raise _parse_failure(f"mfcc_dump on {build.board.name}", result)
        raw = np.fromfile(work_dir / "mfcc.raw", dtype="<i2") if (work_dir / "mfcc.raw").exists() else None
    return _parse_mfcc_dump(result.stdout, raw, config, expected_frames=config.n_frames(len(samples)))


def _parse_mfcc_dump(stdout: str, raw: np.ndarray | None, config: MfccConfig, *, expected_frames: int) -> MfccDump:
    lines = stdout.splitlines()
    header = _HEADER_LINE.match(lines[0]) if lines else None
    if header is None:
        raise KwsError(f"mfcc_dump: unexpected first line {lines[:1]}")
    built_for = MfccConfig.from_dict(json.loads(header.group(2)))
    if built_for != config:
        raise KwsError(f"mfcc_dump was built for {built_for}, not {config}")
    counts, text_frames, done, whole_count = [], [], None, None
    for line in lines[1:]:
        if match := _FRAME_LINE.match(line):
            if int(match.group(1)) != len(counts):
                raise KwsError(f"mfcc_dump: frames out of order at {line!r}")
            counts.append(int(match.group(2)))
            if match.group(3):
                text_frames.append([int(v) for v in match.group(3).split()])
        elif match := _DONE_LINE.match(line):
            done = int(match.group(1))
        elif match := _WHOLE_LINE.match(line):
            whole_count = int(match.group(2))
    if done is None:
        raise KwsError("mfcc_dump stopped before its last line (done frames=N)")
    if raw is not None:
        frames = raw.reshape(-1, config.n_mfcc) if raw.size % config.n_mfcc == 0 else None
    else:
        frames = np.array(text_frames, dtype=np.int16).reshape(-1, config.n_mfcc)
    if frames is None or not done == len(counts) == len(frames) == expected_frames:
        raise KwsError(
            f"mfcc_dump: expected {expected_frames} frames, got done={done}, {len(counts)} frame lines, "
            f"{None if frames is None else len(frames)} frames of output"
        )
    return MfccDump(
        frames=frames.astype(np.int16),
        instructions=np.array(counts, dtype=np.int64),
        whole_instructions=whole_count,
        stdout=stdout,
    )
