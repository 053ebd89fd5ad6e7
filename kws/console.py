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

