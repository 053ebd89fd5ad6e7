"""Where a command may write: never over or among what it reads, never into a missing folder.

:func:`check_outputs` is the one rule every command applies to its output paths before it
starts work. An output is refused (one :class:`~kws.errors.KwsError` line) when it

- is one of the command's input files or folders, through a symlink or a hard link too;
- lies inside an input folder the command reads (``--save-stream`` among the ``--negatives``
  would be read back as a negative next time; a model's folder holds the model);
- is a folder that holds one of the inputs (replacing it would delete the input);
- names the same file as another output; or
- lies in a folder that does not exist: no command creates missing parent folders (a typo
  must not make ``/nonexistent/...`` at the filesystem root), the folder a command is asked
  to make (``--out DIR``) is made only inside an existing one.

A symlink given as an output file is written through: its target gets the new content and the
link stays (:mod:`kws.atomic`), as ``open(path, "w")`` would do.

:func:`restored_on_failure` makes a command that builds into an output folder all-or-nothing.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Optional, Union

from .errors import KwsError

PathLike = Union[str, "os.PathLike[str]"]
#: An option's path(s); None for an option not given.
Paths = Union[PathLike, Iterable[PathLike], None]


def _listed(paths: Paths) -> list[Path]:
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths if p is not None]


def _real(path: Path) -> Path:
    """The path with every symlink followed (also for a path that does not exist yet)."""
    return Path(os.path.realpath(path))


def _same(first: Path, second: Path) -> bool:
    if _real(first) == _real(second):
        return True
    try:
        return os.path.samefile(first, second)  # hard links
    except OSError:  # one of them does not exist
        return False


def _within(inner: Path, outer: Path) -> bool:
    return _real(inner).is_relative_to(_real(outer))


def _clash(name: str, output: Path, source: str, path: Path) -> Optional[str]:
    """Why ``output`` (option ``name``) must not be written given the input ``path`` (``source``)."""
    if _same(output, path):
        return f"{name} {output} is {source} {path}: writing it would destroy that input"
    if _within(output, path):
        return f"{name} {output} lies inside {source} {path}, which this command reads: write it elsewhere"
    if _within(path, output):
        return f"{name} {output} holds {source} {path}: name a folder apart from the inputs"
    return None


def _check_parent(name: str, output: Path) -> None:
    parent = _real(output).parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise KwsError(f"cannot write {name} {output}: the folder {parent} {what} (create it first)")


def check_outputs(*, files: Mapping[str, Paths] = {}, folders: Mapping[str, Paths] = {},
                  inputs: Mapping[str, Paths] = {}) -> None:
    """Refuse, in one line, output ``files`` and ``folders`` that the rule above forbids.

    Each mapping goes from the option's name ("--npy", "the model") to its path or paths; None
    stands for an option not given. ``inputs`` are every file and folder the command reads.
    """
    outputs = [(name, path, False) for name, paths in files.items() for path in _listed(paths)]
    outputs += [(name, path, True) for name, paths in folders.items() for path in _listed(paths)]
    sources = [(name, path) for name, paths in inputs.items() for path in _listed(paths)]
    for index, (name, output, is_folder) in enumerate(outputs):
        if is_folder and output.exists() and not output.is_dir():
            raise KwsError(f"{name} {output} exists and is not a folder")
        if not is_folder and output.is_dir():
            raise KwsError(f"cannot write {name} {output}: it is a directory")
        _check_parent(name, output)
        for source, path in sources:
            problem = _clash(name, output, source, path)
            if problem:
                raise KwsError(problem)
        for other_name, other, _ in outputs[index + 1:]:
            if _same(output, other) or _within(output, other) or _within(other, output):
                raise KwsError(f"{name} {output} and {other_name} {other} name the same place")


@contextmanager
def restored_on_failure(folder: PathLike) -> Iterator[Path]:
    """Build into ``folder`` in place; if the block fails, put back exactly what was there.

    A folder that did not exist is removed again; one that did (a previous build) is copied
    aside first, with its files' times, and restored whole when the block raises (Ctrl-C too),
    or dropped when it succeeds. In place rather than in a temporary folder renamed at the end,
    because a build records its own folder's path (the compile commands that keep rebuilds
    incremental, the link command in size.json, the debug information in the ELF).
    """
    folder = Path(folder)
    backup = folder.with_name(f".{folder.name}.previous")
    existed = folder.exists()
    if existed:
        shutil.rmtree(backup, ignore_errors=True)  # left by a run that was killed outright
        try:
            shutil.copytree(folder, backup, symlinks=True)
        except BaseException:
            shutil.rmtree(backup, ignore_errors=True)
            raise
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if existed:
            os.replace(backup, folder)
        raise
    if existed:
        shutil.rmtree(backup, ignore_errors=True)
