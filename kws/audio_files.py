"""Audio by the folder: finding the files, and reading many of them without one bad file
stopping the rest.

Folders of recordings gathered from many people (crowd-sourced wake words, a corpus copied
from elsewhere) often hold a few files that do not decode. A command walking such a folder
skips each of them with one note naming it and goes on (:func:`load_audio_files`, the one
place that rule lives); a file the user named is still an error, as in every command that
reads one file (:func:`kws.audio.load_audio`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence, Union

import numpy as np

from dsp.config import SAMPLE_RATE

from .audio import AudioFileError, LoadedAudio, load_audio
from .errors import KwsError
from .progress import progress_bar

PathLike = Union[str, "os.PathLike[str]"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class FoundFile(type(Path())):  # type: ignore[misc]  # Path's concrete class on this system
    """A path found by walking a folder, not named by the user: when it does not decode,
    :func:`load_audio_files` skips it with a note instead of stopping.

    The mark travels with the path through the lists callers shuffle, slice and split, so the
    rule needs no second list of which files were named.
    """


def audio_under(folder: Path) -> list[Path]:
    """Every wav/flac/ogg file under ``folder`` (recursively), sorted by path, each a :class:`FoundFile`."""
    return sorted(FoundFile(p) for p in Path(folder).rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def audio_files(paths: Iterable[PathLike]) -> list[Path]:
    """Every wav/flac/ogg file named or found (recursively) under the given files and folders.

    Order: each argument in turn, files of a folder sorted by path, so the result does not depend
    on the filesystem's listing order. Files found in a folder are :class:`FoundFile`.
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = audio_under(path)
            if not files:
                raise KwsError(f"{path} holds no wav, flac or ogg files")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a named pipe or a device: reading it would wait or never end
            raise KwsError(f"{path} is neither a regular file nor a folder")
        else:
            raise KwsError(f"no such file or folder: {path}")
    return found


def load_audio_files(paths: Iterable[Path], *, sample_rate: int = SAMPLE_RATE) -> Iterator[tuple[Path, LoadedAudio]]:
    """(path, audio) of each file that decodes, in order, each read by :func:`load_audio` only
    when the caller asks for the next.

    A file that does not decode, found by walking a folder (:class:`FoundFile`), is skipped with
    one note, ``skipped FILE: why``; a file the user named raises its :class:`AudioFileError`.
    """
    from .console import note

    for path in paths:
        try:
            audio = load_audio(path, sample_rate=sample_rate)
        except AudioFileError as error:
            if not isinstance(path, FoundFile):
                raise
            note(f"skipped {path}: {error.reason}")
            continue
        yield path, audio


@dataclass(frozen=True, eq=False)
class NegativeAudio:
    samples: np.ndarray  #: int16, the files concatenated
    files: list[Path]  #: the files used, in stream order
    notes: list[str] = field(default_factory=list)


def load_negatives(files: Sequence[Path], *, seconds: float, seed: int, sample_rate: int = SAMPLE_RATE,
                   progress: bool = False) -> NegativeAudio:
    """Up to ``seconds`` of the files concatenated, in an order shuffled by ``seed``.

    Shuffled so that a short evaluation of a large corpus (LibriSpeech) hears many speakers rather
    than the first few folders; the last file is cut to the length asked for. Files are read only
    until there is enough, so an undecodable file is noted only when its turn comes.
    """
    order = np.random.default_rng([seed, 0]).permutation(len(files))
    wanted = int(round(seconds * sample_rate))
    readable = load_audio_files((files[i] for i in order), sample_rate=sample_rate)
    pieces: list[np.ndarray] = []
    used: list[Path] = []
    notes: list[str] = []
    total = 0
    bar = progress_bar(enabled=progress, total=wanted / sample_rate, desc="negatives", unit="s")
    try:
        while total < wanted:
            loaded = next(readable, None)
            if loaded is None:
                break
            path, audio = loaded
            notes.extend(audio.notes)
            piece = audio.samples[: wanted - total]
            pieces.append(piece)
            used.append(path)
            total += len(piece)
            bar.update(len(piece) / sample_rate)
    finally:
        bar.close()
    if not pieces:
        if files and wanted > 0:
            raise KwsError("every audio file was skipped: none of them decodes")
        return NegativeAudio(np.zeros(0, dtype=np.int16), used, notes)
    return NegativeAudio(np.concatenate(pieces), used, notes)
