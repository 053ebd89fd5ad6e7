"""Atomic file output: a result either appears complete under its name or not at all.

Each file is written to a temporary file in the destination's directory (same filesystem, so
``os.replace`` is an atomic rename) and renamed only once every file of the batch has been
written. A failure or Ctrl-C midway leaves no partial output and no temporary file behind,
and an existing file of that name stays untouched. A destination that is a symlink is written
through, as ``open(path, "w")`` would: its target gets the content and the link stays a link
(renaming onto the link itself would silently turn it into a plain file).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Union

from .errors import KwsError

PathLike = Union[str, "os.PathLike[str]"]


def _default_file_mode() -> int:
    # mkstemp creates files 0600; give the result the mode a plain open() would (0666 & ~umask).
    # os.umask can only be read by setting it, so set it back at once (the CLI is single-threaded).
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


def write_files_atomically(files: Mapping[PathLike, bytes]) -> None:
    """Write every ``path -> content`` pair, or none of them, and raise :class:`KwsError` on failure.

    All temporary files are written and synced before the first rename, so a problem with any
    destination (missing directory, full disk, no permission) leaves none of them behind. A
    destination that is a directory is refused up front, since only the rename would notice.
    """
    for destination in files:
        if Path(destination).is_dir():
            raise KwsError(f"cannot write {destination}: it is a directory")
    pending: list[tuple[str, Path]] = []  # (temporary file, the file it replaces)
    try:
        for destination, content in files.items():
            destination = Path(destination)
            target = Path(os.path.realpath(destination)) if destination.is_symlink() else destination
            try:
                fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            except OSError as error:
                raise KwsError(f"cannot write {destination}: {_describe(error)}") from error
            pending.append((temporary, target))
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chmod(temporary, _default_file_mode())
            except OSError as error:
                raise KwsError(f"cannot write {destination}: {_describe(error)}") from error
        while pending:
            temporary, destination = pending[0]
            try:
                os.replace(temporary, destination)
            except OSError as error:
                raise KwsError(f"cannot write {destination}: {_describe(error)}") from error
            pending.pop(0)
    finally:
        for temporary, _ in pending:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass


def write_file_atomically(path: PathLike, content: bytes) -> None:
    """Write one file atomically; see :func:`write_files_atomically`."""
    write_files_atomically({path: content})


def write_files_into_folder(folder: PathLike, files: Mapping[PathLike, bytes]) -> None:
    """:func:`write_files_atomically` into ``folder``, made here if missing (its parent must
    exist); a failure removes the folder again if it was made here, so nothing is left."""
    folder = Path(folder)
    made = not folder.exists()
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot make {folder}: {_describe(error)}") from error
    try:
        write_files_atomically(files)
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
