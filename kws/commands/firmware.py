"""``kws firmware``: build the always-on image for a board, run it in QEMU, or run a network
alone on the firmware's kernels.

    kws firmware build --board B [--model M] --out DIR
    kws firmware run   --board qemu-mps2-an386 [--model M] [--json] [--cycles] FILE.wav
    kws firmware infer --board qemu-mps2-an386 --model M.tflite --inputs X.npy [--json] [--cycles]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

INFER_DESCRIPTION = """\
Run an int8 .tflite model alone on the firmware's int8 kernels (the DSP extension's, or with
--kernels plain the plain C ones, same integers), in QEMU: C is generated
from the model, built for the board and fed the int8 tensors of --inputs (a .npy of shape
[N, *input shape]); prints one line per input, {"output": [...], "instructions": n} with
--json. Instruction counts come from QEMU's -icount with SysTick (instructions, not cycles).
With --cycles each line also carries estimated Cortex-M4 cycles ("cycles", "cycles_range": the
bounds), and a last line {"layers": [...]} gives each kernel call's instructions and cycles
per inference (see --cycles).
Needs arm-none-eabi-gcc with newlib and qemu-system-arm (bash scripts/setup.sh installs them).
"""


BUILD_DESCRIPTION = """\
Build the always-on image of a model for a board: CMSIS-DSP's MFCC (plain C, bit-exact with
kws features), the int8 network generated from the model, the streaming detector with the
same integers as `kws detect`, and the board's start-up code. Writes kws.elf, kws.bin, kws.hex,
size.json ({"flash", "ram", ...}; flash = text + data, RAM = data + bss + the deepest stack
path measured with gcc's -fstack-usage) and build files into --out, then one summary line.
QEMU boards get an app that reads audio from the host (`kws firmware run`); nano33ble gets
the microphone app (untested on hardware; see firmware/boards/README.md).
"""

RUN_DESCRIPTION = """\
Run the whole pipeline on an audio file inside QEMU: the image of `kws firmware build` is
built (incrementally, in --build-dir or a temporary folder) and fed the file one hop at a
time. With --json it prints the lines of `kws detect --scores` ({"frame", "scores"} for every
inference and {"time", "keyword", "score"} for every detection), then
{"summary": {...}} with the instructions per MFCC frame and per inference (QEMU -icount:
instructions, not cycles); with --cycles also estimated Cortex-M4 cycles per MFCC frame and per
inference, with their bounds. Without --json, the detections and a summary.
"""

CYCLES_HELP = ("also estimate Cortex-M4 cycles: QEMU logs every executed block, each instruction is weighed with "
               "the Cortex-M4 TRM's timings (zero wait states; branch refill P=2, bounds from P=1..3, division "
               "2..12 cycles); about ten times slower than a plain run (kws.firmware.cycles)")


def _add_kernels_option(parser: argparse.ArgumentParser) -> None:
    from ..firmware.sources import DEFAULT_KERNELS, KERNELS

    parser.add_argument("--kernels", choices=KERNELS, default=DEFAULT_KERNELS,
                        help="int8 kernels: the DSP extension's (SMLAD/SXTB16, ~5x fewer instructions) or plain C; "
                             "the same integers either way (default: %(default)s)")


def register(subparsers) -> None:
    from ..firmware.boards import DEFAULT_BOARD, board_names
    from .detect import add_detector_options

    parser = subparsers.add_parser("firmware", help="build the Cortex-M image, run it in QEMU",
                                   description="The firmware: fetch what it is built from, once (`setup`), build "
                                               "an image for a board (`build`), run the whole pipeline in QEMU "
                                               "(`run`), or a network alone (`infer`).")
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    setup = actions.add_parser(
        "setup", help="fetch CMSIS-DSP's C sources once (the only step that uses the network)",
        description="Download the pinned cmsisdsp sdist with pip (pip's index settings and proxies apply), check "
                    "its sha256 and extract its C sources into the cache ($KWS_CACHE/cmsisdsp or "
                    "~/.cache/kws/cmsisdsp). Builds never download; they ask for this once. Offline: put the "
                    "sdist in that folder first.")
    setup.set_defaults(run=run_setup)
    build = actions.add_parser("build", help="build the image of a model for a board",
                               description=BUILD_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("--board", default=DEFAULT_BOARD, choices=board_names())
    add_detector_options(build)
    _add_kernels_option(build)
    build.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    build.add_argument("--json", action="store_true", help="print size.json instead of a summary line")
    build.set_defaults(run=run_build)

    run = actions.add_parser("run", help="run the whole pipeline on an audio file in QEMU",
                             description=RUN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("file", metavar="FILE", help="wav, flac or ogg file")
    run.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(qemu_only=True))
    add_detector_options(run)
    _add_kernels_option(run)
    run.add_argument("--json", action="store_true", help="JSON lines, as kws detect --scores, then a summary")
    run.add_argument("--cycles", action="store_true", help=CYCLES_HELP)
    run.add_argument("--build-dir", type=Path, help="where to build (default: a temporary folder)")
    run.set_defaults(run=run_run)
    infer = actions.add_parser("infer", help="run an int8 .tflite on given input tensors in QEMU",
                               description=INFER_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    infer.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(qemu_only=True))
    infer.add_argument("--model", metavar="M", required=True,
                       help="an int8 .tflite (or a kws model: its .json, or a folder with model.json)")
    infer.add_argument("--inputs", metavar="X.npy", type=Path, required=True, help="int8 array [N, *input shape]")
    _add_kernels_option(infer)
    infer.add_argument("--json", action="store_true", help="JSON lines")
    infer.add_argument("--cycles", action="store_true", help=CYCLES_HELP)
    infer.add_argument("--build-dir", type=Path, help="where to build (default: a temporary folder)")
    infer.set_defaults(run=run_infer)


def run_setup(args: argparse.Namespace) -> int:
    from ..firmware.cmsis_dsp import cmsis_dsp_sources

    sources = cmsis_dsp_sources(download=True)
    print(f"CMSIS-DSP {sources.version} sources ready in {sources.root}")
    return 0


def _model_bytes(model: str) -> bytes:
    from ..errors import KwsError
    from ..model_file import flatbuffer_signature, load_model

    path = Path(model)
    if path.suffix == ".tflite" and not path.with_suffix(".json").exists():
        try:
            content = path.read_bytes()
        except OSError as error:
            raise KwsError(f"cannot read {path}: {error.strerror or error}") from None
        if not content:
            raise KwsError(f"{path} is empty (0 bytes)")
        flatbuffer_signature(content, path)  # the model reader's check of a bare flatbuffer: one line if it is not one
        return content
    return load_model(path).tflite


def _inputs(path: Path):
    import numpy as np

    from ..errors import KwsError

    try:
        inputs = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise KwsError(f"{path} is not a readable .npy file ({error})") from None
    if inputs.dtype != np.int8 or inputs.ndim < 2:
        raise KwsError(f"{path}: expected an int8 array [N, *input shape], got {inputs.dtype} {inputs.shape}")
    if len(inputs) == 0:
        raise KwsError(f"{path} holds no inputs (shape {inputs.shape}): nothing to run")
    return inputs


def _check_cycles(args: argparse.Namespace) -> None:
    """--cycles only where the estimate models the board's core: it weighs with the Cortex-M4's
    timings, which would be wrong, not merely rough, on a dual-issue M7 or a Helium M55."""
    from ..errors import KwsError
    from ..firmware.boards import get_board
    from ..firmware.cycles import CORE, models

    board = get_board(args.board)
    if args.cycles and not models(board):
        raise KwsError(f"--cycles: the cycle estimate models the {CORE} only, and {board.name} is a {board.core}; "
                       "its instruction counts (without --cycles) are exact")


def run_infer(args: argparse.Namespace) -> int:
    import tempfile

    from ..errors import KwsError
    from ..firmware.infer import build_infer, profile_infer, run_infer as run

    from ..outputs import check_outputs

    _check_cycles(args)
    content = _model_bytes(args.model)
    inputs = _inputs(args.inputs)
    check_outputs(folders={"--build-dir": args.build_dir}, inputs={"--model": args.model, "--inputs": args.inputs})
    with tempfile.TemporaryDirectory(prefix="kws-firmware-") as tmp:
        image = build_infer(content, args.build_dir or Path(tmp), board=args.board, kernels=args.kernels)
        expected = tuple(image.model.input_shape)
        if tuple(inputs.shape[1:]) != expected and inputs[0].size != image.model.input_size:
            raise KwsError(f"{args.inputs}: inputs of shape {inputs.shape[1:]} do not fit the model's {expected}")
        shaped = inputs.reshape(len(inputs), *expected)
        profiled = profile_infer(image, shaped) if args.cycles else None
        outputs, instructions = (profiled.outputs, profiled.instructions) if profiled else run(image, shaped)
    for i, (output, count) in enumerate(zip(outputs, instructions)):
        values = [int(v) for v in output.reshape(-1)]
        line = {"output": values, "instructions": int(count)}
        if profiled:
            cost = profiled.cycles[i].cost
            line.update({"cycles": cost.cycles, "cycles_range": [cost.low, cost.high]})
        if args.json:
            print(json.dumps(line))
        else:
            estimate = f"  {line['cycles']:>12,d} cycles (est.)" if profiled else ""
            print(f"{count:>12,d} instructions{estimate}  output {values}")
    if profiled:
        _print_layers(profiled, len(inputs), args.json)
    return 0


def _print_layers(profiled, inferences: int, as_json: bool) -> None:
    """Each kernel call's instructions and estimated cycles, per inference."""
    from ..firmware.cycles import MODEL

    layers = [{"op": layer.op, "kernel": layer.kernel, **layer.estimate.per(inferences)} for layer in profiled.layers]
    if as_json:
        print(json.dumps({"layers": layers, "cycle_model": MODEL}))
        return
    print(f"per inference ({MODEL}):")
    for layer in layers:
        op = "" if layer["op"] is None else layer["op"]
        print(f"  op {op:>3} {layer['kernel']:<28} {layer['instructions']:>12,d} instructions "
              f"{layer['cycles']:>12,d} cycles ({layer['cycles_low']:,d}..{layer['cycles_high']:,d})")


def run_build(args: argparse.Namespace) -> int:
    from ..console import note
    from ..firmware.image import build_image, check_build_folder
    from ..model_file import load_model
    from ..outputs import check_outputs, restored_on_failure
    from .detect import detector_config

    model = load_model(args.model)
    detector = detector_config(args, model)
    check_outputs(folders={"--out": args.out}, inputs={"the model": [model.json_path, model.tflite_path]})
    check_build_folder(args.out)
    # A build that fails (or is stopped) leaves --out as it was: absent, or the previous build.
    with restored_on_failure(args.out):
        image = build_image(model, args.out, board=args.board, detector=detector, kernels=args.kernels)
    for source, text in image.warnings.items():
        note(f"compiler warnings in {source}:\n{text}")
    if args.json:
        print(json.dumps(image.record, indent=2))
    else:
        print(image.summary())
    return 0


def run_run(args: argparse.Namespace) -> int:
    import tempfile

    from ..audio import load_audio
    from ..console import note
    from ..detector import Detection
    from ..firmware.image import build_image
    from ..firmware.run import run_image
    from ..model_file import load_model
    from .detect import detector_config

    from ..outputs import check_outputs

    _check_cycles(args)
    model = load_model(args.model)
    config = detector_config(args, model)
    audio = load_audio(args.file, sample_rate=model.mfcc.sample_rate)
    check_outputs(folders={"--build-dir": args.build_dir},
                  inputs={"FILE": args.file, "the model": [model.json_path, model.tflite_path]})
    for message in audio.notes:
        note(message)
    with tempfile.TemporaryDirectory(prefix="kws-firmware-") as tmp:
        image = build_image(model, args.build_dir or Path(tmp), board=args.board, detector=config,
                            kernels=args.kernels)
        events, summary = run_image(image, model, audio.samples, cycles=args.cycles)
    detections = 0
    for event in events:
        if isinstance(event, Detection):
            detections += 1
            if args.json:
                print(json.dumps(event.to_dict()))
            else:
                print(f"{event.time:8.2f} s  {event.keyword:<8} {event.score:.3f}")
        elif args.json:
            print(json.dumps(event.to_dict()))
    if args.json:
        print(json.dumps({"summary": {"board": args.board, "kernels": args.kernels, **summary.to_dict()}}))
    else:
        note(f"{detections} detection{'s' if detections != 1 else ''} in {audio.duration:.1f} s on {args.board}: "
             f"{summary.instructions_per_frame:,.0f} instructions per MFCC frame, "
             f"{summary.instructions_per_inference:,.0f} per inference ({summary.inferences} inferences)")
        if summary.cycles is not None:
            frame = summary.cycles.per_frame(summary.frames)
            inference = summary.cycles.per_inference(summary.inferences)
            note(f"estimated Cortex-M4 cycles: {frame.cycles:,d} per MFCC frame ({frame.low:,d}..{frame.high:,d}), "
                 f"{inference.cycles:,d} per inference ({inference.low:,d}..{inference.high:,d})")
    return 0
