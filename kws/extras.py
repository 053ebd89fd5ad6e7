"""The optional parts of kws (pip extras), and the one error a command gives when one is missing.

``pip install kws`` is the lean runtime: features, detection, listening, classification,
evaluation and firmware. Training, distillation, export and wake-word training need the
``train`` extra (TensorFlow with Keras 3, matplotlib for the run's figures); plots alone need
``plot``. A command checks for its extra before it reads or writes anything, so that a missing
extra is one ``kws: error:`` line naming the install command, never a traceback half-way.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from .errors import KwsError

#: The top-level modules each extra provides (pyproject.toml's optional-dependencies).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "train": ("tensorflow", "keras", "matplotlib"),
    "plot": ("matplotlib",),
    "kokoro": ("onnxruntime",),  # kws.wakeword.kokoro's runtime (the model parts serve only its setup)
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    missing = []
    for module in EXTRA_MODULES[extra]:
        if sys.modules.get(module) is not None:  # None there means "import refused"
            continue
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a finder that refuses it, or a broken half-install
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, *, what: str) -> None:
    """Raise the one-line error when ``extra`` is not installed; ``what`` names the job."""
    missing = missing_modules(extra)
    if missing:
        raise KwsError(f"{what} needs the {extra} extra ({', '.join(missing)} not installed): "
                       f"pip install 'kws[{extra}]'")


def import_tensorflow(*, what: str) -> None:
    """Require the train extra, then import TensorFlow without its start-up chatter (CPU
    feature banners, oneDNN and CUDA notes), which its C++ loggers print to fd 2 whatever the
    log-level variables say. Import errors past the check still surface with their messages.
    """
    require_extra("train", what=what)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    # Python-side warnings too (e.g. tf.function retracing notes from Keras' predict).
    tensorflow.get_logger().setLevel("ERROR")
