"""A wheel carries what `pip install kws` users run: the firmware's C sources included.

Builds the package's build_py step offline (setup.py's hook) into a temporary folder and checks
that every file of firmware/ is there as kws/firmware/c/, where kws.firmware.sources looks when
there is no source checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_built_package_carries_the_firmware_sources(tmp_path):
    result = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    shipped = tmp_path / "kws" / "firmware" / "c"
    wanted = sorted(p.relative_to(ROOT / "firmware") for p in (ROOT / "firmware").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts)
    assert wanted, "firmware/ is empty"
    missing = [str(p) for p in wanted if not (shipped / p).is_file()]
    assert not missing, f"not in the package: {missing}"
    assert (tmp_path / "kws" / "firmware" / "sources.py").is_file()
    # The shipped models too (package data).
    assert (tmp_path / "kws" / "models" / "default" / "model.tflite").is_file()
    assert (tmp_path / "kws" / "models" / "wakeword_backbone" / "weights.npz").is_file()
