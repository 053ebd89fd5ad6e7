"""The q8.7 MFCC of fixed-length clips, computed once per file and frontend and kept on disk.

Training reads the same ~100k one-second clips every run; their features depend only on the
file, the frontend config and the clip length, so they are computed once and reused.

Layout (default root ``datasets/cache/`` under the current directory, ignored by git)::

    <root>/mfcc-<key>/config.json         what the key stands for, for people
    <root>/mfcc-<key>/<dirhash>.npz       one shard per source directory

``<key>`` hashes ``config.to_json()``, the clip length and the shard format, so a different
frontend or clip length never sees another's features. A shard holds, for the files of one
directory (by resolved path), their names, sizes, ``mtime_ns`` and features, as plain arrays
(no pickle). An entry counts only while the file's size and ``mtime_ns`` still match, so a
changed file is recomputed alone. A shard per directory keeps a warm call to a few dozen file
reads for a whole Speech Commands split (one directory per word) rather than one per clip.

Shards are replaced atomically; one that cannot be read or does not match (truncated, foreign,
from another format) counts as empty and is rewritten, so a damaged cache costs time, never a
crash or wrong features.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import dsp
from dsp import MfccConfig

from ..atomic import write_file_atomically
from ..audio import load_audio
from ..errors import KwsError

#: Where features are cached unless told otherwise, relative to the current directory.
DEFAULT_CACHE_DIR = Path("datasets") / "cache"

#: Part of the key: bump when the shard layout or the meaning of its arrays changes.
_FORMAT = 1


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """``samples`` cut to its first ``n`` or zero-padded at the end to exactly ``n``, dtype kept."""
    samples = np.asarray(samples)
    if len(samples) >= n:
        return samples[:n]
    return np.concatenate([samples, np.zeros(n - len(samples), dtype=samples.dtype)])


def compute_clip(path: Path | str, *, config: MfccConfig, clip_samples: int) -> np.ndarray:
    """The uncached features of one file: int16 ``config.window_shape(clip_samples)``."""
    samples = load_audio(path, sample_rate=config.sample_rate).samples
    return dsp.mfcc_q15(fit_length(samples, clip_samples), config=config)


def cache_key(config: MfccConfig, clip_samples: int) -> str:
    """Names the cache directory of one (frontend config, clip length)."""
    text = f"format={_FORMAT}\nclip_samples={clip_samples}\nconfig={config.to_json()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _File:
    index: int  # position in the caller's list
    path: Path | str  # as the caller gave it (what errors name)
    name: str  # file name in its resolved directory
    size: int | None  # None: stat failed; never a hit, and loading it raises the error that says why
    mtime_ns: int | None


@dataclass
class _Shard:
    """The cached entries of one directory, as read from disk."""

    names: np.ndarray  # str, (n,)
    sizes: np.ndarray  # int64, (n,)
    mtimes: np.ndarray  # int64, (n,)
    features: np.ndarray  # int16, (n, n_frames, n_mfcc)

    @classmethod
    def empty(cls, frame_shape: tuple[int, int]) -> "_Shard":
        return cls(
            names=np.array([], dtype=str), sizes=np.zeros(0, np.int64), mtimes=np.zeros(0, np.int64),
            features=np.zeros((0, *frame_shape), np.int16),
        )

    def index(self) -> dict[str, int]:
        return {str(name): row for row, name in enumerate(self.names)}


def _shard_path(key_dir: Path, directory: str) -> Path:
    return key_dir / f"{hashlib.sha256(directory.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}.npz"


def _load_shard(path: Path, directory: str, frame_shape: tuple[int, int]) -> _Shard:
    """The shard at ``path``, or an empty one if it is absent, unreadable or not what it claims."""
    try:
        # Our own handle: np.load leaves its file open when the zip turns out to be damaged.
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as stored:
            shard = _Shard(
                names=stored["names"], sizes=stored["sizes"], mtimes=stored["mtimes"], features=stored["features"]
            )
            stored_directory = str(stored["directory"])
    except Exception:  # noqa: BLE001 (absent, truncated, not a zip, missing arrays: all mean "recompute")
        return _Shard.empty(frame_shape)
    n = len(shard.names)
    valid = (
        stored_directory == directory
        and shard.names.ndim == 1
        and shard.names.dtype.kind == "U"
        and shard.sizes.shape == shard.mtimes.shape == (n,)
        and shard.sizes.dtype == shard.mtimes.dtype == np.int64
        and shard.features.dtype == np.int16
        and shard.features.shape == (n, *frame_shape)
    )
    return shard if valid else _Shard.empty(frame_shape)


def _save_shard(path: Path, directory: str, shard: _Shard) -> None:
    buffer = io.BytesIO()
    # Uncompressed: int16 MFCCs compress poorly, and a warm call should only read.
    np.savez(
        buffer, directory=np.array(directory), names=shard.names, sizes=shard.sizes,
        mtimes=shard.mtimes, features=shard.features,
    )
    write_file_atomically(path, buffer.getvalue())


def _merge(old: _Shard, new: dict[str, tuple[int, int, np.ndarray]], frame_shape: tuple[int, int]) -> _Shard:
    """``old`` with the entries in ``new`` (name -> size, mtime_ns, features) added or replaced."""
    keep = [row for row, name in enumerate(old.names) if str(name) not in new]
    names = list(new)
    return _Shard(
        names=np.concatenate([old.names[keep].astype(str), np.array(names, dtype=str)]),
        sizes=np.concatenate([old.sizes[keep], np.array([new[n][0] for n in names], np.int64)]),
        mtimes=np.concatenate([old.mtimes[keep], np.array([new[n][1] for n in names], np.int64)]),
        features=np.concatenate(
            [old.features[keep], np.stack([new[n][2] for n in names]).reshape(-1, *frame_shape)]
        ),
    )


def _prepare_key_dir(root: Path, config: MfccConfig, clip_samples: int) -> Path:
    key_dir = root / f"mfcc-{cache_key(config, clip_samples)}"
    try:
        key_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot create the feature cache {key_dir}: {error.strerror or error}") from None
    description = key_dir / "config.json"
    if not description.is_file():
        document = {"format": _FORMAT, "clip_samples": clip_samples, "config": config.to_dict()}
        write_file_atomically(description, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
    return key_dir


def _group_by_directory(paths: Sequence[Path | str]) -> dict[str, list[_File]]:
    """Resolved directory -> the files in it, with their size and mtime."""
    groups: dict[str, list[_File]] = defaultdict(list)
    for index, path in enumerate(paths):
        resolved = os.path.realpath(path)
        directory, name = os.path.split(resolved)
        try:
            status = os.stat(resolved)
            size, mtime_ns = status.st_size, status.st_mtime_ns
        except OSError:
            size = mtime_ns = None
        groups[directory].append(_File(index, path, name, size, mtime_ns))
    return groups


def clip_features(
    paths: Sequence[Path | str],
    *,
    config: MfccConfig,
    clip_samples: int,
    cache_dir: Path | None = None,
    progress: bool = False,
) -> np.ndarray:
    """The q8.7 MFCC of each file as one int16 array (len(paths), n_frames, n_mfcc).

    Each file is read as ``config.sample_rate`` mono (:func:`kws.audio.load_audio`), cut or
    zero-padded at the end to ``clip_samples`` (:func:`fit_length`), and passed through
    :func:`dsp.mfcc_q15`, unless ``cache_dir`` (default ``datasets/cache/``) already holds the
    result for this file, size, mtime, config and clip length. ``progress`` shows a bar on
    stderr while features are computed. Raises :class:`KwsError` for an unreadable audio file
    or an unwritable cache.
    """
    if clip_samples < config.frame_length:
        raise ValueError(f"clip_samples={clip_samples} holds no frame of {config.frame_length} samples")
    frame_shape = config.window_shape(clip_samples)
    result = np.empty((len(paths), *frame_shape), dtype=np.int16)
    if not len(paths):
        return result
    key_dir = _prepare_key_dir(Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR, config, clip_samples)

    # First pass: fill every hit, collect the misses (so the progress bar knows their number).
    misses: dict[str, list[_File]] = {}
    for directory, files in _group_by_directory(paths).items():
        shard = _load_shard(_shard_path(key_dir, directory), directory, frame_shape)
        rows = shard.index()
        missing = []
        for file in files:
            row = rows.get(file.name)
            if (
                row is not None
                and file.size is not None
                and shard.sizes[row] == file.size
                and shard.mtimes[row] == file.mtime_ns
            ):
                result[file.index] = shard.features[row]
            else:
                missing.append(file)
        if missing:
            misses[directory] = missing
    if not misses:
        return result

    # Second pass: compute the misses, then add them to their shard, one directory at a time,
    # so an interrupted run keeps what it finished.
    bar = None
    if progress:
        from ..download import Progress

        bar = Progress("mfcc", sum(map(len, misses.values())), unit="clips", enabled=True)
    try:
        for directory, files in misses.items():
            computed: dict[str, tuple[int, int, np.ndarray]] = {}
            for file in files:
                if file.name in computed:  # the same file listed twice
                    result[file.index] = computed[file.name][2]
                else:
                    features = compute_clip(file.path, config=config, clip_samples=clip_samples)
                    result[file.index] = features
                    if file.size is not None and file.mtime_ns is not None:
                        computed[file.name] = (file.size, file.mtime_ns, features)
                if bar is not None:
                    bar.update(1)
            if computed:
                shard_path = _shard_path(key_dir, directory)
                # Re-read: another run may have added entries since the first pass.
                old = _load_shard(shard_path, directory, frame_shape)
                _save_shard(shard_path, directory, _merge(old, computed, frame_shape))
    finally:
        if bar is not None:
            bar.close()
    return result
