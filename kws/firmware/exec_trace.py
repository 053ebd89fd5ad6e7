"""What a QEMU run executed, block by block and call by call, from QEMU's own log:
``-d in_asm,exec,nochain``.

QEMU translates guest code in translation blocks (TBs): straight runs of instructions that end
at a branch (or a page boundary, or an I/O instruction under ``-icount``). With ``in_asm`` it
logs every translation ("IN:" and the guest addresses of its instructions) right before that
block first runs; with ``exec`` and ``nochain`` it logs every execution of a block ("Trace 0:
<host address of the translation> [.../<guest pc>/...]"). Two more lines correct the record:
"Stopped execution of TB chain before <host address>" (the block just logged did not run:
``-icount``'s budget ran out first) and "cpu_io_recompile: rewound execution of TB to <pc>"
(the block ran only up to that instruction, which is then run again in a block of its own).
So the log gives every executed instruction, in order, at about one line per 24 instructions
(7.3 M instructions of an inference: 0.3 M lines, about a second in QEMU 7.2).

:func:`parse_exec_log` folds that stream into counts, without keeping it: how often each block
ran, and each transfer from one block's last instruction to the next block's first, both by
*context*, the call path at that moment. Calls are followed from the addresses alone:

* a block after a BL/BLX (``call_sites``) that is not the instruction after it is a call: a
  new frame (the callee's name, the call site, the return address = the BL's next address);
* reaching the innermost frame's return address is its return;
* a block at a function's entry reached otherwise (a tail call ``b.w f``) is a frame inside
  the caller's, with the caller's return address: both return there together, and the caller
  counts what its tail call ran (as ``kws_frontend_process_frame`` did when it ended in ``b.w arm_mfcc_q15``).

A frame is named by (function, call site, ordinal): the ordinal counts the calls of the same
function from the same site, for the functions in ``split`` only (e.g. ``kws_model_invoke``,
one context per inference); other calls from one site share a context (e.g. the network's 13
kernels each have their own site in ``kws_model_invoke``, so one context per layer).

:func:`trace_elf` runs an image under QEMU with that log sent through a pipe (nothing is
written to disk) and returns the program's output and the :class:`ExecTrace`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..errors import KwsError
from .qemu import DEFAULT_TIMEOUT_S, qemu_command, require_qemu

#: (function name, call site or None, ordinal or None)
FrameKey = tuple[str, "int | None", "int | None"]
#: The frames from the outermost to the innermost.
CallPath = tuple[FrameKey, ...]

LOG_FLAGS = ("-d", "in_asm,exec,nochain")


@dataclass
class ExecTrace:
    #: Each distinct block that ran: its instructions' addresses.
    blocks: list[tuple[int, ...]] = field(default_factory=list)
    #: Each context (call path) met, in the order first met.
    contexts: list[CallPath] = field(default_factory=list)
    #: (context, block index) -> times it ran.
    block_runs: Counter = field(default_factory=Counter)
    #: (context before, context after, last address before, first address after) -> times.
    transfers: Counter = field(default_factory=Counter)
    #: context -> times its innermost frame was entered (called).
    entries: Counter = field(default_factory=Counter)

    def instructions(self) -> int:
        return sum(len(self.blocks[b]) * n for (_, b), n in self.block_runs.items())


@dataclass
class _Frame:
    key: FrameKey
    returns_to: int | None


class _Folder:
    """The state :func:`parse_exec_log` carries from line to line."""

    def __init__(self, functions: Mapping[int, str], call_sites: Mapping[int, int], split: frozenset[str]):
        self.functions = functions  # entry address -> name
        self.call_sites = call_sites  # BL/BLX address -> the address after it
        self.split = split
        self.trace = ExecTrace()
        self.block_ids: dict[tuple[int, ...], int] = {}
        self.context_ids: dict[CallPath, int] = {}
        self.ordinals: Counter = Counter()
        self.stack: list[_Frame] = []
        self.context = -1
        self.last: int | None = None

    def block_id(self, addresses: tuple[int, ...]) -> int:
        found = self.block_ids.get(addresses)
        if found is None:
            found = self.block_ids[addresses] = len(self.trace.blocks)
            self.trace.blocks.append(addresses)
        return found

    def _enter_context(self) -> int:
        path = tuple(frame.key for frame in self.stack)
        found = self.context_ids.get(path)
        if found is None:
            found = self.context_ids[path] = len(self.trace.contexts)
            self.trace.contexts.append(path)
        return found

    def _key(self, entry: int, site: int | None) -> FrameKey:
        name = self.functions.get(entry, f"0x{entry:x}")
        ordinal = None
        if name in self.split:
            ordinal = self.ordinals[(name, site)]
            self.ordinals[(name, site)] += 1
        return (name, site, ordinal)

    def ran(self, block: int) -> None:
        """Block ``block`` ran whole: follow calls and returns into it, then count it."""
        first = self.trace.blocks[block][0]
        before, last = self.context, self.last
        if last is None:
            self.stack = [_Frame(self._key(first, None), None)]
            self.context = self._enter_context()
            self.trace.entries[self.context] += 1
        elif first == self.stack[-1].returns_to and len(self.stack) > 1:
            while len(self.stack) > 1 and self.stack[-1].returns_to == first:  # a tail call's frames too
                self.stack.pop()
            self.context = self._enter_context()
        elif last in self.call_sites and first != self.call_sites[last]:
            self.stack.append(_Frame(self._key(first, last), self.call_sites[last]))
            self.context = self._enter_context()
            self.trace.entries[self.context] += 1
        elif first in self.functions and self.functions[first] != self.stack[-1].key[0]:
            self.stack.append(_Frame(self._key(first, last), self.stack[-1].returns_to))
            self.context = self._enter_context()
            self.trace.entries[self.context] += 1
        if last is not None:
            self.trace.transfers[(before, self.context, last, first)] += 1
        self.trace.block_runs[(self.context, block)] += 1
        self.last = self.trace.blocks[block][-1]


def parse_exec_log(lines: Iterable[bytes], *, functions: Mapping[int, str], call_sites: Mapping[int, int],
                   split: Iterable[str] = (), sizes: Mapping[int, int] | None = None) -> ExecTrace:
    """Fold QEMU's ``-d in_asm,exec,nochain`` log (``lines``, as bytes) into an :class:`ExecTrace`.

    ``functions``: entry address -> name (the image's symbols); ``call_sites``: the address of
    every BL/BLX -> the address after it; ``split``: function names whose calls each get a
    context of their own; ``sizes``: the image's instructions (address -> bytes, from objdump),
    where known. QEMU 7.2's listing disassembler does not know Armv8.1-M's low-overhead-loop
    instructions (DLS, LE: GCC emits them for the Cortex-M55) and lists each as two halfwords
    (".byte" and a bogus branch), though QEMU runs and counts it as one instruction; with
    ``sizes``, a listed address inside a 4-byte instruction is dropped, so the log's count stays
    -icount's. :class:`KwsError` for a log this parser cannot follow."""
    folder = _Folder(functions, call_sites, frozenset(split))
    translations: dict[bytes, int] = {}  # host address of a translation -> block index
    reading: list[int] | None = None  # addresses of the translation being listed
    translated: int | None = None  # the block just listed, until its first execution line
    pending: int | None = None  # the block last logged as run, until the next line confirms it
    for line in lines:
        if line.startswith(b"Trace "):
            parts = line.split(b" ", 4)
            host = parts[2]
            if translated is not None:
                translations[host] = translated
                translated = None
            block = translations.get(host)
            if block is None:
                raise KwsError(f"QEMU's log runs a block it never listed: {line.decode(errors='replace').strip()}")
            if pending is not None:
                folder.ran(pending)
            pending = block
        elif reading is not None:
            if line.startswith(b"0x"):
                address = int(line.split(b":", 1)[0], 16)
                if sizes is None or address in sizes or sizes.get(address - 2) != 4:
                    reading.append(address)
            else:  # the blank line after a listing
                if not reading:
                    raise KwsError("QEMU listed a translation without guest addresses (no disassembler in this "
                                   "QEMU build?)")
                translated = folder.block_id(tuple(reading))
                reading = None
        elif line.startswith(b"IN:"):
            reading = []
        elif line.startswith(b"Stopped execution of TB chain before "):
            pending = None  # that block did not run
        elif line.startswith(b"cpu_io_recompile: rewound execution of TB to "):
            stop = int(line.rsplit(b" ", 1)[1], 16)
            if pending is not None:
                done = tuple(a for a in folder.trace.blocks[pending] if a < stop)
                pending = folder.block_id(done) if done else None
    if pending is not None:
        folder.ran(pending)
    return folder.trace


@dataclass(frozen=True)
class TracedRun:
    returncode: int
    stdout: str
    stderr: str
    trace: ExecTrace


def trace_elf(elf: Path, arguments: Sequence[str], *, machine: str, cwd: Path, functions: Mapping[int, str],
              call_sites: Mapping[int, int], split: Iterable[str] = (), sizes: Mapping[int, int] | None = None,
              timeout: float = DEFAULT_TIMEOUT_S * 10) -> TracedRun:
    """Run ``elf`` in QEMU as :func:`kws.firmware.qemu.run_elf` does, with the execution log
    folded as it streams (:func:`parse_exec_log`). :class:`KwsError` if QEMU is missing or the
    run takes more than ``timeout`` seconds."""
    command = qemu_command(Path(elf).resolve(), arguments, machine=machine)
    command[0] = require_qemu()
    read_end, write_end = os.pipe()
    # QEMU opens its log file by name: /dev/fd/N reopens the pipe's write end it inherits.
    command[1:1] = [*LOG_FLAGS, "-D", f"/dev/fd/{write_end}"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       pass_fds=(write_end,))
        finally:
            os.close(write_end)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            with os.fdopen(read_end, "rb", buffering=1 << 20) as log:
                trace = parse_exec_log(log, functions=functions, call_sites=call_sites, split=split, sizes=sizes)
            returncode = process.wait()
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if returncode < 0:
        raise KwsError(f"{Path(elf).name} did not finish in {timeout:g} s under QEMU with its execution log (hung?)")
    return TracedRun(returncode, stdout, stderr, trace)
