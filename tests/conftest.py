"""Shared test helpers: where the real speech lives, and the bit-exactness assertion."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # for tests/signals.py

# ../shared/data beside the checkout (as in CI); KWS_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("KWS_SHARED_DATA", TESTS.parent.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """A path under the shared real-speech folder; skips the test where it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real speech not available here ({path} absent)")
    return path


def assert_bit_exact(actual: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """0 LSB on every element; on failure, list the first mismatch positions and values."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    mismatch = np.argwhere(actual != expected)
    if len(mismatch):
        lines = [
            f"  at {tuple(int(i) for i in pos)}: got {actual[tuple(pos)]}, expected {expected[tuple(pos)]}"
            for pos in mismatch[:20]
        ]
        pytest.fail(
            f"{what}: {len(mismatch)} of {actual.size} elements differ "
            f"(max {np.abs(actual.astype(np.int64) - expected).max()} LSB):\n" + "\n".join(lines)
        )


def assert_one_error_line(code: int, err: str) -> str:
    """A user error: exit status 2 and exactly one ``kws: error: ...`` line, no traceback."""
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kws: error: ")
    return lines[0]


class _PortAudioMissing:
    """An import hook that makes `import sounddevice` fail as it does without libportaudio."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


@pytest.fixture
def without_portaudio(monkeypatch):
    """`import sounddevice` raises OSError, as on a machine without PortAudio."""
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_PortAudioMissing()] + sys.meta_path)


def require_cmsisdsp():
    """The cmsisdsp binding, built plain-C; skips where absent or built with Neon."""
    cmsisdsp = pytest.importorskip("cmsisdsp")
    from dsp.cmsis_reference import plain_c_host

    if not plain_c_host():
        pytest.skip("cmsisdsp on arm64 is built with Neon, not the plain-C reference")
    return cmsisdsp
