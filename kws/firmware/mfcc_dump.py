"""The MFCC frontend alone on a Cortex-M: the test app ``firmware/apps/mfcc_dump.c``, built for a
QEMU board and run on int16 samples. Tests and benchmarks use it to check the frontend against
:func:`dsp.mfcc_q15` and to count its instructions; no ``kws`` command builds it.

One call builds everything, out of tree: ``config``'s q15 tables, CMSIS-DSP and the wrapper
(:mod:`kws.firmware.frontend`), the app and the board's start-up code::

    out_dir/generated/kws_mfcc_tables.{h,c}
    out_dir/obj/...                  objects, with .d dependency files
    out_dir/mfcc_dump.elf, .map      the image and its linker map
    out_dir/build.json               config, board, flags, sizes
    out_dir/CMSIS-DSP-LICENSE.txt    CMSIS-DSP's Apache-2.0 license, which the image is under too

    python -m kws.firmware.mfcc_dump --out build/firmware [--config JSON] [--measure]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dsp import MfccConfig

from .. import console
from ..atomic import write_file_atomically
from ..errors import KwsError
from . import toolchain
from .boards import DEFAULT_BOARD, Board, board_names, get_board
from .cmsis_dsp import CMSISDSP_VERSION
from .frontend import frontend_sources
from .qemu import DEFAULT_TIMEOUT_S, run_app
from .sources import app_sources
from .toolchain import ElfSize

APP = "mfcc_dump"


@dataclass(frozen=True)
class MfccDumpBuild:
    """What :func:`build_mfcc_dump` produced."""

    board: Board
    config: MfccConfig
    out_dir: Path
    elf: Path
    map_file: Path
    size: ElfSize
    #: Bytes each part of the program contributes: group -> ElfSize (see :func:`toolchain.footprint`).
    parts: dict[str, ElfSize] = field(default_factory=dict)
    cmsis_dsp_files: tuple[str, ...] = ()
    compiled: int = 0  # objects (re)compiled by this call
    #: Compiler warnings of this call's compilations, by source file (CMSIS-DSP's included).
    warnings: dict[str, str] = field(default_factory=dict)


def build_mfcc_dump(
    config: MfccConfig = MfccConfig(),
    out_dir: Path | str = Path("build") / "firmware",
    *,
    board: str = DEFAULT_BOARD,
    cache: Path | None = None,
    fixed_fft_length: bool = True,
    plain_stages: bool = False,
    app: str = APP,
    jobs: int | None = None,
) -> MfccDumpBuild:
    """Build ``mfcc_dump.elf`` for ``board`` with ``config``'s tables into ``out_dir``.

    ``fixed_fft_length``, ``plain_stages``: see :func:`kws.firmware.frontend.frontend_sources`.
    ``app``: another test app of ``firmware/apps/`` built the same way (``frontend_stages``, each
    stage alone). Raises :class:`KwsError` when the toolchain is missing or a step fails.
    """
    target = get_board(board, qemu=f"{app} (host files through semihosting)")
    gcc = toolchain.require_toolchain()
    out_dir = Path(out_dir).resolve()
    frontend = frontend_sources(config, out_dir, target, gcc=gcc, cache=cache, fixed_fft_length=fixed_fft_length,
                                plain_stages=plain_stages)
    objects_dir, own = frontend.objects, frontend.own
    compiles = [
        *frontend.compiles,
        *toolchain.compiles_of(app_sources(app), objects_dir / "app", own),
        *toolchain.board_compiles(target, objects_dir, own),
    ]
    linked = toolchain.compile_and_link(compiles, gcc=gcc, target=target, out_dir=out_dir, name=app, jobs=jobs)
    size = toolchain.elf_size(linked.elf)
    parts = toolchain.footprint(linked.map_file, {
        "CMSIS-DSP": str(objects_dir / "cmsis-dsp"),
        "kws_frontend": str(objects_dir / "kws" / "kws_frontend.o"),
        "frontend stages": str(objects_dir / "kws" / "frontend"),
        "tables": str(objects_dir / "kws" / "kws_mfcc_tables.o"),
        "app": str(objects_dir / "app"),
        "board": str(objects_dir / "board"),
    })
    record = {
        "board": target.name,
        "config": config.to_dict(),
        "cmsisdsp": CMSISDSP_VERSION,
        "cmsis_dsp_files": list(frontend.cmsis_dsp_files),
        "fixed_fft_length": fixed_fft_length,
        "plain_stages": plain_stages,
        "cmsis_dsp_command": list(frontend.cmsis_dsp_command[1:]),
        "own_command": list(own[1:]),
        "link_command": linked.link[1:],
        "size": size.to_dict(),
        "parts": {name: p.to_dict() for name, p in parts.items()},
    }
    write_file_atomically(out_dir / "build.json", (json.dumps(record, indent=2) + "\n").encode())
    return MfccDumpBuild(board=target, config=config, out_dir=out_dir, elf=linked.elf, map_file=linked.map_file,
                         size=size, parts=parts, cmsis_dsp_files=frontend.cmsis_dsp_files,
                         compiled=len(linked.stale), warnings=linked.warnings)


def describe(build: MfccDumpBuild) -> str:
    """A few lines for people: the image, its size and what the frontend costs in it."""
    s = build.size
    lines = [
        f"{build.elf}: text {s.text:,} B, data {s.data:,} B, bss {s.bss:,} B "
        f"(flash {s.flash:,} B, static RAM {s.ram:,} B)",
    ]
    for name, part in build.parts.items():
        lines.append(f"  {name:<22} text {part.text:>8,}  data {part.data:>6,}  bss {part.bss:>9,}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ running it

_FRAME_LINE = re.compile(r"^frame (\d+) instructions (\d+)(?: mfcc((?: -?\d+)+))?$")
_HEADER_LINE = re.compile(r"^mfcc_dump board=(\S+) config=(\{.*\})$")
_DONE_LINE = re.compile(r"^done frames=(\d+)$")
_WHOLE_LINE = re.compile(r"^whole frames=(\d+) instructions=(\d+)$")


@dataclass(frozen=True)
class MfccDump:
    """What ``mfcc_dump`` computed on the device."""

    frames: np.ndarray  # (n_frames, n_mfcc) int16 q8.7
    instructions: np.ndarray  # (n_frames,) int64 per frame (streaming), zeros with whole=True
    whole_instructions: int | None  # the single kws_frontend_process call, with whole=True
    stdout: str


def run_mfcc_dump(
    build: MfccDumpBuild,
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
        arguments = [APP, *(["--whole"] if whole else []), "input.raw", "mfcc.raw"]
        result = run_app(build.elf, arguments, board=build.board, cwd=work_dir, timeout=timeout)
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


def _measure(build: MfccDumpBuild) -> str:
    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(0.0, 3000.0, build.config.sample_rate), -32768, 32767).astype(np.int16)
    counts = run_mfcc_dump(build, noise).instructions
    return (
        f"1 s of white noise: {len(counts)} frames, instructions per frame: median {int(np.median(counts)):,}, "
        f"min {int(counts.min()):,}, max {int(counts.max()):,} (resolution 40)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kws.firmware.mfcc_dump",
        description="Build firmware/apps/mfcc_dump.c (the MFCC frontend test app) out of tree.",
    )
    parser.add_argument("--out", default=str(Path("build") / "firmware"), help="output directory (default: %(default)s)")
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(qemu_only=True))
    parser.add_argument("--config", help="MfccConfig as JSON (fields not given keep their defaults)")
    parser.add_argument("--generic-fft", action="store_true", help="link every FFT length's tables (arm_mfcc_init_q15)")
    parser.add_argument("--measure", action="store_true", help="run 1 s of noise in QEMU and report instructions per frame")
    args = parser.parse_args(argv)
    try:
        try:
            config = MfccConfig.from_dict(json.loads(args.config)) if args.config else MfccConfig()
        except (ValueError, TypeError) as error:
            raise KwsError(f"--config: {error}") from None
        build = build_mfcc_dump(config, args.out, board=args.board, fixed_fft_length=not args.generic_fft)
        print(describe(build))
        if args.measure:
            print(_measure(build))
    except KwsError as problem:
        console.error(problem)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
