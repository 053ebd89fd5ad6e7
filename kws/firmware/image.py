"""Build the whole always-on image for a board: ``kws firmware build``.

One image = CMSIS-DSP's MFCC (plain C) + ``kws_frontend`` + the model's tables, the generated
network (:mod:`kws.firmware.generate`) on the int8 kernels, the pipeline
(``firmware/src/kws_pipeline.c``) with its generated config (:mod:`kws.firmware.pipeline_config`),
an app and the board's start-up code. QEMU boards get ``apps/run.c`` (audio from the host, scores
and detections printed); boards with a microphone get ``apps/listen.c``. Written to ``out_dir``::

    kws.elf, kws.bin, kws.hex, kws.map
    size.json        {"flash", "ram", ...}: flash = text + data; RAM = data + bss + stack, the
                     stack the deepest call path from -fstack-usage/-fcallgraph-info (kws.firmware.stack);
                     also what it was built from: model sha256, configs, kernels, link command
    generated/, obj/ sources and objects (incremental rebuilds)
    CMSIS-DSP-LICENSE.txt

and nothing else: :func:`check_build_folder` refuses to build into a folder holding other files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_file_atomically
from ..detector import DetectorConfig
from ..errors import KwsError
from ..model_file import KwsModel
from . import toolchain
from .boards import DEFAULT_BOARD, Board, get_board
from .frontend import frontend_sources
from .generate import generate_model
from .pipeline_config import generate_pipeline_config
from .sources import DEFAULT_KERNELS, SRC_DIR, app_sources, check_kernels, kernel_sources
from .stack import StackUsage, stack_usage
from .toolchain import Compile, ElfSize

IMAGE_NAME = "kws"
#: Bytes an exception entry pushes with the FPU's context (8 + 18 words): what an interrupt adds.
EXCEPTION_FRAME_BYTES = 104

#: Flags that make gcc write each object's frame sizes (.su) and call graph (.ci).
STACK_FLAGS = ("-fstack-usage", "-fcallgraph-info=su")

#: The function pointers the pipeline calls: the network, and the app's event callback(s).
CALLBACKS = ("kws_model_invoke", "timed_invoke", "queue_event", "on_event")


#: Everything a build writes into its folder (the temporary files of a stopped one start with ".").
BUILD_FOLDER_ENTRIES = frozenset({f"{IMAGE_NAME}.{suffix}" for suffix in ("elf", "bin", "hex", "map")}
                                 | {"size.json", "generated", "obj", "CMSIS-DSP-LICENSE.txt"})


def check_build_folder(out_dir: Path | str) -> None:
    """Refuse an existing ``out_dir`` that holds anything but a previous build: a rebuild updates
    the folder as a whole (and a failed one restores it), so it must not take other files along."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    foreign = sorted(p.name for p in out_dir.iterdir()
                     if p.name not in BUILD_FOLDER_ENTRIES and not p.name.startswith("."))
    if foreign:
        raise KwsError(f"{out_dir} holds files that are not a firmware build ({', '.join(foreign[:3])}"
                       f"{', ...' if len(foreign) > 3 else ''}): name a new or empty folder, or a previous build's")


@dataclass(frozen=True)
class ImageBuild:
    board: Board
    out_dir: Path
    elf: Path
    bin: Path
    hex: Path
    size: ElfSize
    stack: StackUsage
    interrupt_stack: int  # deepest interrupt handler, exception frame included (0 without interrupts)
    parts: dict[str, ElfSize]
    record: dict
    compiled: int
    warnings: dict[str, str]

    @property
    def ram(self) -> int:
        return self.size.ram + self.stack.bytes + self.interrupt_stack

    @property
    def flash(self) -> int:
        return self.size.flash

    def summary(self) -> str:
        stack = self.stack.bytes + self.interrupt_stack
        return (f"{self.elf.name} for {self.board.name}: flash {self.flash:,} B, RAM {self.ram:,} B "
                f"(data+bss {self.size.ram:,} B, stack {stack:,} B) -> {self.out_dir}")


def app_for(board: Board) -> str:
    """The app an image for ``board`` runs: ``run`` under QEMU, ``listen`` on a board with a microphone."""
    return "run" if board.qemu_machine else "listen"


def build_image(model: KwsModel, out_dir: Path | str, *, board: str = DEFAULT_BOARD,
                detector: DetectorConfig = DetectorConfig(), kernels: str = DEFAULT_KERNELS,
                cache: Path | None = None) -> ImageBuild:
    """Generate, compile and link the image of ``model`` for ``board`` into ``out_dir``."""
    target = get_board(board)
    check_kernels(kernels)
    gcc = toolchain.require_toolchain()
    out_dir = Path(out_dir).resolve()

    frontend = frontend_sources(model.mfcc, out_dir, target, gcc=gcc, cache=cache)
    generated, objects = frontend.generated, frontend.objects
    network = generate_model(model.tflite, kernels=kernels)
    pipeline = generate_pipeline_config(model, detector, network, frontend.tables)
    for name, text in ((network.header_name, network.header), (network.source_name, network.source),
                       (pipeline.header_name, pipeline.header), (pipeline.source_name, pipeline.source)):
        toolchain.write_if_changed(generated / name, text)

    app = app_for(target)
    own = (*frontend.own, *STACK_FLAGS)
    # CMSIS-DSP too: the deepest stack path runs through its FFT.
    compiles = [Compile(c.source, c.obj, (*c.command, *STACK_FLAGS)) for c in frontend.compiles]
    compiles += toolchain.compiles_of(kernel_sources(kernels), objects / "kernels", own)
    compiles += [
        Compile(generated / network.source_name, objects / "model" / "kws_model.o", own),
        Compile(SRC_DIR / "kws_pipeline.c", objects / "pipeline" / "kws_pipeline.o", own),
        Compile(generated / pipeline.source_name, objects / "pipeline" / "kws_pipeline_config.o", own),
        *toolchain.compiles_of(app_sources(app), objects / "app", own),
        *toolchain.board_compiles(target, objects, own),
    ]
    linked = toolchain.compile_and_link(compiles, gcc=gcc, target=target, out_dir=out_dir, name=IMAGE_NAME,
                                        link_flags=toolchain.wrap_flags(network.wrapped))
    elf = linked.elf
    bin_path = toolchain.objcopy(elf, out_dir / f"{IMAGE_NAME}.bin", "binary")
    hex_path = toolchain.objcopy(elf, out_dir / f"{IMAGE_NAME}.hex", "ihex")

    graphs = [c.obj.with_suffix(".ci") for c in compiles if c.obj.with_suffix(".ci").is_file()]
    stack = stack_usage(graphs, ["Reset_Handler", "main"], indirect_targets=CALLBACKS, wrapped=network.wrapped)
    handlers = _interrupt_handlers(graphs)
    interrupt = 0
    if handlers:
        deepest = stack_usage(graphs, handlers, indirect_targets=CALLBACKS, wrapped=network.wrapped)
        interrupt = deepest.bytes + EXCEPTION_FRAME_BYTES

    parts = toolchain.footprint(linked.map_file, {
        "model": str(objects / "model"),
        "kernels": str(objects / "kernels"),
        "frontend": str(objects / "cmsis-dsp"),
        "frontend tables": str(objects / "kws" / "kws_mfcc_tables.o"),
        "frontend wrapper": str(objects / "kws" / "kws_frontend.o"),
        "frontend stages": str(objects / "kws" / "frontend"),
        "pipeline": str(objects / "pipeline"),
        "app and board": str(objects / "app"),
        "board": str(objects / "board"),
    })
    # One "frontend" row: CMSIS-DSP, its wrapper, its stages and the tables.
    merged = {"model": parts["model"], "kernels": parts["kernels"],
              "frontend": parts["frontend"] + parts["frontend tables"] + parts["frontend wrapper"]
              + parts["frontend stages"],
              "pipeline": parts["pipeline"], "app and board": parts["app and board"] + parts["board"],
              toolchain.RUNTIME_PART: parts[toolchain.RUNTIME_PART]}
    size = toolchain.elf_size(elf)
    # What no input section accounts for: the linker script's alignment between sections.
    merged["alignment"] = size - sum(merged.values(), ElfSize(0, 0, 0))
    record = {
        "board": target.name,
        "app": app,
        "kernels": kernels,
        "pipeline": pipeline.record,
        "network": {"operators": network.ops, "arena_bytes": network.arena_size,
                    "kernels": sorted({kernel for _, kernel in network.kernel_calls}),
                    "fallbacks_replaced": list(network.wrapped)},
        "flash": size.flash,
        "ram": size.ram + stack.bytes + interrupt,
        **size.to_dict(),
        "stack": {**stack.to_dict(), "interrupt_bytes": interrupt, "interrupt_handlers": handlers},
        "parts": {name: {**p.to_dict(), "flash": p.flash, "ram": p.ram} for name, p in merged.items()},
        "link_command": linked.link[1:],
    }
    write_file_atomically(out_dir / "size.json", (json.dumps(record, indent=2) + "\n").encode())
    return ImageBuild(target, out_dir, elf, bin_path, hex_path, size, stack, interrupt, merged, record,
                      len(linked.stale), linked.warnings)


def _interrupt_handlers(graphs: list[Path]) -> list[str]:
    """Functions named like Cortex-M exception handlers (``*_IRQHandler``, ``SysTick_Handler``...),
    other than the reset handler, that the program defines."""
    names: set[str] = set()
    for path in graphs:
        names.update(re.findall(r'node: \{ title: "(\w+_(?:IRQ)?Handler)" label: "[^"]*bytes', path.read_text()))
    names.discard("Reset_Handler")
    return sorted(names)
