"""How the CLI talks to the user on stderr: one prefixed line per note or error.

Everything for humans that is not the command's result goes to stderr, so that stdout stays
clean for machine-readable output (``kws features --json``) and can be piped.
"""

from __future__ import annotations

import sys

PROG = "kws"


def one_line(message: object) -> str:
    """Collapse a message onto one line: scripts and tests rely on one line per report."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def note(message: object) -> None:
    """Print ``kws: note: <message>`` to stderr (something done to the input, not a failure)."""
    print(f"{PROG}: note: {one_line(message)}", file=sys.stderr)


def error(message: object) -> None:
    """Print ``kws: error: <message>`` to stderr."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter (CPU feature banners, oneDNN and CUDA
    notes), which its C++ loggers print to fd 2 whatever the log-level variables say.

    Import errors still surface as Python exceptions with their messages.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import sys

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
