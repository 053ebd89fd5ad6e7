"""The README runs as written: every `kws` line in its shell blocks parses with the real
command line, and the quick ones run on the example files `scripts/run.sh` leaves."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from kws.audio import write_wav
from kws.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
#: Placeholders the README uses for a user's own paths, and what stands in for them here.
PLACEHOLDERS = {"DIR": "somewhere", "B": "qemu-mps2-an386", "M": "m.json", "X.npy": "x.npy"}
#: Lines that run in a second or two on the example files (run here, in a scratch folder).
QUICK = ("kws --version", "kws features ", "kws classify --json ", "kws detect example/", "kws detect --json",
         "kws evaluate-stream --help")


def readme_commands() -> list[str]:
    """Every `kws ...` line of the README's ```sh blocks, comment cut off."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line.split(" #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("kws ")]


def _argv(line: str) -> list[str]:
    return [PLACEHOLDERS.get(word, word) for word in shlex.split(line)[1:]]


COMMANDS = readme_commands()


def test_the_readme_shows_commands():
    assert len(COMMANDS) > 30 and any(line.startswith("kws detect") for line in COMMANDS)


@pytest.mark.parametrize("line", [c for c in COMMANDS if "..." not in c and " / " not in c])
def test_every_readme_command_parses(line):
    """Options and subcommands as the README writes them exist (--help and --version exit 0)."""
    try:
        args = build_parser().parse_args(_argv(line))
    except SystemExit as stop:
        assert stop.code == 0, line
        return
    assert callable(args.run), line


@pytest.fixture
def example(tmp_path, monkeypatch) -> Path:
    """A scratch folder holding what scripts/run.sh leaves without espeak-ng (its fallback)."""
    from signals import named_signals

    folder = tmp_path / "example"
    folder.mkdir()
    for name in ("keywords.wav", "yes.wav"):
        write_wav(folder / name, named_signals(16000)["vowel_a_synthetic"], 16000)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("line", [c for c in COMMANDS if c.startswith(QUICK)])
def test_quick_readme_commands_run_as_written(line, example, capsys):
    if "--png" in line:
        pytest.importorskip("matplotlib")
    try:
        code = main(_argv(line))
    except SystemExit as stop:  # --help
        code = stop.code
    assert code == 0, capsys.readouterr().err
