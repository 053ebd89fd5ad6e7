"""The corpora kws knows how to fetch, and safe extraction of their tar.gz archives.

The table is frozen on purpose: a checksum is the only thing that says the bytes we train on
are the bytes the paper used, so each one is copied from a named public source (below) and
never updated silently. A version with no published checksum has ``sha256=None`` and
``kws data download`` then requires ``--sha256``.

Extraction goes into a temporary directory beside the target and is renamed into place only
when every member is out, so ``<dest>/speech_commands_v0.0X/`` either is complete or does not
exist. Members with absolute paths or ``..`` components, links and special files are refused
(the archive is then rejected as a whole), so an archive cannot write outside its directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO, Mapping

from ..errors import KwsError

if TYPE_CHECKING:  # imported where used: `kws --help` reads only the table, not urllib or tarfile
    import tarfile

    from ..download import Progress

#: Where ``kws data download`` puts archives and their extracted trees, relative to the
#: current directory (ignored by git).
DEFAULT_DEST = Path("datasets") / "downloads"


@dataclass(frozen=True)
class Archive:
    """One downloadable version of a corpus."""

    corpus: str
    version: int
    url: str
    sha256: str | None  #: None where no public source pins it: the user must pass one
    size: int | None  #: bytes, where a public source states it
    checksum_source: str  #: where the checksum was copied from (empty when sha256 is None)

    @property
    def stem(self) -> str:
        """``speech_commands_v0.02``: the archive's name without ``.tar.gz``, and its directory."""
        return PurePosixPath(self.url).name.removesuffix(".tar.gz")

    @property
    def filename(self) -> str:
        return f"{self.stem}.tar.gz"

    def archive_path(self, dest: Path) -> Path:
        return dest / self.filename

    def extracted_path(self, dest: Path) -> Path:
        return dest / self.stem


_SPEECH_COMMANDS_V1 = Archive(
    corpus="speech-commands",
    version=1,
    url="http://download.tensorflow.org/data/speech_commands_v0.01.tar.gz",
    sha256="743935421bb51cccdb6bdd152e04c5c70274e935c82119ad7faeec31780d811d",
    size=None,
    checksum_source="torchaudio, torchaudio/datasets/speechcommands.py, _CHECKSUMS",
)
_SPEECH_COMMANDS_V2 = Archive(
    corpus="speech-commands",
    version=2,
    url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
    sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    size=2_428_923_189,
    checksum_source=(
        "TensorFlow Datasets, tensorflow_datasets/url_checksums/speech_commands.txt; "
        "the same in torchaudio, torchaudio/datasets/speechcommands.py"
    ),
)

#: corpus name -> version -> archive. Frozen: read-only mappings of frozen dataclasses.
KNOWN: Mapping[str, Mapping[int, Archive]] = MappingProxyType(
    {
        "speech-commands": MappingProxyType({1: _SPEECH_COMMANDS_V1, 2: _SPEECH_COMMANDS_V2}),
    }
)

#: Each corpus's version when none is asked for.
DEFAULT_VERSIONS: Mapping[str, int] = MappingProxyType({"speech-commands": 2})


def lookup(corpus: str, version: int | None = None) -> Archive:
    """The archive of ``corpus`` at ``version`` (its default when None), or :class:`KwsError`."""
    versions = KNOWN.get(corpus)
    if versions is None:
        raise KwsError(f"unknown corpus {corpus!r}; known: {', '.join(sorted(KNOWN))}")
    if version is None:
        version = DEFAULT_VERSIONS[corpus]
    archive = versions.get(version)
    if archive is None:
        raise KwsError(f"{corpus} has no version {version}; known: {', '.join(map(str, sorted(versions)))}")
    return archive


def _check_member(member: "tarfile.TarInfo", archive: Path) -> None:
    """Refuse a member that could land outside the target or is not a plain file or directory."""
    name = member.name
    if PurePosixPath(name).is_absolute():
        raise KwsError(f"refusing {archive}: member {name!r} has an absolute path")
    if ".." in PurePosixPath(name).parts:
        raise KwsError(f"refusing {archive}: member {name!r} points outside the archive (..)")
    if not (member.isfile() or member.isdir()):
        kind = "a link" if member.issym() or member.islnk() else "not a regular file or directory"
        raise KwsError(f"refusing {archive}: member {name!r} is {kind}")


def _extract_members(tar: "tarfile.TarFile", into: Path, archive: Path, raw: BinaryIO, bar: "Progress") -> int:
    import tarfile

    count = 0
    # Streaming over the members (not getmembers() first) reads the gzip stream once.
    for member in tar:
        _check_member(member, archive)
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4/3.12: a second line of defence
            tar.extract(member, into, filter="data")
        else:
            tar.extract(member, into)
        count += member.isfile()
        bar.update(raw.tell() - bar.done)  # compressed bytes read so far
    return count


def extract_tar_gz(archive: Path, target: Path, *, progress: bool | None = None) -> int:
    """Extract ``archive`` (tar.gz) so that its members end up in ``target``; return the file count.

    ``target`` must not exist; it appears only once extraction is complete. Raises
    :class:`KwsError` for an unsafe member or a corrupt archive, leaving nothing behind.
    """
    import shutil
    import tarfile
    import tempfile
    import zlib

    from ..download import Progress

    if target.exists():
        raise KwsError(f"cannot extract {archive}: {target} already exists")
    try:
        temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".extracting"))
    except OSError as error:
        raise KwsError(f"cannot extract into {target.parent}: {error.strerror or error}") from None
    try:
        with open(archive, "rb") as raw, Progress(
            f"extract {archive.name}", os.fstat(raw.fileno()).st_size, enabled=progress
        ) as bar:
            try:
                with tarfile.open(fileobj=raw, mode="r:gz") as tar:
                    count = _extract_members(tar, temporary, archive, raw, bar)
            except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
                if isinstance(error, getattr(tarfile, "FilterError", ())):  # the data filter's verdict
                    raise KwsError(f"refusing {archive}: {error}") from None
                if isinstance(error, OSError) and error.filename:  # writing failed, not reading
                    raise KwsError(f"cannot extract {archive}: {error.filename}: {error.strerror}") from None
                raise KwsError(f"{archive} is not a readable tar.gz archive ({error})") from None
        os.rename(temporary, target)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return count
