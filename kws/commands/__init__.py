"""The ``kws`` subcommands, one module each.

A command module defines ``register(subparsers)``, which adds its parser and sets
``run=<function(args) -> int>`` as a default. To add a command, write ``kws/commands/<name>.py``
and list it in :data:`COMMANDS`; the order here is the order in ``kws --help``.
"""

from __future__ import annotations

import argparse
import importlib

#: Command modules, in the order ``kws --help`` lists them.
COMMANDS: tuple[str, ...] = ("features", "detect", "listen", "train", "wakeword", "record", "export", "classify", "evaluate", "evaluate_stream", "firmware", "data", "devices")


def register_commands(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Let each command module add its parser to ``subparsers``."""
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
