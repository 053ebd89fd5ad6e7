"""The shipped wake-word backbone: a kws model whose float weights start `--backbone default`.

``kws/models/wakeword_backbone/`` is a kws model like any other (``model.json`` and its int8
``model.tflite``, read by :func:`kws.model_file.load_model`) with one more section,
``float_weights``: the Keras weights whose int8 conversion that model is, and their sha256.
So the backbone has no format of its own; its labels, frontend and input rule are the model's.

Why a backbone of its own: it is a 12-class DS-CNN-S trained on real speech only, the float twin
of the shipped 12-class model of 2026-11-24. The shipped model has since also trained on
synthetic keywords; every wake-word figure in benchmarks/README.md was measured from these
weights, and the retrained weights did worse on the one fold tried.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import KwsError
from ..model_file import KwsModel, load_model

#: The name that selects it on the command line (`kws wakeword train --backbone default`).
DEFAULT_BACKBONE = "default"
BACKBONE_DIR = Path(__file__).resolve().parent.parent / "models" / "wakeword_backbone"


def shipped_backbone(folder: Path = BACKBONE_DIR) -> tuple[KwsModel, Path]:
    """The backbone's model and the verified path of its float weights."""
    model = load_model(folder)
    section = model.extra.get("float_weights")
    if not isinstance(section, dict) or not isinstance(section.get("file"), str) \
            or Path(section["file"]).name != section["file"] or not isinstance(section.get("sha256"), str):
        raise KwsError(f"{model.json_path}: no valid float_weights section (file beside it, sha256)")
    weights = model.json_path.parent / section["file"]
    try:
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    except OSError as error:
        raise KwsError(f"--backbone {DEFAULT_BACKBONE}: cannot read {weights} ({error.strerror or error})") from None
    if digest != section["sha256"]:
        raise KwsError(f"{weights} is corrupt or not the weights {model.json_path.name} describes (sha256 mismatch)")
    return model, weights
