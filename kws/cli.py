"""The ``kws`` command line: argument parsing and the one place errors become exit statuses.

Each subcommand lives in its own module under :mod:`kws.commands` and registers its parser
there, so this module never grows with the number of commands. Commands import their heavy
dependencies (numpy, scipy, matplotlib, sounddevice) when they run, which keeps ``kws --help``
fast and lets a command that does not need, say, PortAudio work on a machine without it.

Exit statuses: 0 success, 2 for any error the user can act on (bad arguments, unreadable
input, unwritable output), reported as exactly one ``kws: error: ...`` line on stderr, and
130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Sequence

from . import __version__
from .commands import register_commands
from .console import PROG, error
from .errors import KwsError

EXIT_OK = 0
EXIT_ERROR = 2  # argparse's own status for usage errors; one status for every user error
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C

DESCRIPTION = """\
Always-on keyword spotting: a fixed-point MFCC frontend bit-exact with CMSIS-DSP's
arm_mfcc_q15, so the features computed here are the integers a Cortex-M computes.
"""

EPILOG = """\
examples:
  kws features yes.wav                  summary of the q8.7 MFCC of a file
  kws features yes.wav --npy yes.npy    save the int16 MFCC array
  kws features yes.wav --json | jq .n_frames
  kws devices                           list microphones

Run `kws COMMAND --help` for the options of a command.
"""


class KwsArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one ``kws: error: ...`` line, like every error.

    argparse would print the usage block and ``kws features: error: ...``; scripts and people
    reading logs get one recognisable line instead, with a pointer to ``--help``. Subparsers
    inherit this class (``add_subparsers`` uses the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        raise KwsError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> KwsArgumentParser:
    parser = KwsArgumentParser(
        prog=PROG,  # not "__main__.py" under `python -m kws`
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    register_commands(subparsers)
    return parser


def _silence_stdout() -> None:
    # The reader of our stdout went away (`kws features x.wav --json | head`). Point stdout at
    # /dev/null so the interpreter's final flush does not print a second BrokenPipeError.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass


def _describe(error_: OSError) -> str:
    reason = error_.strerror or str(error_)
    return f"{error_.filename}: {reason}" if error_.filename else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help and --version exit through argparse
            return exit_.code if isinstance(exit_.code, int) else EXIT_OK
        return args.run(args)
    except KwsError as problem:
        error(problem)
        return EXIT_ERROR
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except OSError as problem:  # writing output, talking to a device: report, don't trace back
        error(_describe(problem))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
