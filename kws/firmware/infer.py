"""Run an int8 ``.tflite`` model on the firmware's kernels, in QEMU.

:func:`build_infer` generates C for the model (:mod:`kws.firmware.generate`) and builds
``firmware/apps/infer.c`` with it for a board (the compiler flags, start-up code and linker script
of :mod:`kws.firmware.toolchain` and :mod:`kws.firmware.boards`; -O2; no CMSIS-DSP).
:func:`infer` also runs it::

    outputs, instructions = infer(tflite_bytes, inputs, out_dir)

``inputs`` is ``[N, *input_shape]`` int8; ``outputs`` is ``[N, *output_shape]`` int8 and
``instructions`` the ``[N]`` instruction counts of each ``kws_model_invoke`` call (resolution 40).
:func:`profile_infer` adds estimated Cortex-M4 cycles, per inference and per kernel call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KwsError
from . import toolchain
from .boards import DEFAULT_BOARD, Board, get_board
from .cycles import CycleEstimate, CycleProfile, profile_elf
from .generate import GeneratedModel, generate_model
from .qemu import check_exit, run_app
from .sources import BOARDS_DIR, DEFAULT_KERNELS, SRC_DIR, app_sources, kernel_sources
from .toolchain import Compile, ElfSize

_LINE = re.compile(r"^inference (\d+) instructions (\d+)$")
_DONE = re.compile(r"^done inferences=(\d+)$")
#: The generated network's entry point (kws.firmware.generate).
INVOKE = "kws_model_invoke"


@dataclass(frozen=True)
class InferBuild:
    board: Board
    model: GeneratedModel
    out_dir: Path
    elf: Path
    size: ElfSize
    compiled: int
    #: Compiler diagnostics of this call's compilations, by source file (empty when clean).
    warnings: dict[str, str]


def build_infer(model_content: bytes, out_dir: Path | str, *, board: str = DEFAULT_BOARD,
                kernels: str = DEFAULT_KERNELS, profile: bool = False) -> InferBuild:
    """Generate the model's C into ``out_dir/generated`` and link ``out_dir/infer.elf``.

    ``kernels``: "plain" (src/int8/) or "dsp" (src/int8_dsp/ as well, the DSP-extension kernels;
    the plain ones on a core without it). ``profile`` compiles the model with ``KWS_PROFILE``:
    each inference also prints ``op <i> <kernel> instructions <n>`` lines."""
    target = get_board(board)
    gcc = toolchain.require_toolchain()
    out_dir = Path(out_dir).resolve()
    generated = toolchain.make_dir(out_dir / "generated")
    objects_dir = out_dir / "obj"
    model = generate_model(model_content, kernels=kernels)
    toolchain.write_if_changed(generated / model.header_name, model.header)
    toolchain.write_if_changed(generated / model.source_name, model.source)

    own = toolchain.own_command(gcc, target, [SRC_DIR, BOARDS_DIR, generated])
    compiles = [
        *toolchain.compiles_of(kernel_sources(kernels), objects_dir / "kws", own),
        Compile(generated / model.source_name, objects_dir / "kws" / "kws_model.o",
                own + (("-DKWS_PROFILE",) if profile else ())),
        *toolchain.compiles_of(app_sources("infer"), objects_dir / "app", own),
        *toolchain.board_compiles(target, objects_dir, own),
    ]
    linked = toolchain.compile_and_link(compiles, gcc=gcc, target=target, out_dir=out_dir, name="infer",
                                        link_flags=toolchain.wrap_flags(model.wrapped))
    return InferBuild(target, model, out_dir, linked.elf, toolchain.elf_size(linked.elf), len(linked.stale),
                      linked.warnings)


def _write_inputs(build: InferBuild, inputs: np.ndarray) -> tuple[Path, int]:
    """Check ``inputs`` ([N, *input_shape] int8) and write them where the image reads them:
    (that folder, N)."""
    model = build.model
    inputs = np.asarray(inputs)
    if inputs.dtype != np.int8:
        raise ValueError(f"expected int8 inputs, got {inputs.dtype}")
    n = inputs.shape[0] if inputs.ndim else 0
    if inputs.size != n * model.input_size:
        raise ValueError(f"expected [N, {model.input_size} elements] inputs, got shape {inputs.shape}")
    work = toolchain.make_dir(build.out_dir / "run")
    (work / "outputs.raw").unlink(missing_ok=True)
    np.ascontiguousarray(inputs).tofile(work / "inputs.raw")
    return work, n


def _read_results(build: InferBuild, stdout: str, n: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The image's outputs and instruction counts, checked against the ``n`` inputs it was given."""
    counts, done = [], None
    for line in stdout.splitlines():
        if match := _LINE.match(line):
            if int(match.group(1)) != len(counts):
                raise KwsError(f"infer: inferences out of order at {line!r}")
            counts.append(int(match.group(2)))
        elif match := _DONE.match(line):
            done = int(match.group(1))
    raw = np.fromfile(work / "outputs.raw", dtype=np.int8)
    if done != n or len(counts) != n or raw.size != n * build.model.output_size:
        raise KwsError(f"infer: expected {n} inferences, got done={done}, {len(counts)} counts, "
                       f"{raw.size} output bytes")
    return raw.reshape((n, *build.model.output_shape)), np.array(counts, dtype=np.int64)


_ARGUMENTS = ["infer", "inputs.raw", "outputs.raw"]


def run_infer(build: InferBuild, inputs: np.ndarray, *, timeout: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """Run ``build``'s image on ``inputs`` ([N, *input_shape] int8): (outputs, instructions)."""
    work, n = _write_inputs(build, inputs)
    result = run_app(build.elf, _ARGUMENTS, board=build.board, cwd=work, timeout=timeout)
    return _read_results(build, result.stdout, n, work)


@dataclass(frozen=True)
class LayerCycles:
    op: int | None  # the operator's index in the model (None: a call that is no kernel's)
    kernel: str
    calls: int  # over all inferences
    estimate: CycleEstimate  # summed over those calls, callees included


@dataclass(frozen=True)
class InferProfile:
    outputs: np.ndarray
    instructions: np.ndarray  # the board counter's, per inference
    cycles: list[CycleEstimate]  # per inference
    layers: list[LayerCycles]
    profile: CycleProfile


def profile_infer(build: InferBuild, inputs: np.ndarray, *, timeout: float = 600.0) -> InferProfile:
    """:func:`run_infer` with QEMU's execution log: also the estimated Cortex-M4 cycles of each
    inference and of each kernel call (:mod:`kws.firmware.cycles`; about 1 s per 7 M
    instructions instead of 0.1 s)."""
    work, n = _write_inputs(build, inputs)
    run, profile = profile_elf(build.elf, _ARGUMENTS, machine=build.board.qemu_machine, cwd=work,
                               split=[INVOKE], timeout=timeout)
    check_exit(run, f"infer on {build.board.name}")
    outputs, instructions = _read_results(build, run.stdout, n, work)
    cycles = [profile.within(frame) for frame in profile.frames(INVOKE)]
    expected = iter(build.model.kernel_calls)
    upcoming = next(expected, None)
    layers = []
    for frame in profile.children(INVOKE):
        op = None
        if upcoming is not None and upcoming[1] == frame[0]:
            op, upcoming = upcoming[0], next(expected, None)
        layers.append(LayerCycles(op, frame[0], profile.calls(frame), profile.within(frame)))
    return InferProfile(outputs, instructions, cycles, layers, profile)


def infer(model_content: bytes, inputs: np.ndarray, out_dir: Path | str, *,
          board: str = DEFAULT_BOARD, kernels: str = DEFAULT_KERNELS) -> tuple[np.ndarray, np.ndarray]:
    """Build for ``board`` into ``out_dir`` and run ``inputs``: (outputs, instructions per inference)."""
    return run_infer(build_infer(model_content, out_dir, board=board, kernels=kernels), inputs)
