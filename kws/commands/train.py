"""``kws train`` and ``kws distill``: train a DS-CNN on Speech Commands into a run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import KwsError
from ..validate import whole_number

TRAIN_DESCRIPTION = """\
Train a 12-class keyword model (Hello Edge's DS-CNN) on Speech Commands folders in their
standard layout. Settings come from an optional config file (JSON or TOML, the fields of
kws.training.TrainConfig), then from flags. The run directory gets config.json, labels.json,
split.json, history.csv, checkpoints, metrics.json, curves.png and confusion.png; run the
same command again to resume an interrupted run. Validation holds out speakers, never clips
of a training speaker. With --folds K --fold I the speakers are split into K folds: fold I is
the test fold (never trained on, never used to choose the epoch), --validation-percent of the
other speakers choose the epoch (benchmarks/bench_kfold.py runs every fold). Then
`kws export RUN` makes the int8 model.
"""

DISTILL_DESCRIPTION = """\
Train a student (DS-CNN-S by default) distilled from a trained teacher run: the loss mixes
the hard labels with the teacher's softened scores (temperature T, weight 1-alpha). Same
options and run directory as `kws train`. `--teacher embedding` distils from Google's speech
embedding (trained on real speech; pip install pyopen-wakeword) with a head trained on the
run's training clips: it labels each epoch's augmented audio, the student sees its MFCC.
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", type=Path, help="config file (.json or .toml); flags override it")
    parser.add_argument("--data", action="append", metavar="DIR",
                        help="Speech Commands folder (repeatable); default: the config file's, or ../shared/data's")
    parser.add_argument("--run", dest="run_dir", type=Path, help="run directory (default: runs/<architecture>-seed<seed>)")
    parser.add_argument("--architecture", choices=("ds-cnn-s", "ds-cnn-teacher"))
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--validation-percent", type=float,
                        help="share of speakers held out (0: train on all); with --folds, share of the "
                             "speakers outside the test fold that choose the best epoch")
    parser.add_argument("--folds", type=int, metavar="K",
                        help="k-fold validation by speakers: split them into K folds by a salted hash")
    parser.add_argument("--fold", type=int, metavar="I",
                        help="with --folds: fold I (0..K-1) is the test fold, never trained on nor chosen on; "
                             "kws export reports its accuracy apart")
    parser.add_argument("--filter-synthetic", action="store_true", default=None,
                        help="drop the clips of `kws data synthesize` folders that the speech-embedding teacher "
                             "(a head trained on the real training clips; pip install pyopen-wakeword) does not "
                             "hear as their word")
    parser.add_argument("--prune-to", type=whole_number(low=1), metavar="WIDTH",
                        help="after the epochs, prune every block to its WIDTH most important channels (the "
                             "batch norms' |gamma|, kws.model.prune) and fine-tune; the run's model is the pruned one")
    parser.add_argument("--prune-epochs", type=whole_number(low=1), metavar="N",
                        help="with --prune-to: fine-tuning epochs after pruning (default: a third of --epochs)")
    parser.add_argument("--export", metavar="OUT.json", type=Path, help="export the int8 model here when done")
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run (20 clips a label, 3 epochs) to check the setup")
    parser.add_argument("--cache", type=Path, help="feature cache folder (default datasets/cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--distribute", choices=("none", "mirrored", "multi-worker"), default="none",
                        help="tf.distribute strategy: mirrored = all GPUs of this machine, multi-worker = the "
                             "hosts in TF_CONFIG (run the same command on each); default none")


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a DS-CNN keyword model",
                                  description=TRAIN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(train)
    train.add_argument("--teacher", nargs="+", metavar="RUN",
                       help="distil from this teacher run, or from the mean logits of several, or from "
                            "'embedding' (as kws distill)")
    train.set_defaults(run=run, distill=False)
    distill = subparsers.add_parser("distill", help="train a student distilled from a teacher run",
                                    description=DISTILL_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(distill)
    distill.add_argument("--teacher", nargs="+", metavar="RUN", required=True,
                         help="the teacher's run directory; several make an ensemble (their mean logits); "
                              "'embedding': Google's speech embedding (pip pyopen-wakeword) with a head "
                              "trained on this run's training clips, which hears the audio itself")
    distill.add_argument("--temperature", type=float)
    distill.add_argument("--alpha", type=float, help="weight of the hard-label loss (0..1)")
    distill.add_argument("--teacher-cross-fit", type=int, metavar="K",
                         help="with --teacher embedding: K heads, each trained on all but one K-th of the "
                              "training speakers and labelling that K-th, so no clip is labelled by a head "
                              "that learnt it by heart (0 = one head, the default)")
    distill.add_argument("--teacher-hears", choices=("augmented", "clean"),
                         help="with --teacher embedding: label each epoch's augmented audio (the default), or "
                              "each clean clip once and reuse its logits for every augmented draw (~25x cheaper)")
    distill.add_argument("--mixup", type=float, metavar="A",
                         help="blend each batch with a shuffled copy, weight ~ Beta(A, A); teacher and student "
                              "see the same blend (0 = off, the default)")
    distill.set_defaults(run=run, distill=True)


def _read_config_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise KwsError(f"cannot read config file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise KwsError(f"{path} is not a config file (not UTF-8 text; give a .toml or .json)") from None
    try:
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        return json.loads(text)
    except ValueError as error:
        raise KwsError(f"{path} is not a valid {path.suffix.lstrip('.') or 'JSON'} config ({error})") from None


def _default_data() -> list[str]:
    shared = Path.cwd().parent / "shared" / "data"
    roots = [shared / "speech_commands_v2_test_dev", shared / "speech_commands_v1_unknown_dev"]
    return [str(p) for p in roots if p.is_dir()]


def _teacher(names: list[str]) -> str:
    from ..teachers import EMBEDDING

    if EMBEDDING in names and len(names) > 1:
        raise KwsError(f"--teacher {EMBEDDING} stands alone: it cannot join an ensemble of runs")
    # Run directories as paths ("runs/t/" is "runs/t"), but a run named like the teacher keeps its "./".
    runs = (name if name == EMBEDDING else str(Path(name)) for name in names)
    return ",".join(f"./{run}" if run == EMBEDDING and names != [EMBEDDING] else run for run in runs)


def build_config(args: argparse.Namespace):
    from dataclasses import replace

    from ..training import TrainConfig, check_folds, check_prune, check_ranges, check_teacher

    values = _read_config_file(args.config) if args.config else {}
    try:
        config = TrainConfig.from_dict(values)
    except TypeError as error:
        raise KwsError(f"invalid config {args.config}: {error}") from None
    overrides = {
        "data": tuple(args.data) if args.data else None,
        "architecture": args.architecture, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "seed": args.seed, "validation_percent": args.validation_percent,
        "teacher": _teacher(args.teacher) if args.teacher else None,
        "temperature": getattr(args, "temperature", None), "alpha": getattr(args, "alpha", None),
        "mixup": getattr(args, "mixup", None), "folds": args.folds, "fold": args.fold,
        "teacher_cross_fit": getattr(args, "teacher_cross_fit", None), "filter_synthetic": args.filter_synthetic,
        "teacher_hears": getattr(args, "teacher_hears", None),
        "prune_to": args.prune_to, "prune_epochs": args.prune_epochs,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    check_ranges(config)
    check_folds(config)
    check_teacher(config)
    check_prune(config)
    if not config.data:
        config = replace(config, data=tuple(_default_data()))
    if args.quick:
        config = replace(config, epochs=min(config.epochs, 3), max_clips_per_label=20, calibration_clips=20,
                         batch_size=min(config.batch_size, 32), prune_epochs=min(config.prune_epochs, 3))
    if args.distill and config.architecture == "ds-cnn-teacher" and args.architecture is None:
        config = replace(config, architecture="ds-cnn-s")
    return config


def run(args: argparse.Namespace) -> int:
    from ..extras import import_tensorflow, require_extra

    # Before the config file is read or anything is written: a missing extra is the first thing said.
    require_extra("train", what=f"kws {'distill' if args.distill else 'train'}")
    config = build_config(args)
    fold = f"-fold{config.fold}of{config.folds}" if config.folds else ""
    pruned = f"-pruned{config.prune_to}" if config.prune_to else ""
    name = f"{config.architecture}{pruned}{_distilled_suffix(config.teacher)}-seed{config.seed}{fold}"
    run_dir = args.run_dir or Path("runs") / name
    if args.export:
        from ..exporting import check_export_out

        check_export_out(run_dir, args.export)  # before hours of training, not after
    import_tensorflow(what="kws train")
    from ..training import train

    metrics = train(config, run_dir, cache_dir=args.cache, progress=not args.no_progress, distribute=args.distribute)
    print(f"trained {run_dir}: {metrics['architecture']}, {metrics['parameters']} parameters, "
          f"validation accuracy {metrics['keras_float_val_accuracy']:.4f} (Keras float, best epoch {metrics['best_epoch']})"
          if metrics["validation_clips"] else f"trained {run_dir}: {metrics['architecture']}, no speakers held out")
    if "test_clips" in metrics:
        print(f"test fold {config.fold} of {config.folds}: {metrics['test_clips']} clips, Keras float accuracy "
              f"{metrics['keras_float_test_accuracy']:.4f}")
    if args.export:
        from ..exporting import export_run

        result = export_run(run_dir, args.export)
        _print_export(result)
    else:
        print(f"next: kws export {run_dir}")
    return 0


def _distilled_suffix(teacher: str) -> str:
    from ..teachers import EMBEDDING

    return "" if not teacher else "-embedding-distilled" if teacher == EMBEDDING else "-distilled"


def _print_export(result: dict) -> None:
    accuracy = result["accuracy"]
    # The byte count is the network's (.tflite), not the JSON's: say which file it is.
    model = Path(result["model"])
    wrote = f"wrote {model} + {model.with_suffix('.tflite').name} (int8 network {result['bytes']} bytes)"
    if not accuracy["validation_clips"]:
        print(f"{wrote}; no speakers were held out, so no accuracy")
    else:
        print(f"{wrote}; accuracy on {accuracy['validation_clips']} "
              f"validation clips: Keras float {accuracy['keras_float']:.4f}, TFLite float {accuracy['tflite_float']:.4f}, "
              f"TFLite int8 {accuracy['tflite_int8_reference_kernels']:.4f}")
    test = accuracy.get("test_fold")
    if test and test["clips"]:
        print(f"test fold {test['fold']} of {test['folds']} ({test['clips']} clips, never trained or chosen on): "
              f"Keras float {test['keras_float']:.4f}, TFLite int8 {test['tflite_int8_reference_kernels']:.4f}")
