"""Build the firmware's MFCC test app (``firmware/apps/mfcc_dump.c``) for a board.

One call does everything, out of tree: generate the q15 tables of a :class:`dsp.MfccConfig`
(:mod:`kws.firmware.tables`), fetch CMSIS-DSP (:mod:`kws.firmware.cmsis_dsp`), compile with
``arm-none-eabi-gcc`` and link ``mfcc_dump.elf``. Everything is written under ``out_dir``;
nothing is written into ``firmware/``::

    out_dir/generated/kws_mfcc_tables.{h,c}
    out_dir/obj/...                  objects, with .d dependency files
    out_dir/mfcc_dump.elf, .map      the image and its linker map
    out_dir/build.json               config, board, flags, sizes
    out_dir/CMSIS-DSP-LICENSE.txt    CMSIS-DSP's Apache-2.0 license, which the image is under too

A second build into the same directory recompiles only what changed (objects are compared
with their command line and with every header gcc reports they include), so switching
configs costs the tables and the few files that depend on them.

CMSIS-DSP is compiled as plain C (``-D__GNUC_PYTHON__``, no DSP intrinsics), the configuration
:func:`dsp.mfcc_q15` is bit-exact with; ``firmware/cmsis-dsp-sources.txt`` lists its files.

    python -m kws.firmware.build --out build/firmware [--config JSON] [--measure]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dsp import MfccConfig

from ..atomic import write_file_atomically
from .. import console
from ..errors import KwsError
from .cmsis_dsp import CMSISDSP_VERSION, cmsis_dsp_sources
from .tables import GeneratedTables, generate_tables

#: The firmware sources: firmware/ beside the kws package, in a source checkout.
FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"

GCC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"

#: Seconds one compiler or linker call may take.
TOOL_TIMEOUT_S = 300.0

#: Optimisation and dead-code removal, for every file.
OPT_FLAGS = ("-O2", "-g", "-ffunction-sections", "-fdata-sections")
#: CMSIS-DSP's plain-C configuration: dsp/none.h instead of CMSIS-Core, so no DSP intrinsics
#: even on a core that has them, and loop unrolling as in the x86_64 cmsisdsp wheel.
CMSIS_DSP_DEFINES = ("-D__GNUC_PYTHON__", "-DARM_MATH_LOOPUNROLL")
#: Our own C: C99, warnings on (CMSIS-DSP's headers come in through -isystem).
OWN_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow")
#: CMSIS-DSP's sources are C11 (as its Python build compiles them).
CMSIS_DSP_FLAGS = ("-std=c11",)
#: newlib-nano, with semihosting (librdimon) for stdio and host files.
LIBC_SPECS = ("--specs=nano.specs",)
LINK_SPECS = ("--specs=rdimon.specs",)


@dataclass(frozen=True)
class Board:
    """A target: its directory under firmware/boards/, CPU flags and the QEMU machine that runs it."""

    name: str
    cpu_flags: tuple[str, ...]
    #: None: no emulator runs the board (hardware only; its image runs apps/listen.c).
    qemu_machine: str | None
    #: Specs the link adds to LIBC_SPECS: semihosting (librdimon) under QEMU; a board that runs
    #: without a debugger attached must not use semihosting (a BKPT faults), so it takes nosys.
    link_specs: tuple[str, ...] = LINK_SPECS
    #: The linker script, relative to the board's directory.
    linker_script: str = "link.ld"
    #: The board's C sources (start-up code and board.h's functions), relative to its directory.
    #: The QEMU boards share ../qemu/ and differ by their board_config.h.
    sources: tuple[str, ...] = ("startup.c", "board.c")
    #: Address of the image's first byte (the vector table): where a .bin is written to flash.
    flash_origin: int = 0

    @property
    def directory(self) -> Path:
        return FIRMWARE_DIR / "boards" / self.name

    def compiles(self, objects_dir: Path, command) -> list["_Compile"]:
        """The board's sources, compiled with ``command`` plus its directory on the include path."""
        flags = (*command, f"-I{self.directory}")
        return [_Compile((self.directory / source).resolve(), objects_dir / "board" / Path(source).with_suffix(".o").name,
                         flags) for source in self.sources]


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


@dataclass(frozen=True)
class ElfSize:
    """``arm-none-eabi-size`` of an image: flash is text + data, RAM is data + bss."""

    text: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


@dataclass(frozen=True)
class FirmwareBuild:
    """What :func:`build_mfcc_dump` produced."""

    board: Board
    config: MfccConfig
    out_dir: Path
    elf: Path
    map_file: Path
    size: ElfSize
    #: Bytes each part of the program contributes: group -> ElfSize (see :func:`footprint`).
    parts: dict[str, ElfSize] = field(default_factory=dict)
    cmsis_dsp_files: tuple[str, ...] = ()
    compiled: int = 0  # objects (re)compiled by this call
    #: Compiler warnings of this call's compilations, by source file (CMSIS-DSP's included).
    warnings: dict[str, str] = field(default_factory=dict)


def require_tool(name: str, install_hint: str) -> str:
    """The tool's path, or :class:`KwsError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise KwsError(f"{name} not found on PATH: {install_hint}")
    return path


def require_toolchain() -> None:
    require_tool(
        GCC,
        "install the Arm GNU toolchain and newlib (Debian/Ubuntu: apt-get install "
        "--no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi, or bash scripts/setup.sh)",
    )


def cmsis_dsp_file_list(firmware_dir: Path = FIRMWARE_DIR) -> tuple[str, ...]:
    """The CMSIS-DSP files the frontend needs (firmware/cmsis-dsp-sources.txt), relative to Source/."""
    listing = firmware_dir / "cmsis-dsp-sources.txt"
    try:
        lines = listing.read_text().splitlines()
    except OSError as error:
        raise KwsError(f"cannot read {listing}: {error.strerror or error}") from None
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _write_if_changed(path: Path, text: str) -> None:
    """Leave an identical file (and its mtime) alone, so that make-like checks see no change."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    write_file_atomically(path, text.encode())


def _run_tool(command: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    except FileNotFoundError:
        raise KwsError(f"{what}: {command[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise KwsError(f"{what}: {command[0]} took over {TOOL_TIMEOUT_S:.0f} s") from None
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip()
        raise KwsError(f"{what} failed:\n{shlex.join(command)}\n{output}")
    return result


def _dependencies(depfile: Path) -> list[str]:
    """The prerequisites in a gcc -MD dependency file (make syntax)."""
    text = depfile.read_text().replace("\\\n", " ")
    _, _, prerequisites = text.partition(": ")
    first_rule = prerequisites.split("\n", 1)[0]
    return [p.replace("\\ ", " ") for p in re.findall(r"(?:\\ |[^ ])+", first_rule)]


@dataclass(frozen=True)
class _Compile:
    source: Path
    obj: Path
    command: tuple[str, ...]  # without the -MD/-MF/-o parts

    @property
    def key_file(self) -> Path:
        return self.obj.with_suffix(".cmd")

    @property
    def depfile(self) -> Path:
        return self.obj.with_suffix(".d")

    def key(self) -> str:
        return hashlib.sha256("\0".join(self.command).encode()).hexdigest()

    def up_to_date(self) -> bool:
        try:
            if self.key_file.read_text() != self.key():
                return False
            built = self.obj.stat().st_mtime_ns
            return all(Path(dep).stat().st_mtime_ns <= built for dep in _dependencies(self.depfile))
        except OSError:
            return False

    def run(self) -> str:
        """Compile; returns the compiler's diagnostics (warnings), empty when clean."""
        self.obj.parent.mkdir(parents=True, exist_ok=True)
        self.key_file.unlink(missing_ok=True)
        command = [*self.command, "-MD", "-MF", str(self.depfile), "-c", str(self.source), "-o", str(self.obj)]
        result = _run_tool(command, f"compiling {self.source.name}")
        self.key_file.write_text(self.key())
        return (result.stderr + result.stdout).strip()


def elf_size(elf: Path) -> ElfSize:
    """text/data/bss of ``elf`` from ``arm-none-eabi-size`` (Berkeley format)."""
    size_tool = require_tool(SIZE, "it comes with arm-none-eabi-gcc (binutils-arm-none-eabi)")
    output = _run_tool([size_tool, str(elf)], f"measuring {elf.name}").stdout
    lines = output.strip().splitlines()
    if len(lines) < 2:
        raise KwsError(f"unexpected output from {SIZE}: {output!r}")
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return ElfSize(text, data, bss)


_MAP_INPUT_SECTION = re.compile(r"^ (\.[^\s]+|COMMON)(?:\s+|\n\s+)(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$", re.M)


#: Input sections that occupy memory in the image (the rest are debug info and notes).
_ALLOCATED = (".text", ".rodata", ".data", ".bss", "COMMON", ".noinit", ".vectors", ".ARM.ex", ".init", ".fini", ".preinit")


def footprint(map_file: Path, groups: dict[str, str]) -> dict[str, ElfSize]:
    """Bytes per part of the program, from the linker map: ``groups`` maps a part's name to a
    path fragment of its object files; other input goes to ``"C library and runtime"``.

    Only the input sections kept after --gc-sections count; text includes read-only data.
    """
    text = map_file.read_text()
    _, _, memory_map = text.partition("Linker script and memory map")
    totals: dict[str, list[int]] = {name: [0, 0, 0] for name in [*groups, "C library and runtime"]}
    for name, _address, size, source in _MAP_INPUT_SECTION.findall(memory_map):
        length = int(size, 16)
        if length == 0 or not name.startswith(_ALLOCATED):  # debug info, attributes, comments
            continue
        part = next((g for g, fragment in groups.items() if fragment in source), "C library and runtime")
        if name.startswith((".bss", "COMMON", ".noinit")):
            column = 2
        elif name.startswith(".data"):
            column = 1
        else:
            column = 0
        totals[part][column] += length
    return {name: ElfSize(*values) for name, values in totals.items()}


@dataclass(frozen=True)
class Linked:
    """What :func:`compile_and_link` did."""

    elf: Path
    map_file: Path
    link: list[str]  # the link command
    stale: list["_Compile"]  # the compilations this call ran
    warnings: dict[str, str]  # compiler diagnostics by source file (empty when clean)


def compile_and_link(compiles: list["_Compile"], *, gcc: str, target, out_dir: Path, name: str,
                     jobs: int | None = None) -> Linked:
    """Compile what is out of date (in parallel) and link ``out_dir/NAME.elf`` (and its map),
    atomically, for ``target``'s board. Shared by every image kws builds."""
    stale = [c for c in compiles if not c.up_to_date()]
    warnings: dict[str, str] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for compile_, future in [(c, pool.submit(c.run)) for c in stale]:
            diagnostics = future.result()
            if diagnostics:
                warnings[str(compile_.source)] = diagnostics
    elf = out_dir / f"{name}.elf"
    map_file = out_dir / f"{name}.map"
    partial = out_dir / f".{name}.elf.tmp"
    link = [
        gcc, *target.cpu_flags, *LIBC_SPECS, *target.link_specs, "-nostartfiles",
        "-Wl,--gc-sections", f"-Wl,-Map={map_file}", "-T", str(target.directory / target.linker_script),
        *[str(c.obj) for c in compiles], "-o", str(partial),
    ]
    try:
        _run_tool(link, f"linking {name}.elf")
        os.replace(partial, elf)
    finally:
        partial.unlink(missing_ok=True)
    return Linked(elf, map_file, link, stale, warnings)


@dataclass(frozen=True)
class FrontendSources:
    """The compilations of the MFCC frontend for one config and board (see :func:`frontend_sources`)."""

    compiles: list["_Compile"]
    #: Compiler command for the project's own C (flags, includes; no -c/-o).
    own: tuple[str, ...]
    generated: Path
    objects: Path
    cmsis_dsp_files: tuple[str, ...]
    tables: GeneratedTables


def frontend_sources(config: MfccConfig, out_dir: Path, target: Board, *, gcc: str, cache: Path | None = None,
                     fixed_fft_length: bool = True) -> FrontendSources:
    """Generate ``config``'s tables under ``out_dir/generated``, fetch CMSIS-DSP, copy its
    license beside the image, and list the compilations of CMSIS-DSP, kws_frontend.c and the
    tables (objects under ``out_dir/obj``)."""
    if not (FIRMWARE_DIR / "src" / "kws_frontend.c").is_file():
        raise KwsError(f"firmware sources not found in {FIRMWARE_DIR} (building needs a source checkout of kws)")
    cmsis = cmsis_dsp_sources(cache)
    generated = out_dir / "generated"
    objects_dir = out_dir / "obj"
    try:
        generated.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot create {generated}: {error.strerror or error}") from None

    tables = generate_tables(config)
    _write_if_changed(generated / tables.header_name, tables.header)
    _write_if_changed(generated / tables.source_name, tables.source)
    # The image contains CMSIS-DSP: its license travels with it.
    _write_if_changed(out_dir / "CMSIS-DSP-LICENSE.txt", cmsis.license.read_text())

    base = [gcc, *target.cpu_flags, *OPT_FLAGS, *LIBC_SPECS]
    cmsis_includes = [f"-I{cmsis.include}", f"-I{cmsis.private_include}"]
    cmsis_files = cmsis_dsp_file_list()
    compiles = [
        _Compile(
            cmsis.source / name,
            objects_dir / "cmsis-dsp" / Path(name).with_suffix(".o"),
            tuple(base + list(CMSIS_DSP_FLAGS) + list(CMSIS_DSP_DEFINES) + cmsis_includes),
        )
        for name in cmsis_files
    ]
    own = (
        base
        + list(OWN_FLAGS)
        + list(CMSIS_DSP_DEFINES)
        + [f"-isystem{cmsis.include}", f"-I{FIRMWARE_DIR / 'src'}", f"-I{FIRMWARE_DIR / 'boards'}", f"-I{generated}"]
    )
    # A fixed FFT length links that length's tables only; with the generated split tables,
    # CMSIS-DSP's 8192-point ones are not linked either.
    frontend_flags = own + ([f"-DKWS_FRONTEND_FFT_LENGTH={config.fft_length}",
                             f"-DKWS_FRONTEND_CFFT=arm_cfft_sR_q15_len{config.fft_length // 2}"]
                            if fixed_fft_length else [])
    compiles += [
        _Compile(FIRMWARE_DIR / "src" / "kws_frontend.c", objects_dir / "kws" / "kws_frontend.o", tuple(frontend_flags)),
        _Compile(generated / tables.source_name, objects_dir / "kws" / "kws_mfcc_tables.o", tuple(own)),
    ]
    return FrontendSources(compiles, tuple(own), generated, objects_dir, cmsis_files, tables)


def build_mfcc_dump(
    config: MfccConfig = MfccConfig(),
    out_dir: Path | str = Path("build") / "firmware",
    *,
    board: str = DEFAULT_BOARD,
    cache: Path | None = None,
    fixed_fft_length: bool = True,
    jobs: int | None = None,
) -> FirmwareBuild:
    """Build ``mfcc_dump.elf`` for ``board`` with ``config``'s tables into ``out_dir``.

    ``fixed_fft_length`` compiles the frontend with ``KWS_FRONTEND_FFT_LENGTH`` so that only
    that FFT length's tables are linked (the generic ``arm_mfcc_init_q15`` keeps all of them).
    Raises :class:`KwsError` when the toolchain is missing or a step fails.
    """
    if board not in BOARDS:
        raise KwsError(f"unknown board {board!r}; known: {', '.join(sorted(BOARDS))}")
    target = BOARDS[board]
    if not target.qemu_machine:
        raise KwsError(f"mfcc_dump reads and writes host files through semihosting: QEMU boards only, not {board}")
    require_toolchain()
    gcc = shutil.which(GCC)
    out_dir = Path(out_dir).resolve()
    frontend = frontend_sources(config, out_dir, target, gcc=gcc, cache=cache, fixed_fft_length=fixed_fft_length)
    objects_dir, own, cmsis_files = frontend.objects, list(frontend.own), frontend.cmsis_dsp_files
    compiles = frontend.compiles + [
        _Compile(FIRMWARE_DIR / "apps" / "mfcc_dump.c", objects_dir / "app" / "mfcc_dump.o", tuple(own)),
        *target.compiles(objects_dir, own),
    ]
    missing = [str(c.source) for c in compiles if not c.source.is_file()]
    if missing:
        raise KwsError(f"missing source files: {', '.join(missing)}")

    linked = compile_and_link(compiles, gcc=gcc, target=target, out_dir=out_dir, name="mfcc_dump", jobs=jobs)
    elf, map_file, link, stale, warnings = linked.elf, linked.map_file, linked.link, linked.stale, linked.warnings
    size = elf_size(elf)
    parts = footprint(
        map_file,
        {
            "CMSIS-DSP": str(objects_dir / "cmsis-dsp"),
            "kws_frontend": str(objects_dir / "kws" / "kws_frontend.o"),
            "tables": str(objects_dir / "kws" / "kws_mfcc_tables.o"),
            "app": str(objects_dir / "app"),
            "board": str(objects_dir / "board"),
        },
    )
    record = {
        "board": target.name,
        "config": config.to_dict(),
        "cmsisdsp": CMSISDSP_VERSION,
        "cmsis_dsp_files": list(cmsis_files),
        "fixed_fft_length": fixed_fft_length,
        "cmsis_dsp_command": list(compiles[0].command[1:]),
        "own_command": list(own[1:]),
        "link_command": link[1:],
        "size": {"text": size.text, "data": size.data, "bss": size.bss},
        "parts": {name: {"text": p.text, "data": p.data, "bss": p.bss} for name, p in parts.items()},
    }
    write_file_atomically(out_dir / "build.json", (json.dumps(record, indent=2) + "\n").encode())
    return FirmwareBuild(
        board=target,
        config=config,
        out_dir=out_dir,
        elf=elf,
        map_file=map_file,
        size=size,
        parts=parts,
        cmsis_dsp_files=cmsis_files,
        compiled=len(stale),
        warnings=warnings,
    )


def describe(build: FirmwareBuild) -> str:
    """A few lines for people: the image, its size and what the frontend costs in it."""
    s = build.size
    lines = [
        f"{build.elf}: text {s.text:,} B, data {s.data:,} B, bss {s.bss:,} B "
        f"(flash {s.flash:,} B, static RAM {s.ram:,} B)",
    ]
    for name, part in build.parts.items():
        lines.append(f"  {name:<22} text {part.text:>8,}  data {part.data:>6,}  bss {part.bss:>9,}")
    return "\n".join(lines)


def _measure(build: FirmwareBuild) -> str:
    import numpy as np

    from .qemu import run_mfcc_dump

    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(0.0, 3000.0, build.config.sample_rate), -32768, 32767).astype(np.int16)
    dump = run_mfcc_dump(build, noise)
    counts = dump.instructions
    return (
        f"1 s of white noise: {len(counts)} frames, instructions per frame: median {int(np.median(counts)):,}, "
        f"min {int(counts.min()):,}, max {int(counts.max()):,} (resolution 40)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kws.firmware.build",
        description="Build firmware/apps/mfcc_dump.c (the MFCC frontend test app) out of tree.",
    )
    parser.add_argument("--out", default=str(Path("build") / "firmware"), help="output directory (default: %(default)s)")
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=sorted(name for name, b in BOARDS.items() if b.qemu_machine))
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
