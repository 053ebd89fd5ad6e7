"""The shell scripts a user runs first: usage, and data checked before any work."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DEFAULT = ROOT / "scripts" / "train-default-model.sh"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(TRAIN_DEFAULT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_train_default_model_says_its_usage():
    done = _run("--help", cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("usage: bash scripts/train-default-model.sh")


def test_train_default_model_checks_its_data_before_anything(tmp_path):
    """A missing data folder, given relative to where the user stands: one line, exit 2, and no
    synthesis folder or run made."""
    before = {p.name for p in (ROOT / "runs").iterdir()} if (ROOT / "runs").is_dir() else set()
    done = _run("speech_commands_missing", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("kws: error: ") and done.stderr.count("\n") == 1
    assert str(tmp_path / "speech_commands_missing") in done.stderr or ".venv/bin/kws not found" in done.stderr
    after = {p.name for p in (ROOT / "runs").iterdir()} if (ROOT / "runs").is_dir() else set()
    assert after == before
