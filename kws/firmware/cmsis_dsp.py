"""CMSIS-DSP's C sources, from the pinned ``cmsisdsp`` sdist on PyPI, verified and cached.

The firmware compiles CMSIS-DSP from source. The sanctioned copy is the ``cmsisdsp`` 1.10.3
source distribution, the same version the tests use as the Python reference: fetched with
``pip download`` (so pip's index configuration and proxies apply), checked against its sha256,
then extracted once into the cache (default ``~/.cache/kws/cmsisdsp/``, or
``$KWS_CACHE/cmsisdsp/``). Only ``Source/``, ``Include/``, ``PrivateInclude/`` and the Apache-2.0
``LICENSE`` are extracted; every C file keeps its own license header.

The download is explicit: ``kws firmware setup`` (or ``python -m kws.firmware.cmsis_dsp``, which
scripts/setup.sh runs) fetches it once; a build never reaches for the network, and says which
command to run when the sources are missing. Offline: put ``cmsisdsp-1.10.3.tar.gz`` (with the
sha256 below) in the cache directory, and no network is needed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import KwsError

CMSISDSP_VERSION = "1.10.3"
SDIST_NAME = f"cmsisdsp-{CMSISDSP_VERSION}.tar.gz"
SDIST_SHA256 = "307d32298faa7c58db912851027fce35f886fec7eb1a27c4b309ce1a97f47519"

#: What is extracted from the sdist (paths below its top directory).
EXTRACTED = ("Source", "Include", "PrivateInclude", "LICENSE")

#: Seconds pip may take to fetch the sdist (it also prepares its metadata, a few seconds).
PIP_TIMEOUT_S = 300.0

_MARKER = ".kws-extracted"  # written last: its presence means the extraction is complete


@dataclass(frozen=True)
class CmsisDspSources:
    """Where the extracted CMSIS-DSP lives."""

    root: Path
    source: Path  # Source/
    include: Path  # Include/
    private_include: Path  # PrivateInclude/
    license: Path  # LICENSE (Apache-2.0)
    version: str = CMSISDSP_VERSION


def cache_dir() -> Path:
    """``$KWS_CACHE/cmsisdsp``, else ``~/.cache/kws/cmsisdsp``."""
    base = os.environ.get("KWS_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "kws"
    return root / "cmsisdsp"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_download(destination: Path) -> None:
    requirement = destination / "requirements.txt"
    # --require-hashes makes pip refuse anything but the pinned file; --no-binary keeps pip
    # from settling for a wheel, which holds no C sources.
    requirement.write_text(f"cmsisdsp=={CMSISDSP_VERSION} --hash=sha256:{SDIST_SHA256}\n")
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
        "--no-deps", "--no-binary", "cmsisdsp", "--require-hashes", "-r", str(requirement),
        "--dest", str(destination),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except FileNotFoundError as error:
        raise KwsError(f"cannot fetch CMSIS-DSP: cannot run {sys.executable}: {error.strerror}") from None
    except subprocess.TimeoutExpired:
        raise KwsError(
            f"cannot fetch CMSIS-DSP: `pip download cmsisdsp=={CMSISDSP_VERSION}` took over "
            f"{PIP_TIMEOUT_S:.0f} s (is PyPI reachable?)"
        ) from None
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip()
        if "No module named pip" in output:
            why = f"pip is not installed for {sys.executable}"
        else:
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
            why = errors[0] if errors else f"pip exited with status {result.returncode}"
        raise KwsError(
            f"cannot fetch CMSIS-DSP: `pip download cmsisdsp=={CMSISDSP_VERSION}` failed: {why}. "
            f"Check that PyPI is reachable, or put {SDIST_NAME} (sha256 {SDIST_SHA256}) in {cache_dir()}"
        )


#: The command that fetches the sources, for the error a build gives without them.
SETUP_COMMAND = "kws firmware setup"


def fetch_sdist(cache: Path | None = None, *, download: bool = False) -> Path:
    """The verified ``cmsisdsp-1.10.3.tar.gz`` in ``cache``; downloaded with pip if absent and
    ``download`` is true, else a KwsError naming :data:`SETUP_COMMAND`."""
    cache = Path(cache) if cache is not None else cache_dir()
    sdist = cache / SDIST_NAME
    if sdist.is_file():
        if _sha256(sdist) == SDIST_SHA256:
            return sdist
        raise KwsError(
            f"{sdist} does not have the expected sha256 {SDIST_SHA256}: delete it and run "
            f"`{SETUP_COMMAND}` to download it afresh"
        )
    if not download:
        raise KwsError(
            f"the firmware needs CMSIS-DSP {CMSISDSP_VERSION}'s C sources, not yet on this machine: fetch them "
            f"once with `{SETUP_COMMAND}` (pip download, sha256-checked; offline, put {SDIST_NAME} in {cache})"
        )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        download_dir = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
    except OSError as error:
        raise KwsError(f"cannot create the CMSIS-DSP cache {cache}: {error.strerror or error}") from None
    try:
        _pip_download(download_dir)
        fetched = download_dir / SDIST_NAME
        if not fetched.is_file():
            raise KwsError(f"cannot fetch CMSIS-DSP: pip did not produce {SDIST_NAME}")
        actual = _sha256(fetched)
        if actual != SDIST_SHA256:
            raise KwsError(f"cannot use the downloaded {SDIST_NAME}: sha256 {actual}, expected {SDIST_SHA256}")
        os.replace(fetched, sdist)
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    return sdist


def _members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The regular files and directories under EXTRACTED, refusing anything that could escape."""
    chosen = []
    for member in archive.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
            continue
        if path.parts[1] not in EXTRACTED:
            continue
        if not (member.isfile() or member.isdir()):
            continue
        chosen.append(member)
    return chosen


def _extract(sdist: Path, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            members = _members(archive)
            top = {PurePosixPath(m.name).parts[0] for m in members}
            if len(top) != 1:
                raise KwsError(f"{sdist}: unexpected layout (top directories {sorted(top)})")
            if hasattr(tarfile, "data_filter"):
                archive.extractall(staging, members=members, filter="data")
            else:  # Python < 3.11.4: the members were vetted above
                archive.extractall(staging, members=members)
        extracted = staging / top.pop()
        missing = [name for name in EXTRACTED if not (extracted / name).exists()]
        if missing:
            raise KwsError(f"{sdist}: missing {', '.join(missing)}")
        (extracted / _MARKER).write_text(SDIST_SHA256 + "\n")
        try:
            os.replace(extracted, target)
        except OSError:
            # Another process finished first (the target is a non-empty directory now).
            if not (target / _MARKER).is_file():
                raise
    except (OSError, tarfile.TarError) as error:
        raise KwsError(f"cannot extract {sdist}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def cmsis_dsp_sources(cache: Path | None = None, *, download: bool = False) -> CmsisDspSources:
    """CMSIS-DSP 1.10.3's sources, extracted in the cache (with ``download``, fetched and
    verified the first time; without it, a KwsError naming the setup command)."""
    cache = Path(cache) if cache is not None else cache_dir()
    root = cache / f"cmsisdsp-{CMSISDSP_VERSION}"
    marker = root / _MARKER
    if not (marker.is_file() and marker.read_text().strip() == SDIST_SHA256):
        sdist = fetch_sdist(cache, download=download)
        if root.exists():  # an extraction from something else, or interrupted before the marker
            shutil.rmtree(root, ignore_errors=True)
        _extract(sdist, root)
    return CmsisDspSources(
        root=root,
        source=root / "Source",
        include=root / "Include",
        private_include=root / "PrivateInclude",
        license=root / "LICENSE",
    )


if __name__ == "__main__":
    # `python -m kws.firmware.cmsis_dsp`: fetch (once) and extract the sources, as
    # scripts/setup.sh does, so that builds and tests never need the network.
    try:
        print(cmsis_dsp_sources(download=True).root)
    except KwsError as problem:
        raise SystemExit(f"kws: error: {problem}") from None
