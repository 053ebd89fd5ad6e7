"""An image's instructions and functions, from ``arm-none-eabi-objdump``: what the cycle
estimate (:mod:`kws.firmware.cycles`) joins QEMU's execution log with.

:func:`disassemble` runs ``objdump -d`` (the instructions, their sizes from the raw encoding)
and ``objdump -t`` (the function symbols, with their sizes) on an ELF file and parses both with
the pure functions :func:`parse_instructions` and :func:`parse_functions`.
"""

from __future__ import annotations

import bisect
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import KwsError
from .toolchain import TOOL_TIMEOUT_S, require_tool

OBJDUMP = "arm-none-eabi-objdump"
READELF = "arm-none-eabi-readelf"
#: objdump's options for an image's architecture (readelf's Tag_CPU_arch). objdump takes the
#: architecture from the ELF's attributes, but binutils 2.40 then lists Armv8.1-M's conditional
#: selects (CINC, CSEL...: GCC emits them for the Cortex-M55) as <UNDEFINED>; named, it decodes them.
_ARCH_OPTIONS = {"v8.1-M.mainline": ("-m", "armv8.1-m.main")}

# "    12c6:\tf8d0 8008 \tldr.w\tr8, [r0, #44]\t@ 0x2c": address, raw halfwords, mnemonic, operands.
_INSTRUCTION = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{4} ?)+)\s*\t(\S+)(?:\t(.*))?$")
# "000012c0 l     F .text\t00000428 conv_pointwise_dense8"
_FUNCTION = re.compile(r"^([0-9a-f]{8}) .{6}F \S+\t([0-9a-f]+) (\S+)$")  # seven flag columns, the last F


@dataclass(frozen=True)
class Instruction:
    address: int
    size: int  # bytes: 2 or 4 (Thumb)
    mnemonic: str  # as objdump spells it: "ldr.w", "bne.n", "addseq"
    operands: str  # without objdump's "@ ..." comment

    @property
    def next_address(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class Function:
    name: str
    start: int
    end: int  # one past its last byte


@dataclass(frozen=True)
class Disassembly:
    instructions: dict[int, Instruction]
    functions: tuple[Function, ...]  # sorted by start

    def function_at(self, address: int) -> Function | None:
        """The function whose bytes hold ``address``, if any."""
        starts = [f.start for f in self.functions]
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and self.functions[i].start <= address < self.functions[i].end:
            return self.functions[i]
        return None


def parse_instructions(text: str) -> dict[int, Instruction]:
    """The instructions of ``objdump -d`` output by address (data words such as ``.word`` are
    kept too: they are never executed, so they never meet the execution log)."""
    instructions = {}
    for line in text.splitlines():
        match = _INSTRUCTION.match(line)
        if match is None:
            continue
        address = int(match.group(1), 16)
        halfwords = match.group(2).split()
        operands = (match.group(4) or "").split("\t@", 1)[0].split(";", 1)[0].strip()
        instructions[address] = Instruction(address, 2 * len(halfwords), match.group(3), operands)
    return instructions


def parse_functions(text: str) -> tuple[Function, ...]:
    """The function symbols of ``objdump -t`` output, sorted by address; Thumb's bit 0 cleared,
    zero-sized and duplicate (alias) symbols dropped."""
    found: dict[int, Function] = {}
    for line in text.splitlines():
        match = _FUNCTION.match(line)
        if match is None:
            continue
        start, size = int(match.group(1), 16) & ~1, int(match.group(2), 16)
        if size and start not in found:
            found[start] = Function(match.group(3), start, start + size)
    return tuple(sorted(found.values(), key=lambda f: f.start))


def _binutil(tool: str, elf: Path, *options: str) -> str:
    command = [require_tool(tool, "it comes with arm-none-eabi-gcc (binutils-arm-none-eabi)"), *options, str(elf)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    if result.returncode != 0:
        raise KwsError(f"{tool} {' '.join(options)} {elf.name} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def arch_options(readelf_attributes: str) -> tuple[str, ...]:
    """objdump's options for the architecture ``readelf -A`` reports (none where its default decodes it)."""
    match = re.search(r"Tag_CPU_arch: (\S+)", readelf_attributes)
    return _ARCH_OPTIONS.get(match.group(1), ()) if match else ()


def disassemble(elf: Path | str) -> Disassembly:
    """The instructions and functions of ``elf`` (:class:`KwsError` if objdump is missing)."""
    elf = Path(elf)
    arch = arch_options(_binutil(READELF, elf, "-A"))
    return Disassembly(parse_instructions(_binutil(OBJDUMP, elf, *arch, "-d")),
                       parse_functions(_binutil(OBJDUMP, elf, "-t")))
