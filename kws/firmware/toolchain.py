"""The Arm GNU toolchain: find it, compile what is out of date (cached by command line and
headers), link an image for a board, and measure it (``arm-none-eabi-size``, the linker map).

Every image kws builds goes through :func:`compile_and_link`; nothing here knows what an image
contains. A second build into the same directory recompiles only what changed: an object is
kept while its command line and every header gcc reports it includes are unchanged.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..atomic import write_file_atomically
from ..errors import KwsError
from .boards import Board

GCC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"
OBJCOPY = "arm-none-eabi-objcopy"

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
#: newlib-nano; the board adds semihosting or nosys at the link.
LIBC_SPECS = ("--specs=nano.specs",)

_BINUTILS_HINT = "it comes with arm-none-eabi-gcc (binutils-arm-none-eabi)"


def require_tool(name: str, install_hint: str) -> str:
    """The tool's path, or :class:`KwsError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise KwsError(f"{name} not found on PATH: {install_hint}")
    return path


def require_toolchain() -> str:
    """The path of ``arm-none-eabi-gcc``, or :class:`KwsError` saying how to install it."""
    return require_tool(
        GCC,
        "install the Arm GNU toolchain and newlib (Debian/Ubuntu: apt-get install "
        "--no-install-recommends gcc-arm-none-eabi libnewlib-arm-none-eabi, or bash scripts/setup.sh)",
    )


def base_command(gcc: str, board: Board) -> list[str]:
    """The compiler, the board's CPU flags, optimisation and the C library: what every file gets."""
    return [gcc, *board.cpu_flags, *OPT_FLAGS, *LIBC_SPECS]


def own_command(gcc: str, board: Board, includes: Iterable[Path | str], *, defines: Sequence[str] = (),
                system_includes: Iterable[Path | str] = ()) -> tuple[str, ...]:
    """The command for the project's own C (no -c/-o): :data:`OWN_FLAGS` read at call time, so
    a test may add a define to every file."""
    return (*base_command(gcc, board), *OWN_FLAGS, *defines, *(f"-isystem{d}" for d in system_includes),
            *(f"-I{d}" for d in includes))


def write_if_changed(path: Path, text: str) -> None:
    """Leave an identical file (and its mtime) alone, so that make-like checks see no change."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    write_file_atomically(path, text.encode())


def make_dir(path: Path) -> Path:
    """``path``, created with its parents, or :class:`KwsError`."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot create {path}: {error.strerror or error}") from None
    return path


def run_tool(command: list[str], what: str) -> subprocess.CompletedProcess:
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
class Compile:
    """One source to one object with one command (without the -MD/-MF/-c/-o parts)."""

    source: Path
    obj: Path
    command: tuple[str, ...]

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
        result = run_tool(command, f"compiling {self.source.name}")
        self.key_file.write_text(self.key())
        return (result.stderr + result.stdout).strip()


def compiles_of(sources: Iterable[Path], objects_dir: Path, command: Sequence[str]) -> list[Compile]:
    """One compilation per source, each object named after its source in ``objects_dir``."""
    return [Compile(Path(source), objects_dir / Path(source).with_suffix(".o").name, tuple(command))
            for source in sources]


def board_compiles(board: Board, objects_dir: Path, command: Sequence[str]) -> list[Compile]:
    """The board's sources, compiled with ``command`` plus its directory on the include path."""
    sources = [(board.directory / source).resolve() for source in board.sources]
    return compiles_of(sources, objects_dir / "board", (*command, f"-I{board.directory}"))


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

    def to_dict(self) -> dict[str, int]:
        return {"text": self.text, "data": self.data, "bss": self.bss}

    def __add__(self, other: "ElfSize") -> "ElfSize":
        return ElfSize(self.text + other.text, self.data + other.data, self.bss + other.bss)

    def __sub__(self, other: "ElfSize") -> "ElfSize":
        return ElfSize(self.text - other.text, self.data - other.data, self.bss - other.bss)


def elf_size(elf: Path) -> ElfSize:
    """text/data/bss of ``elf`` from ``arm-none-eabi-size`` (Berkeley format)."""
    size_tool = require_tool(SIZE, _BINUTILS_HINT)
    output = run_tool([size_tool, str(elf)], f"measuring {elf.name}").stdout
    lines = output.strip().splitlines()
    if len(lines) < 2:
        raise KwsError(f"unexpected output from {SIZE}: {output!r}")
    text, data, bss = (int(v) for v in lines[1].split()[:3])
    return ElfSize(text, data, bss)


_MAP_INPUT_SECTION = re.compile(r"^ (\.[^\s]+|COMMON)(?:\s+|\n\s+)(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S.*)$", re.M)

#: Input sections that occupy memory in the image (the rest are debug info and notes).
_ALLOCATED = (".text", ".rodata", ".data", ".bss", "COMMON", ".noinit", ".vectors", ".ARM.ex", ".init", ".fini", ".preinit")

#: Where :func:`footprint` puts what no group claims.
RUNTIME_PART = "C library and runtime"


def footprint(map_file: Path, groups: dict[str, str]) -> dict[str, ElfSize]:
    """Bytes per part of the program, from the linker map: ``groups`` maps a part's name to a
    path fragment of its object files; other input goes to :data:`RUNTIME_PART`.

    Only the input sections kept after --gc-sections count; text includes read-only data.
    """
    text = map_file.read_text()
    _, _, memory_map = text.partition("Linker script and memory map")
    totals: dict[str, list[int]] = {name: [0, 0, 0] for name in [*groups, RUNTIME_PART]}
    for name, _address, size, source in _MAP_INPUT_SECTION.findall(memory_map):
        length = int(size, 16)
        if length == 0 or not name.startswith(_ALLOCATED):  # debug info, attributes, comments
            continue
        part = next((g for g, fragment in groups.items() if fragment in source), RUNTIME_PART)
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
    stale: list[Compile]  # the compilations this call ran
    warnings: dict[str, str]  # compiler diagnostics by source file (empty when clean)


def wrap_flags(names: Iterable[str]) -> tuple[str, ...]:
    """Link flags that send every call of each of ``names`` to ``__wrap_<name>`` (ld's --wrap),
    for the kernel fallbacks a generated model replaces (kws.firmware.generate)."""
    return tuple(f"-Wl,--wrap={name}" for name in names)


def compile_and_link(compiles: list[Compile], *, gcc: str, target: Board, out_dir: Path, name: str,
                     jobs: int | None = None, link_flags: Sequence[str] = ()) -> Linked:
    """Compile what is out of date (in parallel) and link ``out_dir/NAME.elf`` (and its map),
    atomically, for ``target``'s board, with ``link_flags`` added. Shared by every image kws builds."""
    missing = [str(c.source) for c in compiles if not c.source.is_file()]
    if missing:
        raise KwsError(f"missing source files: {', '.join(missing)}")
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
        "-Wl,--gc-sections", *link_flags, f"-Wl,-Map={map_file}", "-T", str(target.directory / target.linker_script),
        *[str(c.obj) for c in compiles], "-o", str(partial),
    ]
    try:
        run_tool(link, f"linking {name}.elf")
        os.replace(partial, elf)
    finally:
        partial.unlink(missing_ok=True)
    return Linked(elf, map_file, link, stale, warnings)


def objcopy(elf: Path, path: Path, form: str) -> Path:
    """Write ``elf`` as ``form`` ("binary", "ihex") to ``path``, atomically."""
    tool = require_tool(OBJCOPY, _BINUTILS_HINT)
    partial = path.with_name(f".{path.name}.tmp")
    try:
        run_tool([tool, "-O", form, str(elf), str(partial)], f"writing {path.name}")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
