"""Estimated Cortex-M4 cycles of a QEMU run: what ran (QEMU's execution log), instruction by
instruction, weighed with the Cortex-M4's timings.

QEMU counts instructions (``-icount``: 1 ns of virtual time each), and a Cortex-M4 spends more
cycles than that: 2 per isolated load, a pipeline refill per taken branch, 1+N per load or store
multiple. The method:

1. run the image under QEMU with ``-d in_asm,exec,nochain`` (:mod:`kws.firmware.exec_trace`):
   every translation block that ran, in order, with its instructions' addresses, and the call
   path it ran in;
2. look every address up in the image's disassembly (:mod:`kws.firmware.disassembly`,
   ``arm-none-eabi-objdump``) and give it the Cortex-M4 timing of Arm's Technical Reference
   Manual (:mod:`kws.firmware.cortex_m4`);
3. add them up, with the effects of each executed pair: a branch that changed the flow pays
   the refill P (the next address executed is not the next in memory), a load or store right
   after an independent load is pipelined (one cycle less), an address computed by the
   instruction just before stalls one cycle.

Every executed instruction and every executed pair is counted, so the estimate is exact *for
the model*: the test program ``tests/asm/cycle_loops.S`` (loops whose cycles were counted by
hand from the TRM's rules) gets exactly its hand counts (``tests/test_firmware_cycles.py``),
and the instructions the log holds equal QEMU's -icount count.

Error bounds. Each figure comes with a low and a high bound (:class:`Cost`) over what the TRM
leaves open: P = 1 to 3 (2 in the estimate), SDIV/UDIV 2 to 12 cycles (7), IT folded (0) or
not (1), the address-dependency stall (0 or 1), a literal-pool load's extra cycle, a
conditional instruction skipped (1). Outside the bounds, not modelled: flash wait states
(zero-wait-state memory, as the TRM's table; an nRF52840 at 64 MHz fetches through a cache),
unaligned loads and stores (+1 or +2 each; the log has no data addresses: on DS-CNN-S only the
DSP first convolution makes any, at most +2.1 % of an inference, see benchmarks/README.md), bus
contention, interrupts. For a DS-CNN-S inference with the DSP kernels the interval is -4.9 % /
+2.3 % of the estimate, almost all of it the refill of taken branches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from . import cortex_m4
from .boards import Board
from .cortex_m4 import Cost, Timing
from .disassembly import Disassembly, Instruction, disassemble
from .exec_trace import CallPath, ExecTrace, FrameKey, TracedRun, trace_elf

#: What every figure of this module assumes, for the summaries that carry them.
MODEL = (f"Cortex-M4 TRM timings, zero wait states, branch refill P={cortex_m4.REFILL[1]} "
         f"(bounds P={cortex_m4.REFILL[0]}..{cortex_m4.REFILL[2]})")

#: The core whose timings :mod:`kws.firmware.cortex_m4` holds (a board's -mcpu). No other core
#: gets an estimate: the Cortex-M7 and M55 issue two instructions a cycle in part, and the M55
#: runs Helium in beats, so the M4's weights would be wrong there, not merely rough.
CORE = "cortex-m4"


def models(board: Board) -> bool:
    """Whether the estimate models ``board``'s core."""
    return board.core == CORE


#: An instruction this table does not know (counted, and priced at 1 cycle).
_UNKNOWN = Timing("unknown", 1, 1, 1)


@dataclass
class CycleEstimate:
    """Instructions and estimated cycles of some part of a run."""
    instructions: int = 0
    cost: Cost = Cost()
    taken_branches: int = 0
    #: kind -> [instructions, estimated cycles]
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    #: mnemonics without a timing -> times executed (priced at 1 cycle)
    unknown: Counter = field(default_factory=Counter)
    #: transfers no branch explains (an exception entry) -> times
    unexplained: int = 0

    @property
    def cycles(self) -> int:
        return self.cost.cycles

    def _charge(self, kind: str, cost: Cost, times: int, instructions: int = 0) -> None:
        self.cost = self.cost + cost * times
        entry = self.by_kind.setdefault(kind, [0, 0])
        entry[0] += instructions * times
        entry[1] += cost.cycles * times
        self.instructions += instructions * times

    def add(self, other: CycleEstimate, times: int = 1) -> None:
        self.instructions += other.instructions * times
        self.cost = self.cost + other.cost * times
        self.taken_branches += other.taken_branches * times
        for kind, (n, cycles) in other.by_kind.items():
            entry = self.by_kind.setdefault(kind, [0, 0])
            entry[0] += n * times
            entry[1] += cycles * times
        for name, n in other.unknown.items():
            self.unknown[name] += n * times
        self.unexplained += other.unexplained * times

    def per(self, calls: int) -> dict:
        """The figures divided by ``calls`` (rounded), as JSON."""
        calls = max(calls, 1)
        return {"instructions": round(self.instructions / calls), "cycles": round(self.cost.cycles / calls),
                "cycles_low": round(self.cost.low / calls), "cycles_high": round(self.cost.high / calls)}

    def to_dict(self) -> dict:
        return {**self.per(1), "taken_branches": self.taken_branches,
                "by_kind": {k: {"instructions": n, "cycles": c} for k, (n, c) in sorted(self.by_kind.items())}}


def timings_of(disassembly: Disassembly) -> dict[int, Timing]:
    """Every instruction's Cortex-M4 timing (:data:`_UNKNOWN`'s for names the table lacks)."""
    return {a: cortex_m4.timing(i) or _UNKNOWN for a, i in disassembly.instructions.items()}


def _block_estimate(addresses: Sequence[int], timings: Mapping[int, Timing],
                    instructions: Mapping[int, Instruction]) -> CycleEstimate:
    """One run of a straight block: each instruction, and each pair inside it."""
    estimate = CycleEstimate()
    previous: Timing | None = None
    for address in addresses:
        t = timings[address]
        if t is _UNKNOWN:
            estimate.unknown[instructions[address].mnemonic] += 1
        estimate._charge(t.kind, cortex_m4.base_cost(t), 1, instructions=1)
        if previous is not None:
            estimate._charge(previous.kind, cortex_m4.refill(previous, branched=False), 1)
            estimate._charge(t.kind, cortex_m4.transition(previous, t), 1)
        previous = t
    return estimate


def estimate_contexts(trace: ExecTrace, disassembly: Disassembly) -> list[CycleEstimate]:
    """The estimate of each context of ``trace`` (its own instructions, not its callees')."""
    timings = timings_of(disassembly)
    missing = {a for block in trace.blocks for a in block if a not in timings}
    if missing:
        raise ValueError(f"QEMU ran {len(missing)} addresses the disassembly lacks, e.g. 0x{min(missing):x}")
    blocks = [_block_estimate(b, timings, disassembly.instructions) for b in trace.blocks]
    estimates = [CycleEstimate() for _ in trace.contexts]
    for (context, block), times in trace.block_runs.items():
        estimates[context].add(blocks[block], times)
    for (before, after, last, first), times in trace.transfers.items():
        t_last, t_first = timings[last], timings[first]
        branched = first != disassembly.instructions[last].next_address
        refill = cortex_m4.refill(t_last, branched)
        estimates[before]._charge(t_last.kind, refill, times)
        if refill.cycles:
            estimates[before].taken_branches += times
        if branched and not t_last.writes_pc:
            estimates[after].unexplained += times
        if not branched:
            estimates[after]._charge(t_first.kind, cortex_m4.transition(t_last, t_first), times)
    return estimates


@dataclass
class CycleProfile:
    """A traced run's estimates by call path, and the sums a report needs."""
    trace: ExecTrace
    estimates: list[CycleEstimate]

    def total(self, select: Callable[[CallPath], bool] = lambda path: True) -> CycleEstimate:
        """The sum over the contexts ``select`` picks (each counted once)."""
        result = CycleEstimate()
        for path, estimate in zip(self.trace.contexts, self.estimates):
            if select(path):
                result.add(estimate)
        return result

    def within(self, frame: FrameKey | str) -> CycleEstimate:
        """Everything that ran inside ``frame`` (a frame key, or any call of a function by name),
        callees included."""
        if isinstance(frame, str):
            return self.total(lambda path: any(key[0] == frame for key in path))
        return self.total(lambda path: frame in path)

    def calls(self, frame: FrameKey | str) -> int:
        """How many times ``frame`` (or the function of that name) was entered."""
        return sum(n for context, n in self.trace.entries.items()
                   if _matches(self.trace.contexts[context][-1], frame))

    def frames(self, name: str) -> list[FrameKey]:
        """The distinct frames of function ``name``, in the order first met."""
        return _unique(path[-1] for path in self.trace.contexts if path[-1][0] == name)

    def children(self, name: str) -> list[FrameKey]:
        """The frames called directly from any frame of function ``name``, in the order first met."""
        return _unique(path[-1] for path in self.trace.contexts if len(path) > 1 and path[-2][0] == name)


def _matches(key: FrameKey, frame: FrameKey | str) -> bool:
    return key[0] == frame if isinstance(frame, str) else key == frame


def _unique(keys: Iterable[FrameKey]) -> list[FrameKey]:
    return list(dict.fromkeys(keys))


def profile(trace: ExecTrace, disassembly: Disassembly) -> CycleProfile:
    return CycleProfile(trace, estimate_contexts(trace, disassembly))


def profile_elf(elf: Path, arguments: Sequence[str], *, machine: str, cwd: Path, split: Iterable[str] = (),
                timeout: float | None = None) -> tuple[TracedRun, CycleProfile]:
    """Run ``elf`` under QEMU with its execution log and estimate the cycles of everything it ran."""
    disassembly = disassemble(elf)
    functions = {f.start: f.name for f in disassembly.functions}
    call_sites = {a: disassembly.instructions[a].next_address for a, t in timings_of(disassembly).items() if t.links}
    extra = {} if timeout is None else {"timeout": timeout}
    sizes = {a: i.size for a, i in disassembly.instructions.items()}
    run = trace_elf(elf, arguments, machine=machine, cwd=cwd, functions=functions, call_sites=call_sites,
                    split=split, sizes=sizes, **extra)
    return run, profile(run.trace, disassembly)
