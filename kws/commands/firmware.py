"""``kws firmware``: the int8 network on the firmware's kernels, in QEMU.

So far one action, ``infer``; ``build`` and ``run`` (the whole always-on image: frontend, model
and detector) come with the rest of the firmware issue.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

INFER_DESCRIPTION = """\
Run an int8 .tflite model alone on the firmware's plain-C int8 kernels, in QEMU: C is generated
from the model, built for the board and fed the int8 tensors of --inputs (a .npy of shape
[N, *input shape]); prints one line per input, {"output": [...], "instructions": n} with
--json. Instruction counts come from QEMU's -icount with SysTick (instructions, not cycles).
Needs arm-none-eabi-gcc with newlib and qemu-system-arm (bash scripts/setup.sh installs them).
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("firmware", help="run models on the firmware's kernels in QEMU",
                                   description="The firmware: so far `kws firmware infer`.")
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    infer = actions.add_parser("infer", help="run an int8 .tflite on given input tensors in QEMU",
                               description=INFER_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    infer.add_argument("--board", default="qemu-mps2-an386", choices=("qemu-mps2-an386",))
    infer.add_argument("--model", metavar="M", required=True,
                       help="an int8 .tflite (or a kws model: its .json, or a folder with model.json)")
    infer.add_argument("--inputs", metavar="X.npy", type=Path, required=True, help="int8 array [N, *input shape]")
    infer.add_argument("--json", action="store_true", help="JSON lines")
    infer.add_argument("--build-dir", type=Path, help="where to build (default: a temporary folder)")
    infer.set_defaults(run=run_infer)


def _model_bytes(model: str) -> bytes:
    from ..errors import KwsError
    from ..model_file import load_model

    path = Path(model)
    if path.suffix == ".tflite" and not path.with_suffix(".json").exists():
        try:
            return path.read_bytes()
        except OSError as error:
            raise KwsError(f"cannot read {path}: {error.strerror or error}") from None
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
    return inputs


def run_infer(args: argparse.Namespace) -> int:
    import tempfile

    from ..errors import KwsError
    from ..firmware.infer import build_infer, run_infer as run

    content = _model_bytes(args.model)
    inputs = _inputs(args.inputs)
    with tempfile.TemporaryDirectory(prefix="kws-firmware-") as tmp:
        image = build_infer(content, args.build_dir or Path(tmp), board=args.board)
        expected = tuple(image.model.input_shape)
        if tuple(inputs.shape[1:]) != expected and inputs[0].size != image.model.input_size:
            raise KwsError(f"{args.inputs}: inputs of shape {inputs.shape[1:]} do not fit the model's {expected}")
        outputs, instructions = run(image, inputs.reshape(len(inputs), *expected))
    for output, count in zip(outputs, instructions):
        values = [int(v) for v in output.reshape(-1)]
        if args.json:
            print(json.dumps({"output": values, "instructions": int(count)}))
        else:
            print(f"{count:>12,d} instructions  output {values}")
    return 0
