"""A kws model on disk: ``NAME.tflite`` (int8) and ``NAME.json`` (everything needed to use it).

:class:`KwsModel` is the one contract between the recipes that make models and everything that
uses them (the runtime, the detector, ``kws firmware``, the benchmarks). It owns every section
of the JSON: the labels, the input (:class:`InputSpec`: the frontend's :class:`dsp.MfccConfig`
and the clip length, from which the window shape and frame times are derived), the exact integer
rule from q8.7 MFCC to the int8 input (:class:`kws.input_rule.InputRule`), the input and output
quantisation, the detector settings the model was calibrated with, the credits of the data it
was trained on, how it was trained and measured, and the sha256 of the ``.tflite``.

:func:`new_model` builds one in memory (both recipes call it), :func:`write_model` writes it,
:func:`load_model` reads and verifies it. Loading believes nothing it can check: the checksum,
every field's type and range, and the flatbuffer's own input/output shapes and quantisation,
so a corrupt, truncated, swapped or lying model file is refused with a message that names it.
This module is runtime code: no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dsp import MfccConfig

from .atomic import write_files_atomically
from .detector_config import DetectorConfig
from .errors import KwsError
from .input_rule import InputRule

FORMAT = "kws-model/1"
#: Where the shipped default model lives, inside the package.
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default" / "model.json"
#: Keys of the detector section that record how it was calibrated, not how to detect.
CALIBRATION_KEYS = ("calibrated_for_fa_per_hour", "target_met_on_calibration")


@dataclass(frozen=True)
class Quantization:
    """An int8 tensor's affine quantisation: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def to_dict(self) -> dict:
        return {"scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class InputSpec:
    """What the model looks at: ``clip_samples`` of audio through the ``mfcc`` frontend."""

    mfcc: MfccConfig
    clip_samples: int

    @property
    def window_shape(self) -> tuple[int, int]:
        """The MFCC image of one window: (n_frames, n_mfcc)."""
        return self.mfcc.window_shape(self.clip_samples)

    @property
    def n_frames(self) -> int:
        return self.window_shape[0]

    def frame_end_seconds(self, frame: int) -> float:
        """When stream frame ``frame`` ends: the time a detection on the window ending there has."""
        return self.mfcc.frame_end_seconds(frame)


@dataclass(frozen=True)
class KwsModel:
    """A verified model: every section of its JSON, typed, and the int8 flatbuffer."""

    json_path: Path
    tflite_path: Path
    tflite: bytes
    name: str
    labels: tuple[str, ...]
    input: InputSpec
    input_rule: InputRule
    input_quantization: Quantization
    output_quantization: Quantization
    detector: DetectorConfig | None  # the settings it was calibrated with, or None: the defaults
    credits: str  # the data it was trained on, with licences
    architecture: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    accuracy: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None  # how the detector threshold was chosen (CALIBRATION_KEYS)
    report: dict[str, Any] | None = None  # a wake word's calibration report
    extra: dict[str, Any] = field(default_factory=dict)  # sections this version does not interpret

    # The input's facts, as the runtime reads them.
    @property
    def mfcc(self) -> MfccConfig:
        return self.input.mfcc

    @property
    def clip_samples(self) -> int:
        return self.input.clip_samples

    @property
    def n_frames(self) -> int:
        return self.input.n_frames

    def to_document(self) -> dict[str, Any]:
        """The JSON description, as :func:`write_model` writes it."""
        detector = None
        if self.detector is not None:
            detector = {**self.detector.to_dict(), **(self.calibration or {})}
        document: dict[str, Any] = {
            "format": FORMAT, "name": self.name, "labels": list(self.labels), "mfcc": self.mfcc.to_dict(),
            "clip_samples": self.clip_samples, "input_rule": self.input_rule.to_dict(),
            "quantization": {"input": self.input_quantization.to_dict(), "output": self.output_quantization.to_dict()},
            "architecture": self.architecture, "training": self.training, "credits": self.credits,
        }
        optional = {"accuracy": self.accuracy, "detector": detector, "wakeword_report": self.report}
        document.update({key: value for key, value in optional.items() if value is not None})
        document.update(self.extra)
        document.update({"tflite": self.tflite_path.name, "tflite_sha256": sha256_hex(self.tflite),
                         "tflite_bytes": len(self.tflite)})
        return document


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resolve_model_path(path: Path | str | None) -> Path:
    """The JSON of a model given as its .json, its .tflite, or a folder holding model.json."""
    if path is None:
        return DEFAULT_MODEL
    path = Path(path)
    if path.is_dir():
        return path / "model.json"
    if path.suffix == ".tflite":
        return path.with_suffix(".json")
    return path


# ---------------------------------------------------------------------------------- the flatbuffer

@dataclass(frozen=True)
class FlatbufferSignature:
    """What the flatbuffer itself says of its input and output."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input: Quantization
    output: Quantization


def flatbuffer_signature(tflite: bytes, where: Path) -> FlatbufferSignature:
    """Read what ``tflite`` says of its input and output; one KwsError naming ``where`` if it is
    not a flatbuffer LiteRT can load (also the check ``kws firmware infer`` makes of a bare .tflite)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_content=tflite)
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    except (ValueError, RuntimeError) as error:
        raise KwsError(f"{where} is not a valid TFLite model ({str(error).splitlines()[0] if str(error) else error})") from None
    if len(inputs) != 1 or len(outputs) != 1:
        raise KwsError(f"{where} must have one input and one output tensor, not {len(inputs)} and {len(outputs)}")
    (in_scale, in_zero), (out_scale, out_zero) = inputs[0]["quantization"], outputs[0]["quantization"]
    return FlatbufferSignature(tuple(int(s) for s in inputs[0]["shape"]), tuple(int(s) for s in outputs[0]["shape"]),
                               Quantization(float(in_scale), int(in_zero)), Quantization(float(out_scale), int(out_zero)))


# ---------------------------------------------------------------------------------- building

def new_model(json_path: Path | str, tflite: bytes, *, name: str, labels: tuple[str, ...] | list[str],
              input: InputSpec, input_rule: InputRule, credits: str, architecture: dict[str, Any],
              training: dict[str, Any], detector: DetectorConfig | None = None,
              calibration: dict[str, Any] | None = None, accuracy: dict[str, Any] | None = None,
              report: dict[str, Any] | None = None) -> KwsModel:
    """A model in memory, its quantisation read from ``tflite`` and everything checked as
    :func:`load_model` checks a file; both recipes make their models here."""
    json_path = Path(json_path)
    signature = flatbuffer_signature(tflite, json_path.with_suffix(".tflite"))
    model = KwsModel(json_path=json_path, tflite_path=json_path.with_suffix(".tflite"), tflite=tflite, name=name,
                     labels=tuple(labels), input=input, input_rule=input_rule,
                     input_quantization=signature.input, output_quantization=signature.output,
                     detector=detector, credits=credits, architecture=architecture, training=training,
                     accuracy=accuracy, calibration=calibration, report=report)
    _check(model, signature)
    return model


def model_files(model: KwsModel) -> dict[Path, bytes]:
    """The two files of ``model`` and their bytes, for writing atomically with others."""
    return {model.tflite_path: model.tflite,
            model.json_path: (json.dumps(model.to_document(), indent=2) + "\n").encode()}


def write_model(model: KwsModel) -> Path:
    """Write NAME.tflite and NAME.json together, atomically; returns the JSON path."""
    write_files_atomically(model_files(model))
    return model.json_path


# ---------------------------------------------------------------------------------- reading

def load_model(path: Path | str | None = None) -> KwsModel:
    """Read and verify a model (default: the shipped one). Raises KwsError naming the bad file."""
    json_path = resolve_model_path(path)
    if not json_path.exists():
        if path is None:
            raise KwsError(f"the default model is missing from this installation ({json_path})")
        raise KwsError(f"no such model: {json_path} (a model is NAME.json next to NAME.tflite)")
    try:
        document = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KwsError(f"{json_path} is not a readable kws model description ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KwsError(f"{json_path} is not a kws model description (expected format {FORMAT!r})")
    name = _field(document, "tflite", json_path, str)
    # The weights lie beside the description: a name, never a path that leaves the folder.
    if Path(name).name != name or name in ("", ".", ".."):
        raise KwsError(f"{json_path}: 'tflite' must be a file name beside it, not {name!r}")
    tflite_path = json_path.parent / name
    try:
        tflite = tflite_path.read_bytes()
    except OSError as error:
        raise KwsError(f"cannot read model weights {tflite_path}: {error.strerror or error}") from None
    expected = _field(document, "tflite_sha256", json_path, str)
    if sha256_hex(tflite) != expected:
        raise KwsError(f"{tflite_path} is corrupt or not the model {json_path.name} describes (sha256 mismatch)")
    return model_from_document(json_path, tflite, document)


_SECTIONS = ("format", "name", "labels", "mfcc", "clip_samples", "input_rule", "quantization", "architecture",
             "training", "credits", "accuracy", "detector", "wakeword_report", "tflite", "tflite_sha256",
             "tflite_bytes")


def model_from_document(json_path: Path, tflite: bytes, document: Mapping[str, Any]) -> KwsModel:
    """A :class:`KwsModel` from its description and verified flatbuffer; every section checked."""
    json_path = Path(json_path)
    labels = _field(document, "labels", json_path, list)
    if len(labels) < 2 or not all(isinstance(label, str) and label for label in labels) or len(set(labels)) < len(labels):
        raise KwsError(f"{json_path}: 'labels' must be two or more distinct names, not {labels!r}")
    try:
        mfcc = MfccConfig.from_dict(_field(document, "mfcc", json_path, dict))
        rule = InputRule.from_dict(_field(document, "input_rule", json_path, dict))
    except (KeyError, TypeError, ValueError) as error:
        raise KwsError(f"{json_path} has an invalid field ({error})") from None
    clip_samples = _field(document, "clip_samples", json_path, int)
    if not mfcc.frame_length <= clip_samples <= 10 * mfcc.sample_rate:
        raise KwsError(f"{json_path}: clip_samples must hold one frame and at most 10 s, not {clip_samples}")
    quantization = _field(document, "quantization", json_path, dict)
    recorded = {side: _quantization(quantization.get(side), f"{json_path}: quantization.{side}")
                for side in ("input", "output")}
    training = document.get("training") or {}
    credits = document.get("credits") or (training.get("data") if isinstance(training, dict) else None) \
        or document.get("trained_on") or ""
    detector, calibration = None, None
    if document.get("detector") is not None:
        section = document["detector"]
        if not isinstance(section, Mapping):
            raise KwsError(f"{json_path}: the detector section must be an object, not {section!r}")
        calibration = {key: section[key] for key in CALIBRATION_KEYS if key in section} or None
        detector = DetectorConfig.from_dict({k: v for k, v in section.items() if k not in CALIBRATION_KEYS},
                                            where=str(json_path))
    model = KwsModel(
        json_path=json_path, tflite_path=json_path.parent / str(document.get("tflite") or json_path.with_suffix(".tflite").name),
        tflite=tflite,
        name=str(document.get("name") or json_path.parent.name),
        labels=tuple(labels), input=InputSpec(mfcc, clip_samples), input_rule=rule,
        input_quantization=recorded["input"], output_quantization=recorded["output"], detector=detector,
        credits=str(credits), architecture=_optional(document, "architecture", json_path, dict) or {},
        training=_optional(document, "training", json_path, dict) or {},
        accuracy=_optional(document, "accuracy", json_path, dict), calibration=calibration,
        report=_optional(document, "wakeword_report", json_path, dict),
        extra={key: value for key, value in document.items() if key not in _SECTIONS})
    signature = flatbuffer_signature(tflite, model.tflite_path)
    if (signature.input, signature.output) != (model.input_quantization, model.output_quantization):
        raise KwsError(f"{json_path}: its quantization section disagrees with the flatbuffer's "
                       f"({signature.input}, {signature.output})")
    _check(model, signature)
    return model


def _check(model: KwsModel, signature: FlatbufferSignature) -> None:
    """The facts the description and the flatbuffer must agree on."""
    where = model.json_path
    expected_input = (1, *model.input.window_shape, 1)
    if signature.input_shape != expected_input:
        raise KwsError(f"{where}: the network takes {signature.input_shape}, but the description's input "
                       f"is {expected_input} ({model.clip_samples} samples of {model.mfcc.n_mfcc} MFCC)")
    if signature.output_shape != (1, len(model.labels)):
        raise KwsError(f"{where}: the network gives {signature.output_shape[-1]} scores for {len(model.labels)} labels")
    if model.detector is not None and model.detector.keywords:
        strangers = [k for k in model.detector.keywords if k not in model.labels]
        if strangers:
            raise KwsError(f"{where}: detector.keywords names labels it lacks: {', '.join(strangers)}")


def _field(document: Mapping[str, Any], key: str, where: Path, kind: type) -> Any:
    if key not in document:
        raise KwsError(f"{where} is not a kws model description: no '{key}' field")
    value = document[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KwsError(f"{where}: '{key}' must be {_KINDS[kind]}, not {value!r}")
    return value


def _optional(document: Mapping[str, Any], key: str, where: Path, kind: type) -> Any:
    return None if document.get(key) is None else _field(document, key, where, kind)


_KINDS = {str: "a string", list: "a list", dict: "an object", int: "a whole number"}


def _quantization(values: Any, where: str) -> Quantization:
    if not isinstance(values, Mapping):
        raise KwsError(f"{where} must be an object with scale and zero_point, not {values!r}")
    scale, zero_point = values.get("scale"), values.get("zero_point")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise KwsError(f"{where}.scale must be a positive number, not {scale!r}")
    if isinstance(zero_point, bool) or not isinstance(zero_point, int) or not -128 <= zero_point <= 127:
        raise KwsError(f"{where}.zero_point must be an int8 value, not {zero_point!r}")
    return Quantization(float(scale), zero_point)
