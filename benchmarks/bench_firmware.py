"""Firmware benchmark: instruction counts and estimated cycles on the Cortex-M4F (QEMU mps2-an386),
instruction counts on the other QEMU boards (--board; e.g. the Cortex-M55 of qemu-mps3-an547).

    python benchmarks/bench_firmware.py [--board B] [--json J]
    python benchmarks/bench_firmware.py --random-models [--seed S] [--board B] [--json J]

The default --json is benchmarks/results/firmware.json for the default board (qemu-mps2-an386),
benchmarks/results/firmware_<board>.json for another; with --random-models
benchmarks/results/firmware_random.json (firmware_random_<board>.json).

QEMU runs with -icount shift=0 and the board reads SysTick, so the board's counts are
instructions (resolution 40), not cycles; they are deterministic. Cycles are estimated from
QEMU's execution log with the Cortex-M4 TRM's timings (kws.firmware.cycles: zero wait states,
branch refill P=2, with low/high bounds). Measured:
* one MFCC frame (kws_frontend_process_frame: our own stages with the DSP extension, CMSIS-DSP's
  mel filters and DCT; the integers of arm_mfcc_q15's plain-C build), over noise: instructions,
  estimated cycles, and both by function (the frontend's stages);
* one inference of the shipped DS-CNN-S and of TFLM's micro_speech model, from the generated C,
  with the plain-C reference int8 kernels and with the DSP-extension kernels
  (firmware/src/int8_dsp/, bit-exact with the plain ones); MACs per instruction and per
  estimated cycle;
* instructions per operator of one inference (a build with KWS_PROFILE), plain and DSP, and
  each layer's instructions, estimated cycles and MACs from the execution log (the plain build);
* the inference images' sizes;
* with --random-models, instead of all that: the seeded random models of
  benchmarks/firmware_random_models.py (two small networks, single layers of odd shapes that
  take the slower paths), plain and DSP: instructions per inference, estimated cycles of the
  first, per layer with MACs, the kernel called and what it called (a DSP kernel's fallback).

Every model's outputs, plain and DSP, must equal LiteRT BUILTIN_REF's to 0 LSB on the inputs
measured, or the benchmark stops without figures for it.

The cycle estimate models the Cortex-M4 only (kws.firmware.cycles.models): on another core
(the Cortex-M7 and M55 issue two instructions a cycle in part, the M55 runs Helium in beats)
there is no cycle model here, and every figure is instructions (QEMU -icount; per layer and
per MFCC stage from the same execution log, instructions only).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dsp import MfccConfig  # noqa: E402
from kws.firmware.boards import DEFAULT_BOARD, board_names, get_board  # noqa: E402
from kws.firmware.cycles import MODEL, CycleEstimate, models, profile_elf  # noqa: E402
from kws.firmware.infer import INVOKE, build_infer, profile_infer, run_infer  # noqa: E402
from kws.firmware.mfcc_dump import APP as MFCC_DUMP, build_mfcc_dump, run_mfcc_dump  # noqa: E402
from kws.firmware.qemu import run_elf  # noqa: E402
from kws.firmware.sources import KERNELS  # noqa: E402
from kws.firmware.tflite_graph import read_graph  # noqa: E402
from kws.model_file import load_model  # noqa: E402

from firmware_helpers import litert_reference, random_inputs  # noqa: E402  (tests/)

DS_CNN_S_MACS = 2_656_768
#: micro_speech: DEPTHWISE_CONV_2D 10x8, multiplier 8, stride 2 (49x40x1 -> 25x20x8: 320,000)
#: and FULLY_CONNECTED 4,000 -> 4 (16,000).
MICRO_SPEECH_MACS = 336_000


def per_op(image, inputs: np.ndarray) -> list[dict]:
    """Instructions per operator of the first inference of a KWS_PROFILE build."""
    work = image.out_dir / "run"
    work.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(inputs[:1]).tofile(work / "inputs.raw")
    result = run_elf(image.elf, ["infer", "inputs.raw", "outputs.raw"], machine=image.board.qemu_machine,
                     cwd=work, timeout=300)
    rows = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "op" and parts[3] == "instructions":
            rows.append({"op": int(parts[1]), "kernel": parts[2], "instructions": int(parts[4])})
    return rows


def op_macs(content: bytes) -> dict[int, int]:
    """Multiply-accumulates of each weighted operator: every output element takes as many as its
    filter has weights (CONV_2D kh*kw*in, DEPTHWISE_CONV_2D kh*kw, FULLY_CONNECTED in)."""
    return {op.index: op.output.size * op.weights.size // op.output.shape[-1]
            for op in read_graph(content).ops if op.weights is not None}


def _ratio(macs: int, count: int) -> float | None:
    return round(macs / count, 3) if macs and count else None


def _figures(estimate: CycleEstimate, calls: int, cycles: bool) -> dict:
    """``estimate`` per call: instructions, and the estimated cycles where the board's core is modelled."""
    figures = estimate.per(calls)
    return figures if cycles else {"instructions": figures["instructions"]}


def _callees(profile, frame) -> list[str]:
    """The functions ``frame`` called directly (a DSP kernel's fallback to the plain one shows here)."""
    names = (path[i + 1][0] for path in profile.trace.contexts for i, key in enumerate(path[:-1]) if key == frame)
    return list(dict.fromkeys(names))


def per_layer(image, inputs: np.ndarray, macs: dict[int, int], cycles: bool) -> tuple[dict, list[dict]]:
    """One inference under the execution log: its estimate, and each kernel call's (instructions
    only without ``cycles``), with the functions each kernel call called."""
    profiled = profile_infer(image, inputs[:1])
    whole = profiled.cycles[0]
    layers = []
    for frame, layer in zip(profiled.profile.children(INVOKE), profiled.layers):
        n = macs.get(layer.op, 0)
        row = {"op": layer.op, "kernel": layer.kernel, "called": _callees(profiled.profile, frame),
               **_figures(layer.estimate, layer.calls, cycles), "macs": n,
               "macs_per_instruction": _ratio(n, round(layer.estimate.instructions / max(layer.calls, 1)))}
        if cycles:
            row["macs_per_cycle"] = _ratio(n, round(layer.estimate.cycles / max(layer.calls, 1)))
        layers.append(row)
    return (whole.to_dict() if cycles else {"instructions": whole.instructions}), layers


def measure(content: bytes, macs: int | None, out_dir: Path, inputs_per_run: int, rng, board, *,
            inputs: np.ndarray | None = None, operator_builds: bool = True, label: str | None = None) -> dict:
    """Plain vs DSP kernels on one model: instructions per inference, MACs per instruction and
    (where ``board``'s core is modelled) per estimated cycle, per layer; per op from a
    ``KWS_PROFILE`` build too where ``operator_builds``. ``inputs``: else ``inputs_per_run`` uniform
    ones from ``rng``. Refuses (SystemExit) where an image's outputs differ from LiteRT
    BUILTIN_REF's by any LSB."""
    cycles = models(board)
    result: dict = {}
    layer_macs = op_macs(content)
    for kernels in KERNELS:
        image = build_infer(content, out_dir / kernels, board=board.name, kernels=kernels)
        if inputs is None:
            inputs = rng.integers(-128, 128, (inputs_per_run, *image.model.input_shape), dtype=np.int8)
        outputs, instructions = run_infer(image, inputs)
        median = float(np.median(instructions))
        entry = {
            "instructions_per_inference_median": int(median),
            "image": {"text": image.size.text, "data": image.size.data, "bss": image.size.bss},
        }
        first, entry["per_layer"] = per_layer(image, inputs, layer_macs, cycles)
        entry["cycles_first_inference" if cycles else "first_inference"] = first
        if macs:
            entry["macs_per_instruction"] = macs / median
            if cycles:
                entry["macs_per_cycle"] = macs / first["cycles"]
        entry["kernels"] = [kernel for _, kernel in image.model.kernel_calls]
        if operator_builds:
            profiled = build_infer(content, out_dir / f"{kernels}_profile", board=board.name, kernels=kernels,
                                   profile=True)
            entry["per_op"] = per_op(profiled, inputs)
        result[kernels] = (entry, outputs)
    expected = litert_reference(content, inputs)
    for kernels, (_, outputs) in result.items():
        if not np.array_equal(outputs, expected):
            bad = np.argwhere(outputs != expected)[:5]
            raise SystemExit(f"{label or out_dir.name}, {kernels} kernels: {int(np.sum(outputs != expected))} of "
                             f"{outputs.size} outputs differ from LiteRT BUILTIN_REF, first at "
                             f"{[tuple(int(i) for i in b) for b in bad]}: got {[int(outputs[tuple(b)]) for b in bad]}, "
                             f"expected {[int(expected[tuple(b)]) for b in bad]}; no figures for it")
    out = {k: v[0] for k, v in result.items()}
    out["speedup"] = out["plain"]["instructions_per_inference_median"] / out["dsp"]["instructions_per_inference_median"]
    return out


def frontend_cycles(build, samples: np.ndarray, root: str = "kws_frontend_process_frame") -> dict:
    """One MFCC frame under the execution log: instructions and (where the board's core is
    modelled) estimated cycles per frame, and by function called from ``root`` (the frontend's
    stages: our own ones and CMSIS-DSP's)."""
    cycles = models(build.board)
    with tempfile.TemporaryDirectory() as work:
        samples.astype("<i2").tofile(Path(work) / "input.raw")
        _, profile = profile_elf(build.elf, [MFCC_DUMP, "input.raw", "mfcc.raw"], machine=build.board.qemu_machine,
                                 cwd=Path(work))
    frames = profile.calls(root)
    stages = {f"{root} (its own code)": profile.total(lambda path: path[-1][0] == root)}
    for frame in profile.children(root):  # a function called from two sites: summed
        stages.setdefault(frame[0], CycleEstimate()).add(profile.within(frame))
    return {"frames": frames, **_figures(profile.within(root), frames, cycles),
            "by_function": {name: _figures(e, frames, cycles) for name, e in stages.items()}}


def measure_random(board, seed: int, work: Path) -> dict:
    """``measure`` on each of firmware_random_models' models (the plain and DSP builds in one
    folder each, shared: only the model's C recompiles), on 5 uniform inputs and the three
    constant ones (tests/firmware_helpers.random_inputs)."""
    from firmware_random_models import random_models

    results = {}
    for i, (spec, content) in enumerate(random_models(seed)):
        layer_macs = op_macs(content)
        macs = sum(layer_macs.values())
        inputs = random_inputs(read_graph(content).input.shape, 5, seed + i)
        entry = measure(content, macs or None, work, len(inputs), None, board, inputs=inputs,
                        operator_builds=False, label=spec.name)
        results[spec.name] = {"description": spec.description, "ops": list(spec.ops), "macs": macs,
                              "inputs": len(inputs), **entry}
        print(f"{spec.name}: plain {entry['plain']['instructions_per_inference_median']:,}, dsp "
              f"{entry['dsp']['instructions_per_inference_median']:,} instructions; outputs = LiteRT BUILTIN_REF",
              file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(qemu_only=True),
                        help="the QEMU board (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/firmware.json for the default "
                                                  "board, firmware_<board>.json for another")
    parser.add_argument("--random-models", action="store_true",
                        help="instead: the seeded random models of benchmarks/firmware_random_models.py "
                             "(default --json: results/firmware_random.json, firmware_random_<board>.json)")
    parser.add_argument("--seed", type=int, default=None, help="with --random-models: the first model's seed "
                                                               "(default: firmware_random_models.SEED)")
    args = parser.parse_args()
    board = get_board(args.board)
    results_dir = ROOT / "benchmarks" / "results"
    if args.random_models:
        main_random(args, board, results_dir)
        return
    json_path = args.json or results_dir / ("firmware.json" if board.name == DEFAULT_BOARD
                                            else f"firmware_{board.name}.json")
    cycles = models(board)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        frontend = build_mfcc_dump(MfccConfig(), Path(tmp) / "mfcc", board=board.name)
        noise = rng.normal(0, 3000, 16000).round().clip(-32768, 32767).astype(np.int16)
        per_frame = run_mfcc_dump(frontend, noise).instructions
        mfcc_cycles = frontend_cycles(frontend, noise)
        model = load_model()
        ds_cnn = measure(model.tflite, DS_CNN_S_MACS, Path(tmp) / "ds_cnn_s", 5, rng, board)
        results = {
            **_run_facts(board),
            "mfcc_instructions_per_frame_median": int(np.median(per_frame)),
            "mfcc_cycles_per_frame" if cycles else "mfcc_per_frame": mfcc_cycles,
            # The plain build's figures under their original keys.
            "ds_cnn_s_instructions_per_inference_median": ds_cnn["plain"]["instructions_per_inference_median"],
            "ds_cnn_s_macs_per_instruction": ds_cnn["plain"]["macs_per_instruction"],
            "inference_image": ds_cnn["plain"]["image"],
            "ds_cnn_s": ds_cnn,
        }
        micro_speech = ROOT.parent / "shared" / "models" / "tflm_micro_speech_quantized.tflite"
        if micro_speech.exists():
            other = measure(micro_speech.read_bytes(), MICRO_SPEECH_MACS, Path(tmp) / "micro_speech", 3, rng,
                            board)
            results["micro_speech_instructions_per_inference_median"] = \
                other["plain"]["instructions_per_inference_median"]
            results["micro_speech"] = other
    _write(json_path, results)


def main_random(args, board, results_dir: Path) -> None:
    from firmware_random_models import SEED

    seed = SEED if args.seed is None else args.seed
    json_path = args.json or results_dir / ("firmware_random.json" if board.name == DEFAULT_BOARD
                                            else f"firmware_random_{board.name}.json")
    with tempfile.TemporaryDirectory() as tmp:
        measured = measure_random(board, seed, Path(tmp) / "random")
    _write(json_path, {**_run_facts(board), "seed": seed,
                       "check": "every model's outputs, plain and DSP, equal LiteRT BUILTIN_REF (0 LSB) on all its "
                                "inputs", "models": measured})


def _run_facts(board) -> dict:
    """When, where and how a run measured."""
    return {
        "date": date.today().isoformat(),
        "machine": platform.node() or "unknown",
        "board": f"{board.name} ({' '.join(board.cpu_flags)}), -O2; plain C or DSP extension (SXTB16/SMLAD)",
        "cycle_model": MODEL if models(board) else f"none: the estimate models the Cortex-M4 only, not {board.core}; "
                                                   "instructions (QEMU -icount) only",
    }


def _write(json_path: Path, results: dict) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
