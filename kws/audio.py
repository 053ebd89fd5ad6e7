"""Audio file input and output: whatever the user has, as the int16 mono 16 kHz the frontend takes.

The MFCC frontend (:func:`dsp.mfcc_q15`) is defined on int16 samples at one sample rate, like
the microphone driver on the device. Files are converted to that once, here, and every change
made on the way (resampling, downmixing, clipping) is reported as a note, so that nothing
silently differs between what the user recorded and what the model hears.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf

from dsp.config import SAMPLE_RATE

from .atomic import write_file_atomically
from .errors import KwsError

PathLike = Union[str, "os.PathLike[str]"]

#: Subtypes whose every sample libsndfile hands over as int16 without loss, so a file already
#: mono at the target rate is read bit-exactly, with no detour through float.
_EXACT_IN_INT16 = frozenset({"PCM_S8", "PCM_U8", "PCM_16"})

#: soundfile subtype written for each sample dtype by :func:`write_wav`.
_WAV_SUBTYPES = {
    np.dtype(np.int16): "PCM_16",
    np.dtype(np.int32): "PCM_32",
    np.dtype(np.float32): "FLOAT",
    np.dtype(np.float64): "DOUBLE",
}


@dataclass(frozen=True, eq=False)  # eq=False: element-wise ndarray comparison has no truth value
class LoadedAudio:
    """An audio file converted for the frontend."""

    samples: np.ndarray  #: int16, shape (n_samples,)
    sample_rate: int
    path: str
    notes: list[str] = field(default_factory=list)  #: what was done to the file's samples

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


class AudioFileError(KwsError):
    """A file :func:`load_audio` cannot turn into samples.

    ``str(error)`` is the whole message (the one line a command reading this file prints);
    ``path`` and ``reason`` let a command reading a folder of files skip it with a note instead.
    """

    def __init__(self, message: str, *, path: str, reason: str) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


#: What a file that is not a regular one is, by its stat type (a FIFO reports 0 bytes, and
#: opening one waits for a writer: it must be named before it is opened).
_SPECIAL_FILES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))

#: A WAV data chunk this long or longer is a writer's "length unknown" (output written to a
#: pipe: espeak-ng --stdout writes 0x7ffff000, others 0xffffffff), not a claim to check.
_UNKNOWN_WAV_LENGTH = 0x7FFF0000


def _check_is_readable_file(path: str) -> int:
    """The file's size, once it is known to be a readable regular file that is not empty."""
    # libsndfile reports a missing file, a directory and an empty file all as "System error"
    # or "Format not recognised"; the filesystem can say which it is.
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise AudioFileError(f"no such file: {path}", path=path, reason="no such file") from None
    except OSError as error:
        raise _cannot_read(path, error) from None
    if stat.S_ISDIR(status.st_mode):
        raise AudioFileError(f"{path} is a directory, not an audio file", path=path, reason="a directory")
    if not stat.S_ISREG(status.st_mode):
        kind = next((name for test, name in _SPECIAL_FILES if test(status.st_mode)), "something else")
        reason = f"not a regular file ({kind})"
        raise AudioFileError(f"{path} is {reason}", path=path, reason=reason)
    if status.st_size == 0:
        raise AudioFileError(f"{path} is empty (0 bytes)", path=path, reason="empty (0 bytes)")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:  # e.g. permission denied, which libsndfile also calls "System error"
        raise _cannot_read(path, error) from None
    return status.st_size


def _check_wav_is_whole(path: str, size: int) -> None:
    """Refuse a RIFF/WAVE file whose data chunk claims more bytes than the file holds: a copy
    or a download cut short, which libsndfile would read up to the cut without a word."""
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:] != b"WAVE":
            return  # not a WAV: libsndfile judges it
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk = handle.read(8)
            claimed = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                held = size - offset - 8
                if held < claimed < _UNKNOWN_WAV_LENGTH:
                    reason = f"truncated (its header promises {claimed} bytes of samples, the file holds {held})"
                    raise AudioFileError(f"{path} is {reason}", path=path, reason=reason)
                return
            offset += 8 + claimed + (claimed & 1)  # chunks are padded to even sizes


def _cannot_read(path: str, error: OSError) -> AudioFileError:
    reason = f"cannot read it: {error.strerror or error}"
    return AudioFileError(f"cannot read {path}: {error.strerror or error}", path=path, reason=reason)


def _read(path: str, target_rate: int) -> tuple[np.ndarray, int]:
    """(frames, channels) int16 or float64 samples, and the file's sample rate."""
    try:
        with sf.SoundFile(path) as audio:
            exact = (
                audio.subtype in _EXACT_IN_INT16
                and audio.channels == 1
                and audio.samplerate == target_rate
            )
            # float64 holds every int16/int24/int32 sample exactly, scaled by 2**-15/-23/-31.
            data = audio.read(dtype="int16" if exact else "float64", always_2d=True)
            return data, audio.samplerate
    except (sf.LibsndfileError, RuntimeError) as error:
        # LibsndfileError (a RuntimeError) carries libsndfile's reason without the file name.
        why = (getattr(error, "error_string", None) or str(error)).rstrip(".")
        reason = f"not a readable wav/flac/ogg file ({why})"
        raise AudioFileError(f"{path} is {reason}", path=path, reason=reason) from None


def to_int16(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Float samples in [-1, 1) -> int16 by rounding to nearest and clipping; also the clip count.

    The scale is 32768, the inverse of how libsndfile reads PCM_16 as float, so a 16-bit file
    that went through float unchanged comes back bit-exactly.
    """
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * 32768.0)
    clipped = int(np.count_nonzero((scaled < -32768) | (scaled > 32767)))
    return np.clip(scaled, -32768, 32767).astype(np.int16), clipped


def load_audio(path: PathLike, *, sample_rate: int = SAMPLE_RATE) -> LoadedAudio:
    """Read a wav, flac or ogg file (or another format libsndfile reads) as int16 mono.

    Several channels are averaged, another sample rate is resampled with a polyphase filter
    (``scipy.signal.resample_poly``), and float samples are rounded and clipped to int16; each
    such change adds a note. A mono integer file at ``sample_rate`` with 16 or fewer bits is
    read bit-exactly. Raises :class:`AudioFileError` naming the file when it is missing, not a
    regular file, empty, unreadable, a WAV shorter than its header says, has no samples, or
    holds NaN or infinite samples.
    """
    name = os.fspath(path)
    _check_wav_is_whole(name, _check_is_readable_file(name))
    data, file_rate = _read(name, sample_rate)
    if data.shape[0] == 0:
        raise AudioFileError(f"{name} contains no samples", path=name, reason="no samples")
    if data.dtype == np.int16:
        return LoadedAudio(samples=np.ascontiguousarray(data[:, 0]), sample_rate=sample_rate, path=name)

    # Only float files (FLOAT, DOUBLE) can hold these; the check is cheap next to resampling.
    if not np.isfinite(data).all():
        raise AudioFileError(f"{name} contains NaN or infinite samples", path=name, reason="NaN or infinite samples")
    notes: list[str] = []
    channels = data.shape[1]
    if channels > 1:
        mono = data.mean(axis=1)
        notes.append(f"{name}: downmixed {channels} channels to mono")
    else:
        mono = data[:, 0]
    if file_rate != sample_rate:
        # Imported here: scipy.signal is slow to import and most files need no resampling.
        from scipy.signal import resample_poly

        divisor = gcd(file_rate, sample_rate)
        mono = resample_poly(mono, sample_rate // divisor, file_rate // divisor)
        notes.append(f"{name}: resampled {file_rate} Hz -> {sample_rate} Hz")
    samples, clipped = to_int16(mono)
    if clipped:
        notes.append(f"{name}: clipped {clipped} samples outside the int16 range")
    return LoadedAudio(samples=samples, sample_rate=sample_rate, path=name, notes=notes)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Samples (shape (n,) or (n, channels)) as the bytes of a wav file.

    The wav subtype follows the dtype: int16 -> PCM_16, int32 -> PCM_32, float32 -> FLOAT,
    float64 -> DOUBLE, so what is written is what is read back.
    """
    samples = np.asarray(samples)
    subtype = _WAV_SUBTYPES.get(samples.dtype)
    if subtype is None:
        raise TypeError(f"cannot write {samples.dtype} samples as wav; use one of {sorted(map(str, _WAV_SUBTYPES))}")
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def write_wav(path: PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write samples as a wav file (:func:`wav_bytes`), atomically: the file appears under its
    name only once complete (temporary file in the same directory, then ``os.replace``)."""
    write_file_atomically(Path(path), wav_bytes(samples, sample_rate))
