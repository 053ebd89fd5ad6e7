"""From a training run to a kws model: int8 conversion and accuracy at every stage.

Stages, all on the run's validation clips (held-out speakers): the Keras float model, the
TFLite float model, and the TFLite int8 model under LiteRT's reference kernels, fed through
the exact integer input rule, as the firmware will be. A k-fold run (``kws train --folds``)
also gets the accuracy and per-class recall of its test fold, apart from the validation figures
that chose its epoch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .data.speech_commands import LABELS
from .errors import KwsError
from .input_rule import InputRule
from .model_file import InputSpec, KwsModel, load_model, new_model, write_model
from .teachers import describe_teacher

SPEECH_COMMANDS = "Speech Commands (Warden 2018, arXiv:1804.03209), CC-BY 4.0"
#: What the folders of ../shared/data and of `kws data download` hold, for the credits.
KNOWN_FOLDERS = {
    "speech_commands_v2_test_dev": "the shared even-speaker half of the v0.02 test split",
    "speech_commands_v1_unknown_dev": "v0.01 unknown words",
    "speech_commands_v0.02": "v0.02",
    "speech_commands_v0.01": "v0.01",
}


def data_credits(roots: Sequence[str]) -> str:
    """One line crediting the data a model was trained on: Speech Commands folders by what they
    hold, and synthetic clips by the TTS engines that spoke them."""
    from .data.synthetic import read_marker

    real, synthetic = [], []
    for root in roots:
        marker = read_marker(Path(root))
        if marker is None:
            real.append(KNOWN_FOLDERS.get(Path(root).name, Path(root).name))
        else:
            synthetic.append(f"{marker['files']} synthetic keyword clips from {marker['voices']} TTS voices "
                             f"({', '.join(marker['engines'])}; `{marker['made_by']}`)")
    parts = [f"{SPEECH_COMMANDS}: {', '.join(real)}"] if real else []
    return "; ".join(parts + synthetic)


def _tflite_float_accuracy(tflite: bytes, inputs: np.ndarray, labels: np.ndarray) -> float:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    correct = 0
    for sample, label in zip(inputs, labels):
        interpreter.set_tensor(input_index, sample[None, ..., None].astype(np.float32))
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_tensor(output_index)[0]) == label)
    return correct / max(1, len(labels))


def int8_accuracy(model: "KwsModel | Path", features: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy of a kws model (or its path) on q8.7 features, with reference kernels; and its predictions."""
    from .inference import Classifier

    classifier = Classifier(model if isinstance(model, KwsModel) else load_model(model))
    predicted = np.array([int(np.argmax(classifier.scores(f))) for f in features], dtype=int)
    return float(np.mean(predicted == labels)) if len(labels) else float("nan"), predicted


def class_recall(labels: np.ndarray, predicted: np.ndarray,
                 names: Sequence[str] = LABELS) -> dict[str, float | None]:
    """Recall of each class of ``names`` (label indices into it; None for a class with no clips)."""
    recall: dict[str, float | None] = {}
    for index, label in enumerate(names):
        mine = labels == index
        recall[label] = float(np.mean(predicted[mine] == index)) if mine.any() else None
    return recall


def _test_fold_accuracy(run_dir: Path, model, rule: InputRule, in_memory: KwsModel) -> dict[str, Any] | None:
    """The test-fold figures of a k-fold run (None for other runs): Keras float, int8 and recall."""
    from .training import evaluate_keras

    path = run_dir / "test.npz"
    if not path.exists():
        return None
    with np.load(path) as archive:
        features, labels = archive["features"], archive["labels"]
    if not len(labels):
        return {"clips": 0}
    keras_accuracy, _ = evaluate_keras(model, rule.model_input(features), labels)
    int8, predicted = int8_accuracy(in_memory, features, labels)
    return {"clips": int(len(labels)), "keras_float": keras_accuracy, "tflite_int8_reference_kernels": int8,
            "int8_recall": class_recall(labels, predicted)}


def _trained_speakers(run_dir: Path) -> dict[str, Any]:
    """``{"speakers": [...]}``: the run's training speaker ids (split.json), or {} for a run
    made before they were recorded."""
    try:
        ids = json.loads((run_dir / "split.json").read_text()).get("training_speaker_ids")
    except (OSError, ValueError):
        return {}
    return {"speakers": ids} if isinstance(ids, list) else {}


def check_export_out(run_dir: Path, out: Path) -> None:
    """Refuse an ``--out`` that is not a .json model path, or that would overwrite what the run
    reads (its config.json, weights, ...); an earlier export (a NAME.json beside its
    NAME.tflite) may be replaced. Its folder must exist (:func:`kws.outputs.check_outputs`)."""
    from .outputs import check_outputs

    if out.suffix != ".json":
        raise KwsError(f"--out {out}: name the model's .json (its .tflite is written beside it), e.g. "
                       f"{out.with_suffix('.json')}")
    if not run_dir.is_dir():
        # `kws train --export RUN/x.json` before the run exists: training makes RUN.
        if out.parent.resolve() != run_dir.resolve():
            check_outputs(files={"--out": out, "--out's .tflite": out.with_suffix(".tflite")})
        return
    exported = {p for p in run_dir.glob("*.json") if p.with_suffix(".tflite").is_file()}
    exported |= {p.with_suffix(".tflite") for p in exported}
    reads = [p for p in run_dir.iterdir() if p.is_file() and p not in exported]
    check_outputs(files={"--out": out, "--out's .tflite": out.with_suffix(".tflite")}, inputs={"the run": reads})


def export_run(run_dir: Path, out: Path | None = None, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Convert a run's best weights to an int8 kws model; returns the stage accuracies."""
    from .model.dscnn import count_macs
    from .model.export import convert_float, convert_int8, export_model, op_names
    from .training import evaluate_keras, load_run_model, model_architecture

    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "model.json"
    check_export_out(run_dir, out)
    model, config = load_run_model(run_dir)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        with np.load(run_dir / "calibration.npz") as archive:
            calibration = archive["inputs"]
        with np.load(run_dir / "validation.npz") as archive:
            val_features, val_labels = archive["features"], archive["labels"]
    except (OSError, KeyError, json.JSONDecodeError) as error:
        raise KwsError(f"{run_dir} is not a finished training run ({error})") from None
    rule = InputRule.from_dict(metrics["input_rule"])
    spec = InputSpec(config.mfcc, config.clip_samples)
    architecture = model_architecture(config)
    fixed = export_model(model, architecture, spec.window_shape, len(LABELS))
    log("converting to TFLite float and int8 ...")
    tflite_float = convert_float(fixed)
    tflite_int8 = convert_int8(fixed, calibration, rule)

    val_inputs = rule.model_input(val_features)
    keras_accuracy, _ = evaluate_keras(model, val_inputs, val_labels)
    float_accuracy = _tflite_float_accuracy(tflite_float, val_inputs, val_labels) if len(val_labels) else float("nan")
    calibration_list = "\n".join(metrics.get("calibration_files", []))
    in_memory = new_model(
        out, tflite_int8, name=out.stem if out.name != "model.json" else run_dir.name, labels=LABELS, input=spec,
        input_rule=rule, credits=data_credits(config.data),
        architecture={"name": config.architecture, **architecture.to_dict(),
                      "parameters": int(model.count_params()), "macs": count_macs(model),
                      "ops": op_names(tflite_int8)},
        training={"run": run_dir.name, "config": config.to_dict(), "distilled_from": describe_teacher(config.teacher),
                  **_trained_speakers(run_dir),
                  "calibration": {"clips": len(calibration),
                                  "files_sha256": hashlib.sha256(calibration_list.encode()).hexdigest()}})
    int8, _ = int8_accuracy(in_memory, val_features, val_labels)

    def measured(value: float) -> float | None:  # None where the run held out no speakers
        return None if np.isnan(value) else value

    accuracy = {"validation_clips": int(len(val_labels)), "keras_float": measured(keras_accuracy),
                "tflite_float": measured(float_accuracy), "tflite_int8_reference_kernels": measured(int8)}
    test_fold = _test_fold_accuracy(run_dir, model, rule, in_memory)
    if test_fold is not None:
        accuracy["test_fold"] = {"fold": config.fold, "folds": config.folds, **test_fold}
    write_model(replace(in_memory, accuracy=accuracy))
    return {"model": str(out), "bytes": len(tflite_int8), "accuracy": accuracy}
