"""Build the whole always-on image for a board: ``kws firmware build``.

One image = CMSIS-DSP's MFCC (plain C) + ``kws_frontend`` + the model's tables, the generated
network (:mod:`kws.firmware.generate`) on the int8 kernels, the pipeline
(``firmware/src/kws_pipeline.c``) with its generated config (:mod:`kws.firmware.pipeline_config`),
an app and the board's start-up code. QEMU boards get ``apps/run.c`` (audio from the host, scores
and detections printed); boards with a microphone get ``apps/listen.c``. Written to ``out_dir``::

    kws.elf, kws.bin, kws.hex, kws.map
    size.json        {"flash", "ram", ...}: flash = text + data; RAM = data + bss + stack, the
                     stack the deepest call path from -fstack-usage/-fcallgraph-info (kws.firmware.stack)
    build.json       what it was built from: model sha256, configs, flags
    generated/, obj/ sources and objects (incremental rebuilds)
    CMSIS-DSP-LICENSE.txt
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_file_atomically
from ..detector import DetectorConfig
from ..errors import KwsError
from ..model_file import KwsModel
from . import build as fw
from .generate import generate_model
from .pipeline_config import generate_pipeline_config
from .stack import StackUsage, stack_usage

OBJCOPY = "arm-none-eabi-objcopy"
IMAGE_NAME = "kws"
KERNELS = ("plain", "dsp")
#: Bytes an exception entry pushes with the FPU's context (8 + 18 words): what an interrupt adds.
EXCEPTION_FRAME_BYTES = 104

#: Flags that make gcc write each object's frame sizes (.su) and call graph (.ci).
STACK_FLAGS = ("-fstack-usage", "-fcallgraph-info=su")


@dataclass(frozen=True)
class ImageBuild:
    board: fw.Board
    out_dir: Path
    elf: Path
    bin: Path
    hex: Path
    size: fw.ElfSize
    stack: StackUsage
    interrupt_stack: int  # deepest interrupt handler, exception frame included (0 without interrupts)
    parts: dict[str, fw.ElfSize]
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
        return (f"{self.elf.name} for {self.board.name}: flash {self.flash:,} B, RAM {self.ram:,} B "
                f"(data+bss {self.size.ram:,} B, stack {self.stack.bytes + self.interrupt_stack:,} B) -> {self.out_dir}")


def app_for(board: fw.Board) -> str:
    """The app an image for ``board`` runs: ``run`` under QEMU, ``listen`` on a board with a microphone."""
    return "run" if board.qemu_machine else "listen"


def build_image(model: KwsModel, out_dir: Path | str, *, board: str = fw.DEFAULT_BOARD,
                detector: DetectorConfig = DetectorConfig(), kernels: str = "plain",
                cache: Path | None = None) -> ImageBuild:
    """Generate, compile and link the image of ``model`` for ``board`` into ``out_dir``."""
    if board not in fw.BOARDS:
        raise KwsError(f"unknown board {board!r}; known: {', '.join(sorted(fw.BOARDS))}")
    if kernels not in KERNELS:
        raise KwsError(f"unknown kernels {kernels!r}; choose from {', '.join(KERNELS)}")
    target = fw.BOARDS[board]
    fw.require_toolchain()
    objcopy = fw.require_tool(OBJCOPY, "it comes with arm-none-eabi-gcc (binutils-arm-none-eabi)")
    gcc = shutil.which(fw.GCC)
    out_dir = Path(out_dir).resolve()

    frontend = fw.frontend_sources(model.mfcc, out_dir, target, gcc=gcc, cache=cache)
    generated, objects = frontend.generated, frontend.objects
    network = generate_model(model.tflite, kernels=kernels) if kernels != "plain" else generate_model(model.tflite)
    pipeline = generate_pipeline_config(model, detector, network, frontend.tables)
    for name, text in ((network.header_name, network.header), (network.source_name, network.source),
                       (pipeline.header_name, pipeline.header), (pipeline.source_name, pipeline.source)):
        fw._write_if_changed(generated / name, text)

    app = app_for(target)
    own = (*frontend.own, *STACK_FLAGS)
    src = fw.FIRMWARE_DIR / "src"
    kernel_sources = [src / "kws_int8_ops.c"] + ([src / "kws_int8_ops_dsp.c"] if kernels == "dsp" else [])
    # CMSIS-DSP too: the deepest stack path runs through its FFT.
    compiles = [fw._Compile(c.source, c.obj, (*c.command, *STACK_FLAGS)) for c in frontend.compiles]
    compiles += [fw._Compile(path, objects / "kernels" / f"{path.stem}.o", own) for path in kernel_sources]
    compiles += [
        fw._Compile(generated / network.source_name, objects / "model" / "kws_model.o", own),
        fw._Compile(src / "kws_pipeline.c", objects / "pipeline" / "kws_pipeline.o", own),
        fw._Compile(generated / pipeline.source_name, objects / "pipeline" / "kws_pipeline_config.o", own),
        fw._Compile(fw.FIRMWARE_DIR / "apps" / f"{app}.c", objects / "app" / f"{app}.o", own),
        *target.compiles(objects, own),
    ]
    missing = [str(c.source) for c in compiles if not c.source.is_file()]
    if missing:
        raise KwsError(f"missing source files: {', '.join(missing)}")
    linked = fw.compile_and_link(compiles, gcc=gcc, target=target, out_dir=out_dir, name=IMAGE_NAME)
    elf = linked.elf
    bin_path, hex_path = out_dir / f"{IMAGE_NAME}.bin", out_dir / f"{IMAGE_NAME}.hex"
    for path, form in ((bin_path, "binary"), (hex_path, "ihex")):
        partial = path.with_name(f".{path.name}.tmp")
        try:
            fw._run_tool([objcopy, "-O", form, str(elf), str(partial)], f"writing {path.name}")
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    graphs = [c.obj.with_suffix(".ci") for c in compiles if c.obj.with_suffix(".ci").is_file()]
    # The function pointers the pipeline calls: the network, and the app's event callback(s).
    callbacks = ["kws_model_invoke", "timed_invoke", "queue_event", "on_event"]
    stack = stack_usage(graphs, ["Reset_Handler", "main"], indirect_targets=callbacks)
    handlers = _interrupt_handlers(graphs)
    interrupt = 0
    if handlers:
        deepest = stack_usage(graphs, handlers, indirect_targets=callbacks)
        interrupt = deepest.bytes + EXCEPTION_FRAME_BYTES

    parts = fw.footprint(linked.map_file, {
        "model": str(objects / "model"),
        "kernels": str(objects / "kernels"),
        "frontend": str(objects / "cmsis-dsp"),
        "frontend tables": str(objects / "kws" / "kws_mfcc_tables.o"),
        "frontend wrapper": str(objects / "kws" / "kws_frontend.o"),
        "pipeline": str(objects / "pipeline"),
        "app and board": str(objects / "app"),
        "board": str(objects / "board"),
    })
    # One "frontend" row: CMSIS-DSP, its wrapper and the tables.
    merged = {"model": parts["model"], "kernels": parts["kernels"],
              "frontend": _sum(parts["frontend"], parts["frontend tables"], parts["frontend wrapper"]),
              "pipeline": parts["pipeline"], "app and board": _sum(parts["app and board"], parts["board"]),
              "C library and runtime": parts["C library and runtime"]}
    size = fw.elf_size(elf)
    # What no input section accounts for: the linker script's alignment between sections.
    merged["alignment"] = fw.ElfSize(size.text - sum(p.text for p in merged.values()),
                                     size.data - sum(p.data for p in merged.values()),
                                     size.bss - sum(p.bss for p in merged.values()))
    record = {
        "board": target.name,
        "app": app,
        "kernels": kernels,
        "pipeline": pipeline.record,
        "network": {"operators": network.ops, "arena_bytes": network.arena_size},
        "flash": size.flash,
        "ram": size.ram + stack.bytes + interrupt,
        "text": size.text, "data": size.data, "bss": size.bss,
        "stack": {**stack.to_dict(), "interrupt_bytes": interrupt, "interrupt_handlers": handlers},
        "parts": {name: {"text": p.text, "data": p.data, "bss": p.bss, "flash": p.flash, "ram": p.ram}
                  for name, p in merged.items()},
        "link_command": linked.link[1:],
    }
    write_file_atomically(out_dir / "size.json", (json.dumps(record, indent=2) + "\n").encode())
    return ImageBuild(target, out_dir, elf, bin_path, hex_path, size, stack, interrupt, merged, record,
                      len(linked.stale), linked.warnings)


def _sum(*sizes: fw.ElfSize) -> fw.ElfSize:
    return fw.ElfSize(sum(s.text for s in sizes), sum(s.data for s in sizes), sum(s.bss for s in sizes))


def _interrupt_handlers(graphs: list[Path]) -> list[str]:
    """Functions named like Cortex-M exception handlers (``*_IRQHandler``, ``SysTick_Handler``...),
    other than the reset handler, that the program defines."""
    import re

    names: set[str] = set()
    for path in graphs:
        names.update(re.findall(r'node: \{ title: "(\w+_(?:IRQ)?Handler)" label: "[^"]*bytes', path.read_text()))
    names.discard("Reset_Handler")
    return sorted(names)
