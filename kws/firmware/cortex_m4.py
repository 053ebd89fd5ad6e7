"""Cortex-M4 instruction timings, from Arm's Cortex-M4 Technical Reference Manual (r0p1,
section 3.3 "Instruction set summary", tables 3-1 to 3-3 and the load/store timing notes), as
a pure function of one instruction (:func:`timing`) and of two executed back to back
(:func:`transition`). :mod:`kws.firmware.cycles` applies them to QEMU's execution log.

The TRM's cycles assume zero-wait-state memory. The rules modelled, with the TRM's symbols:

* data processing, moves, shifts, compares, extends, bit fields, saturation, and every
  multiply and multiply-accumulate the M4 has (MUL, MLA, MLS, SMULL, UMULL, SMLAL, UMLAL, the
  DSP extension's SMLAD/SMLABB/SMMULR/SXTB16/...): 1 cycle;
* SDIV/UDIV: 2 to 12 cycles by the operands' sizes (early termination); 7 in the estimate;
* single loads (LDR, LDRB, LDRH, LDRSB, LDRSH, LDREX): 2; a single load or store right after
  a single load whose loaded register it does not use for its address is pipelined: 1 cycle
  less ("N+1 cycles for N independent loads");
* single stores: 1 with an immediate offset (the TRM: "STR Rx,[Ry,#imm] is always one
  cycle"), 2 with a register offset (1 when pipelined after a load);
* LDRD/STRD: 1+N = 3; LDM/STM/PUSH/POP: 1+N, N registers (never pipelined);
* a load or store whose address register was written by the data-processing instruction
  just before: +1 (the TRM: "there is no forwarding path for this scenario");
* a branch, or any instruction that writes the PC (BX, BLX, POP {..., pc}, LDR pc, MOV pc):
  1 + P when it changes the flow (P, the pipeline refill, 1 to 3 cycles: **2** in the
  estimate); a conditional branch not taken: 1; TBB/TBH: 2+P;
* IT: 1 (the TRM: it can be folded onto a preceding 16-bit instruction, 0);
* floating point (table 3-3): 1, except VLDR/VSTR 2, VLDM/VSTM/VPUSH/VPOP 1+N words,
  VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS 3, VDIV/VSQRT 14, VMOV of two core registers 2.

Each instruction gets a central cycle count and a low and high one; the interval covers what
the TRM leaves open: P from 1 to 3, SDIV/UDIV from 2 to 12, IT folded or not, the
address-dependency stall there or not, a literal-pool load's possible extra cycle ("LDR
Rx,[PC,#imm] might add a cycle because of contention with the fetch unit"), MRS/MSR/CPS 1 or 2,
and a conditional instruction that fails its condition (1 cycle at least).

Not modelled (outside the interval): wait states of real flash (the nRF52840 runs from flash
through a cache), unaligned accesses (+1 or +2 each: the log has no data addresses), bus
contention, and exception entry/exit (12 and 10 cycles; the images take no interrupts while
measured).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .disassembly import Instruction

#: The pipeline refill P of a taken branch: (low, central, high) cycles.
REFILL = (1, 2, 3)
#: SDIV/UDIV cycles: (low, central, high).
DIVIDE = (2, 7, 12)

CONDITIONS = frozenset({"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt",
                        "le", "al"})

# Single-cycle integer instructions, by the kind they are reported under.
_ALU = frozenset("""
    mov movw movt mvn add addw adc adr sub subw sbc rsb neg and orr eor bic orn lsl lsr asr ror rrx
    cmp cmn tst teq ssat usat ssat16 usat16 sxtb sxth uxtb uxth sxtab sxtah uxtab uxtah sxtb16 uxtb16
    sxtab16 uxtab16 bfc bfi sbfx ubfx clz rbit rev rev16 revsh sel pkhbt pkhtb
    sadd16 sadd8 ssub16 ssub8 uadd16 uadd8 usub16 usub8 qadd qsub qdadd qdsub qadd16 qadd8 qsub16 qsub8
    qasx qsax sasx ssax uasx usax shadd16 shadd8 shsub16 shsub8 shasx shsax uhadd16 uhadd8 uhsub16 uhsub8
    uhasx uhsax uqadd16 uqadd8 uqsub16 uqsub8 uqasx uqsax usad8 usada8
    nop sev yield
""".split())
_MULTIPLY = frozenset("""
    mul mla mls smull umull smlal umlal umaal smlabb smlabt smlatb smlatt smlawb smlawt smulbb smulbt
    smultb smultt smulwb smulwt smlad smladx smlsd smlsdx smuad smuadx smusd smusdx smlald smlaldx
    smlsld smlsldx smlalbb smlalbt smlaltb smlaltt smmul smmulr smmla smmlar smmls smmlsr
""".split())
#: Instructions that take an S suffix (they set the flags), as objdump spells them: "adds", "lsls".
_FLAG_SETTING = frozenset("mov mvn add adc sub sbc rsb neg and orr eor bic orn lsl lsr asr ror rrx mul".split())
_LOADS = frozenset("ldr ldrb ldrh ldrsb ldrsh ldrt ldrbt ldrht ldrsbt ldrsht ldrex ldrexb ldrexh".split())
_STORES = frozenset("str strb strh strt strbt strht strex strexb strexh".split())
_LOAD_MULTIPLE = frozenset("ldm ldmia ldmfd ldmdb ldmea pop".split())
_STORE_MULTIPLE = frozenset("stm stmia stmea stmdb stmfd push".split())
_BRANCHES = frozenset("b bl blx bx cbz cbnz tbb tbh".split())
_SYSTEM = frozenset("mrs msr cpsid cpsie dmb dsb isb bkpt svc wfi wfe udf pld pli clrex".split())
_VFP_MAC = frozenset("vmla vmls vnmla vnmls vfma vfms vfnma vfnms".split())
_IT = re.compile(r"^it[te]{0,3}$")
_KNOWN = _ALU | _MULTIPLY | _LOADS | _STORES | _LOAD_MULTIPLE | _STORE_MULTIPLE | _BRANCHES | _SYSTEM | {
    "ldrd", "strd", "sdiv", "udiv"}

_REGISTER = re.compile(r"\b(r1[0-5]|r[0-9]|sb|sl|fp|ip|sp|lr|pc)\b")
_ALIASES = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}
_VFP_REGISTER = re.compile(r"\b([sd])(\d+)\b")
PC = 15


def split_mnemonic(mnemonic: str) -> tuple[str, str | None]:
    """(base instruction, condition or None): "ldr.w" -> ("ldr", None), "addseq" -> ("add",
    "eq"), "bls.n" -> ("b", "ls"), "bics" -> ("bic", None). Floating-point ones keep their
    name without the type: "vmov.f32" -> ("vmov", None). Unknown names come back whole."""
    stem = mnemonic.split(".", 1)[0]
    if stem.startswith("v") or _IT.match(stem):
        return stem, None
    candidates = [(stem, None)]
    if stem[-2:] in CONDITIONS:
        candidates.append((stem[:-2], stem[-2:]))
    for name, condition in candidates:
        if name in _KNOWN:
            return name, condition
        if name.endswith("s") and name[:-1] in _FLAG_SETTING:
            return name[:-1], condition
    return stem, None


def _registers(text: str) -> frozenset[int]:
    return frozenset(_ALIASES.get(r) if r in _ALIASES else int(r[1:]) for r in _REGISTER.findall(text))


def _list_size(operands: str) -> int:
    """Words in a register list "{r4, r5, lr}", "{r4-r7}", "{d8-d9}" (a d register is two)."""
    inside = operands[operands.find("{") + 1:operands.rfind("}")]
    words = 0
    for item in (part.strip() for part in inside.split(",") if part.strip()):
        first, _, last = item.partition("-")
        width = 2 if first.startswith("d") else 1
        numbers = [_ALIASES.get(x, None) if x in _ALIASES else int(x[1:]) for x in (first, last or first)]
        words += width * (numbers[1] - numbers[0] + 1)
    return words


@dataclass(frozen=True)
class Timing:
    kind: str  # alu, multiply, divide, load, store, load_multiple, store_multiple, branch, it, fpu, system
    cycles: int  # central, before the refill and the effects of the instruction before
    low: int
    high: int
    writes_pc: bool = False  # a branch: + P when it changes the flow
    conditional: bool = False  # it may not change the flow (Bcc, CBZ/CBNZ, a branch in an IT block)
    links: bool = False  # BL/BLX: a call
    single_load: bool = False  # the next single load or store can pipeline after it
    single_access: bool = False  # a single load or store: can pipeline after a single load
    pipelined_cycles: int = 0  # its cycles when pipelined after a load
    loaded: frozenset[int] = frozenset()  # registers a load writes
    written: frozenset[int] = frozenset()  # registers a data-processing instruction writes
    address: frozenset[int] = frozenset()  # registers its address is computed from
    memory: bool = False  # a load or store of any kind (subject to the address-dependency stall)


def _memory_operands(operands: str) -> tuple[frozenset[int], frozenset[int], bool]:
    """(transfer registers, address registers, register offset) of "r3, [r0, r2, lsl #2]"."""
    head, _, rest = operands.partition("[")
    inside = rest.split("]", 1)[0]
    address = _registers(inside)
    return _registers(head), address, len(address) > 1


def timing(instruction: Instruction) -> Timing | None:
    """The Cortex-M4 timing of ``instruction``; None for a name this table does not know."""
    name, condition = split_mnemonic(instruction.mnemonic)
    operands = instruction.operands
    low_if_skipped = 1 if condition else None  # a conditional instruction that fails takes 1 cycle

    def bounded(kind: str, cycles: int, low: int, high: int, **flags) -> Timing:
        if low_if_skipped is not None and not flags.get("writes_pc"):
            low = min(low, low_if_skipped)
        return Timing(kind, cycles, low, high, **flags)

    if _IT.match(name):
        return Timing("it", 1, 0, 1)
    if name.startswith("v"):
        return _vfp(name, operands)
    if name in _BRANCHES:
        extra = 1 if name in ("tbb", "tbh") else 0  # TBB/TBH: 2 + P
        return Timing("branch", 1 + extra, 1 + extra, 1 + extra, writes_pc=True,
                      conditional=condition is not None or name in ("cbz", "cbnz"), links=name in ("bl", "blx"),
                      address=_registers(operands) if extra else frozenset(), memory=bool(extra))
    if name in _LOADS or name in _STORES:
        transfer, address, register_offset = _memory_operands(operands)
        if name in _LOADS and PC in transfer:  # LDR pc: 2 + P
            return bounded("branch", 2, 2, 2, writes_pc=True, conditional=condition is not None,
                           address=address, memory=True)
        literal = PC in address
        if name in _LOADS:
            return bounded("load", 2, 2, 2 + literal, single_load=True, single_access=True, pipelined_cycles=1,
                           loaded=transfer, address=address, memory=True)
        cycles = 2 if register_offset else 1
        return bounded("store", cycles, cycles, cycles, single_access=True, pipelined_cycles=1, address=address,
                       memory=True)
    if name in ("ldrd", "strd"):
        transfer, address, _ = _memory_operands(operands)
        return bounded("load" if name == "ldrd" else "store", 3, 3, 3, address=address, memory=True)
    if name in _LOAD_MULTIPLE or name in _STORE_MULTIPLE:
        words = _list_size(operands)
        head = operands.split("{", 1)[0]
        address = _registers(head) or frozenset({13})  # PUSH/POP: SP
        if name in _LOAD_MULTIPLE and PC in _registers(operands[operands.find("{"):]):
            return bounded("branch", 1 + words, 1 + words, 1 + words, writes_pc=True,
                           conditional=condition is not None, address=address, memory=True)
        kind = "load_multiple" if name in _LOAD_MULTIPLE else "store_multiple"
        return bounded(kind, 1 + words, 1 + words, 1 + words, address=address, memory=True)
    if name in ("sdiv", "udiv"):
        low, central, high = DIVIDE
        return bounded("divide", central, low, high, written=_registers(operands.split(",", 1)[0]))
    if name in _ALU or name in _MULTIPLY:
        registers = [r.strip() for r in operands.split(",")]
        written = _written(name, registers)
        if PC in written:  # MOV pc / ADD pc: 1 + P
            return bounded("branch", 1, 1, 1, writes_pc=True, conditional=condition is not None)
        return bounded("multiply" if name in _MULTIPLY else "alu", 1, 1, 1, written=written)
    if name in _SYSTEM:
        if name == "isb":  # 1 + B, B at least a refill
            return Timing("system", 1 + REFILL[1], 1 + REFILL[0], 1 + REFILL[2])
        high = 2 if name in ("mrs", "msr", "cpsid", "cpsie") else 1
        return Timing("system", 1, 1, high)
    return None


def _written(name: str, registers: list[str]) -> frozenset[int]:
    if name in ("cmp", "cmn", "tst", "teq", "nop", "sev", "yield") or not registers or not registers[0]:
        return frozenset()
    if name in ("smull", "umull", "smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld", "smlsldx", "smlalbb",
                "smlalbt", "smlaltb", "smlaltt"):
        return _registers(",".join(registers[:2]))
    return _registers(registers[0])


def _vfp(name: str, operands: str) -> Timing:
    if name in ("vldr", "vstr"):
        return Timing("fpu", 2, 2, 2, address=_registers(operands.split("[", 1)[-1]), memory=True)
    if name in ("vldm", "vstm", "vldmia", "vstmia", "vldmdb", "vstmdb", "vpush", "vpop"):
        words = _list_size(operands)
        return Timing("fpu", 1 + words, 1 + words, 1 + words, address=_registers(operands.split("{", 1)[0]) or
                      frozenset({13}), memory=True)
    if name in _VFP_MAC:
        return Timing("fpu", 3, 3, 3)
    if name in ("vdiv", "vsqrt"):
        return Timing("fpu", 14, 14, 14)
    if name == "vmov" and len(_REGISTER.findall(operands)) == 2:  # two core registers <-> a double or two singles
        return Timing("fpu", 2, 2, 2)
    return Timing("fpu", 1, 1, 1)


@dataclass(frozen=True)
class Cost:
    """Cycles as (central estimate, lower bound, upper bound), and how they add up."""
    cycles: int = 0
    low: int = 0
    high: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.cycles + other.cycles, self.low + other.low, self.high + other.high)

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.cycles - other.cycles, self.low - other.low, self.high - other.high)

    def __mul__(self, times: int) -> Cost:
        return Cost(self.cycles * times, self.low * times, self.high * times)


def base_cost(t: Timing) -> Cost:
    return Cost(t.cycles, t.low, t.high)


def refill(before: Timing, branched: bool) -> Cost:
    """What ``before`` adds when the next instruction executed is not the one after it
    (``branched``), or always for an unconditional branch: P."""
    if before.writes_pc and (branched or not before.conditional):
        low, central, high = REFILL
        return Cost(central, low, high)
    return Cost()


def transition(before: Timing, after: Timing) -> Cost:
    """What running ``after`` right after ``before`` (in sequence, no branch between) changes in
    ``after``'s cycles: load pipelining (fewer) or the address-dependency stall (more)."""
    if before.single_load and after.single_access and not (after.address & before.loaded):
        saved = after.cycles - after.pipelined_cycles
        return Cost(-saved, -min(saved, after.low - 1), -saved)
    if after.memory and before.written & after.address and before.kind in ("alu", "multiply", "divide"):
        return Cost(1, 0, 1)
    return Cost()
