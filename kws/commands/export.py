"""``kws export RUN``: the int8 model of a training run, with its accuracy at every stage."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="convert a training run to an int8 kws model",
        description="Full-integer int8 post-training quantisation of a run's best weights (fixed batch 1, "
                    "pinned calibration clips), written as OUT.tflite + OUT.json, and the validation "
                    "accuracy of the Keras float, TFLite float and TFLite int8 (reference kernels) models.")
    parser.add_argument("run_dir", metavar="RUN", type=Path, help="training run directory")
    parser.add_argument("--out", type=Path, metavar="OUT.json", help="model path (default RUN/model.json)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..extras import import_tensorflow

    import_tensorflow(what="kws export")
    from ..exporting import export_run
    from .train import _print_export

    _print_export(export_run(args.run_dir, args.out))
    return 0
