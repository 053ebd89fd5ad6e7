"""A kws model on disk: ``NAME.tflite`` (int8) and ``NAME.json`` (everything needed to use it).

The JSON carries the labels, the frontend's :class:`dsp.MfccConfig`, the clip length, the exact
integer rule from q8.7 MFCC to the int8 input (:class:`kws.input_rule.InputRule`), the input and
output quantisation, how it was trained and measured, and the sha256 of the ``.tflite``. Loading
checks the structure and the checksum, so a corrupt, truncated or swapped model file is refused
with a message that names it. This module is runtime code: no TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsp import MfccConfig

from .atomic import write_files_atomically
from .errors import KwsError
from .input_rule import InputRule

FORMAT = "kws-model/1"
#: Where the shipped default model lives, inside the package.
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default" / "model.json"


@dataclass(frozen=True)
class Quantization:
    scale: float
    zero_point: int

    def to_dict(self) -> dict:
        return {"scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class KwsModel:
    """A verified model: its metadata and the int8 flatbuffer."""

    json_path: Path
    tflite_path: Path
    tflite: bytes
    labels: tuple[str, ...]
    mfcc: MfccConfig
    clip_samples: int
    input_rule: InputRule
    input_quantization: Quantization
    output_quantization: Quantization
    metadata: dict[str, Any]

    @property
    def n_frames(self) -> int:
        return self.mfcc.n_frames(self.clip_samples)


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


def model_document(json_path: Path, tflite: bytes, metadata: dict[str, Any]) -> dict[str, Any]:
    """The JSON description of ``tflite`` with ``metadata``, as :func:`write_model` writes it."""
    return {"format": FORMAT, **metadata, "tflite": Path(json_path).with_suffix(".tflite").name,
            "tflite_sha256": sha256_hex(tflite), "tflite_bytes": len(tflite)}


def write_model(json_path: Path, tflite: bytes, metadata: dict[str, Any]) -> Path:
    """Write NAME.tflite and NAME.json together, atomically; returns the JSON path."""
    json_path = Path(json_path)
    document = model_document(json_path, tflite, metadata)
    write_files_atomically({json_path.with_suffix(".tflite"): tflite,
                            json_path: (json.dumps(document, indent=2) + "\n").encode()})
    return json_path


def _field(document: dict, key: str, where: Path) -> Any:
    if key not in document:
        raise KwsError(f"{where} is not a kws model description: no '{key}' field")
    return document[key]


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
    tflite_path = json_path.parent / _field(document, "tflite", json_path)
    try:
        tflite = tflite_path.read_bytes()
    except OSError as error:
        raise KwsError(f"cannot read model weights {tflite_path}: {error.strerror or error}") from None
    expected = _field(document, "tflite_sha256", json_path)
    if sha256_hex(tflite) != expected:
        raise KwsError(f"{tflite_path} is corrupt or not the model {json_path.name} describes (sha256 mismatch)")
    return model_from_document(json_path, tflite, document)


def model_from_document(json_path: Path, tflite: bytes, document: dict[str, Any]) -> KwsModel:
    """A :class:`KwsModel` from its description and flatbuffer (already read and verified)."""
    json_path = Path(json_path)
    tflite_path = json_path.parent / _field(document, "tflite", json_path)
    try:
        quant = _field(document, "quantization", json_path)
        return KwsModel(
            json_path=json_path,
            tflite_path=tflite_path,
            tflite=tflite,
            labels=tuple(_field(document, "labels", json_path)),
            mfcc=MfccConfig.from_dict(_field(document, "mfcc", json_path)),
            clip_samples=int(_field(document, "clip_samples", json_path)),
            input_rule=InputRule.from_dict(_field(document, "input_rule", json_path)),
            input_quantization=Quantization(float(quant["input"]["scale"]), int(quant["input"]["zero_point"])),
            output_quantization=Quantization(float(quant["output"]["scale"]), int(quant["output"]["zero_point"])),
            metadata=document,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise KwsError(f"{json_path} has an invalid field ({error})") from None
