"""The Cortex-M4 cycle estimate (kws.firmware.cycles, cortex_m4, exec_trace, disassembly).

The tests that run QEMU skip where arm-none-eabi-gcc or qemu-system-arm is not on PATH
(scripts/setup.sh installs both); the timing table and the log parser are checked everywhere.

What the hand counts check: that the estimate applies the Cortex-M4 TRM's rules (as
kws.firmware.cortex_m4 states them) to every instruction QEMU ran, exactly, for loops where
each rule matters. They do not check the TRM against silicon (no hardware here); the stated
bounds are the TRM's own ranges.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from firmware_helpers import DEFAULT_MACS, needs_frontend_toolchain, needs_toolchain, real_speech
from kws.cli import main
from kws.firmware.cortex_m4 import Cost, refill, split_mnemonic, timing, transition
from kws.firmware.disassembly import Instruction, parse_functions, parse_instructions
from kws.firmware.exec_trace import parse_exec_log
from kws.model_file import load_model

LOOPS = Path(__file__).resolve().parent / "asm" / "cycle_loops.S"


def _instruction(mnemonic: str, operands: str = "", size: int = 2) -> Instruction:
    return Instruction(0x100, size, mnemonic, operands)


# --- the timing table (no toolchain needed) -------------------------------------------------------


@pytest.mark.parametrize("mnemonic, expected", [
    ("ldr.w", ("ldr", None)), ("addseq", ("add", "eq")), ("bls.n", ("b", "ls")), ("bics", ("bic", None)),
    ("bl", ("bl", None)), ("bcs.n", ("b", "cs")), ("mls", ("mls", None)), ("smlal", ("smlal", None)),
    ("sdivmi", ("sdiv", "mi")), ("ldrshne.w", ("ldrsh", "ne")), ("itete", ("itete", None)),
    ("vmov.f32", ("vmov", None)), ("negs", ("neg", None)), ("teq", ("teq", None)),
])
def test_mnemonics_split_into_instruction_and_condition(mnemonic, expected):
    assert split_mnemonic(mnemonic) == expected


def test_timings_follow_the_trm_table():
    def central(mnemonic, operands=""):
        return timing(_instruction(mnemonic, operands)).cycles

    assert central("adds", "r3, #3") == central("smlad", "r3, r3, r4, r2") == central("umull", "r0, r1, r2, r3") == 1
    assert central("ldr", "r1, [sp, #96]") == 2 and central("str", "r1, [sp, #96]") == 1
    assert central("str", "r2, [r0, r4]") == 2 and central("ldrd", "r3, r1, [r0, #32]") == 3
    assert central("push", "{r4, r5, r6, r7, lr}") == 6 and central("ldmia.w", "sp!, {r4, r5, r6, r7, r8}") == 6
    assert central("vpush", "{d8-d9}") == 5 and central("vmla.f32", "s0, s1, s2") == 3
    assert central("vdiv.f32", "s0, s1, s2") == 14
    pop_pc = timing(_instruction("pop", "{r4, pc}"))
    assert (pop_pc.kind, pop_pc.cycles, pop_pc.writes_pc, pop_pc.conditional) == ("branch", 3, True, False)
    divide = timing(_instruction("sdiv", "r6, r1, r2", 4))
    assert (divide.low, divide.cycles, divide.high) == (2, 7, 12)
    assert timing(_instruction(".word", "0x20000100")) is None


def test_pairs_pipeline_refill_and_stall():
    load = timing(_instruction("ldr.w", "r1, [r0], #4", 4))
    assert transition(load, timing(_instruction("ldr.w", "r2, [r0], #4", 4))) == Cost(-1, -1, -1)
    assert transition(load, timing(_instruction("ldr", "r2, [r1]"))) == Cost()  # uses the loaded register
    assert transition(load, timing(_instruction("str", "r2, [r0, r4]"))) == Cost(-1, -1, -1)
    assert transition(load, timing(_instruction("str", "r2, [r0, #4]"))) == Cost()  # already 1 cycle
    add = timing(_instruction("adds", "r1, r0, r4"))
    assert transition(add, timing(_instruction("ldr", "r2, [r1]"))) == Cost(1, 0, 1)
    assert transition(add, timing(_instruction("ldr", "r1, [r2]"))) == Cost()
    bne = timing(_instruction("bne.n", "2a <f+0x2>"))
    assert refill(bne, branched=True) == Cost(2, 1, 3) and refill(bne, branched=False) == Cost()
    assert refill(timing(_instruction("b.n", "2a <f+0x2>")), branched=False) == Cost(2, 1, 3)


def test_objdump_lines_parse():
    text = ("    12c6:\tf8d0 8008 \tldr.w\tr8, [r0, #44]\t@ 0x2c\n"
            "    12ca:\t9160      \tstr\tr1, [sp, #384]\t@ 0x180\n"
            "  24:\t00020026 \t.word\t0x00020026\n")
    instructions = parse_instructions(text)
    assert instructions[0x12c6] == Instruction(0x12c6, 4, "ldr.w", "r8, [r0, #44]")
    assert instructions[0x12ca].size == 2 and instructions[0x12ca].operands == "r1, [sp, #384]"
    functions = parse_functions("000012c1 l     F .text\t00000428 conv_pointwise_dense8\n"
                                "000012c1 g     F .text\t00000428 alias\n00000000 l    df *ABS*\t00000000 x.c\n")
    assert [(f.name, f.start, f.end) for f in functions] == [("conv_pointwise_dense8", 0x12c0, 0x12c0 + 0x428)]


def test_objdump_is_told_the_architecture_only_for_armv8_1m():
    """binutils 2.40 lists the M55's CINC/CSEL as <UNDEFINED> unless told armv8.1-m.main; the
    M4's and M7's images keep objdump's default (the timings table's mnemonics)."""
    from kws.firmware.disassembly import arch_options

    assert arch_options("  Tag_CPU_name: \"cortex-m55\"\n  Tag_CPU_arch: v8.1-M.mainline\n") == ("-m", "armv8.1-m.main")
    assert arch_options("  Tag_CPU_name: \"cortex-m4\"\n  Tag_CPU_arch: v7E-M\n") == ()
    assert arch_options("") == ()


def test_the_log_parser_follows_blocks_calls_and_corrections():
    """A hand-written log in QEMU 7.2's format: main (0x10) calls f (0x40) from 0x14, f
    tail-calls g (0x50) from 0x42 and g returns to 0x18; one block is logged but stopped before
    it ran, one is rewound."""
    log = b"""----------------
IN: main
0x00000010:  2001       movs r0, #1
0x00000014:  f000 f814  bl #0x40

Trace 0: 0x7f0000000100 [00000000/00000010/00000110/ff020200] main
----------------
IN: f
0x00000040:  3001       adds r0, #1
0x00000042:  e005       b #0x50

Trace 0: 0x7f0000000200 [00000000/00000040/00000110/ff020200] f
----------------
IN: g
0x00000050:  4770       bx lr

Trace 0: 0x7f0000000280 [00000000/00000050/00000110/ff020200] g
----------------
IN: main
0x00000018:  2002       movs r0, #2
0x0000001a:  2003       movs r0, #3
0x0000001c:  e7f8       b #0x10

Trace 0: 0x7f0000000300 [00000000/00000018/00000110/ff020200] main
Stopped execution of TB chain before 0x7f0000000300 [00000018] main
Trace 0: 0x7f0000000300 [00000000/00000018/00000110/ff020200] main
cpu_io_recompile: rewound execution of TB to 0000001a
""".splitlines(keepends=True)
    trace = parse_exec_log(log, functions={0x10: "main", 0x40: "f", 0x50: "g"}, call_sites={0x14: 0x18})
    main_, f, g = ("main", None, None), ("f", 0x14, None), ("g", 0x42, None)
    assert trace.contexts == [(main_,), (main_, f), (main_, f, g)]
    runs = {(trace.contexts[c][-1][0], trace.blocks[b]): n for (c, b), n in trace.block_runs.items()}
    assert runs == {("main", (0x10, 0x14)): 1, ("f", (0x40, 0x42)): 1, ("g", (0x50,)): 1, ("main", (0x18,)): 1}
    assert trace.instructions() == 6
    assert set(trace.transfers) == {(0, 1, 0x14, 0x40), (1, 2, 0x42, 0x50), (2, 0, 0x50, 0x18)}
    assert trace.entries == {0: 1, 1: 1, 2: 1}


def test_the_log_parser_joins_the_halfwords_of_an_instruction_qemu_cannot_list():
    """QEMU 7.2 lists Armv8.1-M's DLS and LE (the Cortex-M55's low-overhead loops) as two
    halfwords each; with the image's instruction sizes the parser counts each once (as -icount
    does), and without them it keeps what QEMU listed."""
    log = b"""----------------
IN: f
0x0000004c:  f045       .byte    0x45, 0xf0
0x0000004e:  e001       b        #0x54
0x00000050:  2200       movs     r2, #0

Trace 0: 0x7f0000000100 [00000000/0000004c/00000110/ff020200] f
----------------
IN: f
0x00000052:  3401       adds     r4, #1
0x00000054:  f00f       .byte    0x0f, 0xf0
0x00000056:  c81d       ldm      r0!, {r0, r2, r3, r4}

Trace 0: 0x7f0000000200 [00000000/00000052/00000110/ff020200] f
Trace 0: 0x7f0000000200 [00000000/00000052/00000110/ff020200] f
""".splitlines(keepends=True)
    sizes = {0x4c: 4, 0x50: 2, 0x52: 2, 0x54: 4}  # dls lr, r5; movs; adds; le lr, 0x52
    trace = parse_exec_log(log, functions={0x4c: "f"}, call_sites={}, sizes=sizes)
    assert trace.blocks == [(0x4c, 0x50), (0x52, 0x54)]
    assert trace.instructions() == 2 + 2 * 2
    assert parse_exec_log(log, functions={0x4c: "f"}, call_sites={}).instructions() == 3 + 2 * 3


@needs_toolchain
def test_the_log_holds_what_icount_counted_on_the_m55(tmp_path):
    """On the Cortex-M55 (GCC's DLS/LE loops in the kernels) the log's instructions per
    inference equal the board counter's too (resolution 31.25): what bench_firmware.py --board
    qemu-mps3-an547 reports per layer."""
    from kws.firmware.infer import build_infer, profile_infer

    build = build_infer(load_model().tflite, tmp_path, board="qemu-mps3-an547", kernels="dsp")
    inputs = np.random.default_rng(0).integers(-128, 128, (1, *build.model.input_shape), dtype=np.int8)
    result = profile_infer(build, inputs)
    per_read = result.profile.within("board_counter_now").instructions / result.profile.calls("board_counter_now")
    for counted, estimate in zip(result.instructions, result.cycles):
        assert abs(estimate.instructions - int(counted)) <= 32 + 2 * per_read
    assert sum(layer.estimate.instructions for layer in result.layers) <= result.cycles[0].instructions


# --- hand-counted loops in QEMU ------------------------------------------------------------------------

# Each loop's cycles as the TRM's rules give them, counted by hand instruction by instruction,
# as a function of what the TRM leaves open: the refill P, IT (1, or 0 folded), the
# address-dependency stall (1 or 0), SDIV (2..12) and a literal-pool load's extra cycle.
CENTRAL = dict(p=2, it=1, stall=1, div=7, literal=0)
LOW = dict(p=1, it=0, stall=0, div=2, literal=0)
HIGH = dict(p=3, it=1, stall=1, div=12, literal=1)

HAND_COUNTS = {
    # movs 1; 10 x (adds 1, eors 1, subs 1, bne 1), 9 taken +P; bx lr 1+P
    "alu_loop": (42, lambda p, it, stall, div, literal: 1 + 10 * 4 + 9 * p + 1 + p),
    # ldr literal 2 (+1); movs 1, movs 1; 10 x (ldr 2, ldr 1 pipelined, smlad 1, subs 1, bne 1), 9 taken; bx
    "load_loop": (54, lambda p, it, stall, div, literal: 2 + literal + 2 + 10 * 6 + 9 * p + 1 + p),
    # mov.w 1; str [r0] 1 + stall (r0 just written); movs 1, movs 1;
    # 10 x (ldr 2, ldr [r1] 2 (r1 just loaded: no pipelining), str [r0,r4] 1 (pipelined after a
    # load), str [r0,r4] 2 (after a store: not), subs 1, bne 1), 9 taken; bx
    "dependent_loads": (65, lambda p, it, stall, div, literal: 1 + 1 + stall + 2 + 10 * 9 + 9 * p + 1 + p),
    # mov.w, movs, movs 3; 10 x (adds r1 1, ldr [r1] 2 + stall, str [r0,r4] 1 pipelined, subs 1, bne 1); bx
    "address_stall": (54, lambda p, it, stall, div, literal: 3 + 10 * (6 + stall) + 9 * p + 1 + p),
    # push 4 regs 1+4; ldrd 3; strd 3; ldmia 4 regs 1+4; stmia 1+4; bl 1+P; pop 4 regs with pc 1+4+P
    "stack_frame": (7, lambda p, it, stall, div, literal: 5 + 3 + 3 + 5 + 5 + 1 + p + 5 + p),
    "leaf": (1, lambda p, it, stall, div, literal: 1 + p),  # bx lr
    # movs x3; 10 x (mla 1, smull 1, smlal 1, sdiv, subs 1, bne 1), 9 taken; bx
    "multiply_loop": (64, lambda p, it, stall, div, literal: 3 + 10 * (5 + div) + 9 * p + 1 + p),
    # movs 1; 4 x (cmp 1, ite, moveq 1, movne 1, subs 1, cbz 1); cbz taken once +P; b 1b 3 x (1+P); bx
    "branches": (29, lambda p, it, stall, div, literal: 1 + 4 * (5 + it) + p + 3 * (1 + p) + 1 + p),
}


def _hand(name: str) -> tuple[int, Cost]:
    instructions, cycles = HAND_COUNTS[name]
    return instructions, Cost(cycles(**CENTRAL), cycles(**LOW), cycles(**HIGH))


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    from kws.firmware import toolchain
    from kws.firmware.cycles import profile_elf

    work = tmp_path_factory.mktemp("cycle_loops")
    elf = work / "loops.elf"
    subprocess.run([toolchain.require_toolchain(), "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-nostartfiles",
                    "-Wl,-Ttext=0", "-o", str(elf), str(LOOPS)], check=True, capture_output=True)
    run, result = profile_elf(elf, ["loops"], machine="mps2-an386", cwd=work)
    assert run.returncode == 0, run.stderr
    return result


@needs_toolchain
@pytest.mark.parametrize("name", sorted(HAND_COUNTS))
def test_each_hand_counted_function_alone(loops, name):
    """The function's own instructions and cycles (callees apart), central and both bounds."""
    estimate = loops.total(lambda path: path[-1][0] == name)
    assert loops.calls(name) == 1
    assert (estimate.instructions, estimate.cost) == _hand(name)
    assert not estimate.unknown and not estimate.unexplained


@needs_toolchain
def test_a_caller_includes_its_callee(loops):
    own, leaf = _hand("stack_frame"), _hand("leaf")
    inclusive = loops.within("stack_frame")
    assert (inclusive.instructions, inclusive.cost) == (own[0] + leaf[0], own[1] + leaf[1])
    assert loops.children("stack_frame") == [("leaf", loops.frames("leaf")[0][1], None)]


# --- the default model -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_profile(tmp_path_factory):
    from kws.firmware.infer import build_infer, profile_infer

    build = build_infer(load_model().tflite, tmp_path_factory.mktemp("cycles_default"), kernels="dsp")
    inputs = np.random.default_rng(0).integers(-128, 128, (2, *build.model.input_shape), dtype=np.int8)
    return build, profile_infer(build, inputs)


@needs_toolchain
def test_the_log_holds_what_icount_counted(default_profile):
    """Each inference's instructions in the log equal the board counter's (resolution 40, and
    the counter reads around the call, whose instructions the log counts too)."""
    build, result = default_profile
    reads = result.profile.within("board_counter_now")
    per_read = reads.instructions / result.profile.calls("board_counter_now")
    for counted, estimate in zip(result.instructions, result.cycles):
        assert abs(estimate.instructions - int(counted)) <= 40 + 2 * per_read
    assert not result.profile.total().unknown and not result.profile.total().unexplained


@needs_toolchain
def test_the_default_model_costs_more_cycles_than_instructions(default_profile):
    """Loads and taken branches make a Cortex-M4 slower than one instruction a cycle: MACs per
    estimated cycle below MACs per instruction, the bounds around the estimate, and the layers
    add up to the inference."""
    build, result = default_profile
    first = result.cycles[0]
    assert first.cost.low <= first.cycles <= first.cost.high
    assert DEFAULT_MACS / first.cycles < DEFAULT_MACS / first.instructions
    assert [op.kernel for op in result.layers] == [c[1] for c in build.model.kernel_calls]
    layered = sum(op.estimate.cycles for op in result.layers)
    total = sum(estimate.cycles for estimate in result.cycles)
    assert layered <= total <= layered * 1.001  # the rest: kws_model_invoke's own few instructions


# --- the command line ------------------------------------------------------------------------------------


@needs_toolchain
def test_infer_cycles_on_the_command_line(tmp_path, capsys):
    """--cycles adds each inference's estimate and a last line of layers; outputs and
    instruction counts are those of the plain run (the log changes nothing that runs)."""
    model = load_model()
    np.save(tmp_path / "x.npy", np.random.default_rng(5).integers(-128, 128, (1, model.n_frames, model.mfcc.n_mfcc, 1),
                                                                   dtype=np.int8))
    argv = ["firmware", "infer", "--model", str(model.json_path), "--inputs", str(tmp_path / "x.npy"), "--json",
            "--build-dir", str(tmp_path / "build")]
    assert main(argv) == 0
    plain = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main([*argv, "--cycles"]) == 0
    traced, layers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {k: traced[k] for k in ("output", "instructions")} == plain[0]
    low, high = traced["cycles_range"]
    assert low <= traced["cycles"] <= high and traced["cycles"] > traced["instructions"]
    assert [layer["op"] for layer in layers["layers"]] == list(range(12))
    assert sum(layer["instructions"] for layer in layers["layers"]) <= traced["instructions"]


@needs_frontend_toolchain
def test_run_cycles_on_the_command_line(tmp_path, capsys):
    """`kws firmware run --cycles` prints what the plain run prints, with cycles in its summary."""
    wav = tmp_path / "words.wav"
    sf.write(wav, real_speech(2), 16000)
    argv = ["firmware", "run", "--json", "--build-dir", str(tmp_path / "build"), str(wav)]
    assert main(argv) == 0
    plain = capsys.readouterr().out.splitlines()
    assert main([*argv, "--cycles"]) == 0
    traced = capsys.readouterr().out.splitlines()
    assert traced[:-1] == plain[:-1]
    summary, before = json.loads(traced[-1])["summary"], json.loads(plain[-1])["summary"]
    assert {k: v for k, v in summary.items() if not k.startswith("cycle")} == before
    for what in ("per_mfcc_frame", "per_inference"):
        low, high = summary[f"cycles_{what}_range"]
        assert summary[f"instructions_{what}"] < low <= summary[f"cycles_{what}"] <= high
    assert summary["cycles_max_inference"] >= summary["cycles_per_inference"]
