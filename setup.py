"""Ships the firmware's C sources inside the kws wheel.

Everything else about the package is in pyproject.toml. The C that ``kws firmware`` compiles
lives in ``firmware/`` at the top of the repository, beside the ``kws`` package, where people
read and edit it; a wheel built from the tree carries a copy of it as ``kws/firmware/c/`` so
that ``pip install kws`` (no checkout) can build images too (kws.firmware.sources looks there
when there is no checkout).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

FIRMWARE = Path(__file__).resolve().parent / "firmware"
#: Where the copy goes inside the built package (kws.firmware.sources.INSTALLED_FIRMWARE_DIR).
INSTALLED = Path("kws") / "firmware" / "c"


class BuildPyWithFirmware(build_py):
    """build_py, then the firmware tree copied into the build (C, headers, linker scripts, READMEs)."""

    def run(self) -> None:
        super().run()
        if not FIRMWARE.is_dir():  # building from an sdist made without it: nothing to add
            return
        target = Path(self.build_lib) / INSTALLED
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(FIRMWARE, target, ignore=shutil.ignore_patterns("__pycache__", "*.o"))


setup(cmdclass={"build_py": BuildPyWithFirmware})
