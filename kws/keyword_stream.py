"""The positive stream of ``kws evaluate-stream`` and of wake-word calibration: keyword clips
placed one after another into negative audio (speech or noise), each at a given SNR, with
random gaps, and where each clip lies (first and one-past-last sample) and what it says.

From the clips' folder to the stream: :func:`keyword_sources` finds the clips,
:func:`select_sources` draws some, :func:`load_clips` reads and trims them (an undecodable
clip is skipped with a note), :func:`build_positive_stream` places them, :func:`stream_files`
writes the result. Everything is deterministic given the seed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from dsp.config import SAMPLE_RATE

from .audio import wav_bytes
from .audio_files import FoundFile, audio_under, load_audio_files
from .errors import KwsError
from .progress import progress_bar
from .trim import trim

PathLike = Union[str, "os.PathLike[str]"]

FULL_SCALE = 32768.0
#: A background quieter than this (RMS, dBFS) counts as this loud when setting a keyword's
#: level, so a keyword placed into digital silence stays audible instead of vanishing.
BACKGROUND_FLOOR_DBFS = -60.0
#: Mixed peaks are kept below this fraction of full scale: where a keyword at its SNR would
#: clip, keyword and background are turned down together around it (the SNR is unchanged).
PEAK_LIMIT = 0.9
#: Length of the gain ramps into and out of such a turned-down stretch.
RAMP_SECONDS = 0.05


# --------------------------------------------------------------------------------------------
# The keyword clips


@dataclass(frozen=True)
class KeywordSource:
    path: Path
    word: str


def keyword_sources(folder: PathLike, keywords: Sequence[str], *, word: str | None = None) -> list[KeywordSource]:
    """The keyword clips of ``folder``, sorted by path.

    Without ``word``: a folder in Speech Commands layout; its clips of ``keywords`` (the words the
    detector may fire on). With ``word``: a plain folder of clips of that one word, every audio
    file under it. Either way the clips are found by walking a folder (:class:`FoundFile`).
    """
    from .data.speech_commands import scan

    folder = Path(folder)
    if not folder.is_dir():
        raise KwsError(f"no such folder: {folder}")
    if word is not None:
        if word not in keywords:
            raise KwsError(f"--word {word!r} is not a keyword this detector fires on ({', '.join(keywords)})")
        files = audio_under(folder)
        if not files:
            raise KwsError(f"{folder} holds no wav, flac or ogg clips of {word!r}")
        return [KeywordSource(path, word) for path in files]
    clips, _ = scan(folder)
    sources = [KeywordSource(FoundFile(clip.path), clip.label) for clip in clips if clip.label in keywords]
    if not sources:
        raise KwsError(f"{folder} holds no clips of the keywords {', '.join(keywords)} "
                       "(expected Speech Commands layout, <word>/<clip>.wav; for a folder of one "
                       "wake word's clips, add --word NAME)")
    return sources


def select_sources(sources: Sequence[KeywordSource], count: int, *, seed: int) -> list[KeywordSource]:
    """``count`` clips drawn without replacement (all of them, shuffled, if there are fewer)."""
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(len(sources))[:count]
    return [sources[i] for i in order]


@dataclass(frozen=True, eq=False)
class Clip:
    """A keyword clip ready to place: int16 samples (already trimmed), its word and origin."""

    samples: np.ndarray
    word: str
    source: str


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


def load_clips(sources: Sequence[KeywordSource], *, sample_rate: int = SAMPLE_RATE, trim_db: float = 30.0,
               progress: bool = False) -> tuple[list[Clip], list[str]]:
    """Load and trim each clip; silent clips (nothing to set an SNR by) are left out with a note,
    undecodable ones are skipped (:func:`kws.audio_files.load_audio_files`)."""
    words = {source.path: source.word for source in sources}
    clips: list[Clip] = []
    notes: list[str] = []
    readable = load_audio_files([source.path for source in sources], sample_rate=sample_rate)
    for path, audio in progress_bar(readable, enabled=progress, total=len(sources), desc="keyword clips",
                                    unit="clip"):
        notes.extend(audio.notes)
        start, end = trim(audio.samples, sample_rate, below_peak_db=trim_db)
        samples = audio.samples[start:end]
        if _rms(samples) == 0.0:
            notes.append(f"{path}: digital silence, left out")
            continue
        clips.append(Clip(samples, words[path], str(path)))
    return clips, notes


# --------------------------------------------------------------------------------------------
# The stream


@dataclass(frozen=True)
class PlacedKeyword:
    """One keyword clip in a stream: samples ``[start, end)``."""

    start: int
    end: int
    word: str
    snr_db: float
    source: str
    #: How far keyword and background were turned down together to keep the mix from clipping.
    attenuation_db: float = 0.0

    def to_dict(self, sample_rate: int) -> dict:
        return {"start": self.start, "end": self.end, "start_s": round(self.start / sample_rate, 4),
                "end_s": round(self.end / sample_rate, 4), "word": self.word, "snr_db": self.snr_db,
                "attenuation_db": round(self.attenuation_db, 2), "source": self.source}


@dataclass(frozen=True, eq=False)
class KeywordStream:
    samples: np.ndarray  #: int16
    sample_rate: int
    keywords: tuple[PlacedKeyword, ...]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def build_positive_stream(clips: Sequence[Clip], background: np.ndarray, *, snrs_db: Sequence[float],
                          gap_seconds: tuple[float, float] = (2.0, 5.0), seed: int = 0,
                          sample_rate: int = SAMPLE_RATE) -> KeywordStream:
    """Place ``clips``, in order, into ``background`` (cycled if shorter than the stream).

    Layout: gap, clip, gap, clip, ..., clip, gap, each gap uniform in ``gap_seconds`` (drawn with
    ``seed``); clip i gets ``snrs_db[i % len(snrs_db)]``, so each SNR gets an equal share. The SNR
    is the clip's RMS over the background's RMS under it (before mixing). The background starts
    at a seeded offset into the negative audio.
    """
    if not clips:
        raise KwsError("no keyword clips to place")
    if len(background) == 0:
        raise KwsError("no negative audio to place keywords into")
    if not snrs_db:
        raise ValueError("snrs_db is empty")
    rng = np.random.default_rng([seed, 2])
    gaps = np.round(rng.uniform(*gap_seconds, size=len(clips) + 1) * sample_rate).astype(np.int64)
    offset = int(rng.integers(len(background)))
    starts = []
    position = 0
    for clip, gap in zip(clips, gaps):
        position += int(gap)
        starts.append(position)
        position += len(clip.samples)
    length = position + int(gaps[-1])
    mix = np.take(background, np.arange(offset, offset + length) % len(background)).astype(np.float64)
    envelope: np.ndarray | None = None  # gain of the turned-down stretches, made when first needed
    floor = FULL_SCALE * 10 ** (BACKGROUND_FLOOR_DBFS / 20)
    ramp = max(1, int(RAMP_SECONDS * sample_rate))
    placed: list[PlacedKeyword] = []
    for i, (clip, start) in enumerate(zip(clips, starts)):
        end = start + len(clip.samples)
        snr = float(snrs_db[i % len(snrs_db)])
        # Clips never overlap, so mix[start:end] is still the bare background here.
        local = max(_rms(mix[start:end]), floor)
        gain = local * 10 ** (snr / 20) / _rms(clip.samples)
        mix[start:end] += clip.samples.astype(np.float64) * gain
        peak = float(np.abs(mix[start:end]).max())
        scale = min(1.0, PEAK_LIMIT * FULL_SCALE / peak) if peak > 0 else 1.0
        if scale < 1.0:
            # Turn keyword and background down together (the SNR stays what was asked), with
            # short ramps so the level change itself is no click the model could react to.
            lo, hi = max(0, start - ramp), min(length, end + ramp)
            shape = np.full(hi - lo, scale)
            shape[: start - lo] = np.linspace(1.0, scale, start - lo, endpoint=False)
            shape[end - lo :] = np.linspace(scale, 1.0, hi - end + 1)[1:]
            if envelope is None:
                envelope = np.ones(length, dtype=np.float32)
            envelope[lo:hi] = np.minimum(envelope[lo:hi], shape)
        placed.append(PlacedKeyword(start, end, clip.word, snr, clip.source,
                                    attenuation_db=max(0.0, -20 * math.log10(scale))))
    if envelope is not None:
        mix *= envelope
    np.rint(mix, out=mix)
    samples = np.clip(mix, -32768, 32767).astype(np.int16)
    return KeywordStream(samples, sample_rate, tuple(placed))


# --------------------------------------------------------------------------------------------
# Writing it


def stream_files(stream: KeywordStream, wav_path: Path, labels: dict) -> dict[Path, bytes]:
    """The positive stream as a 16-bit wav and its labels as JSON beside it (``NAME.json``)."""
    return {wav_path: wav_bytes(stream.samples, stream.sample_rate),
            labels_path(wav_path): (json.dumps(labels, indent=1) + "\n").encode()}


def labels_path(wav_path: Path) -> Path:
    return Path(wav_path).with_suffix(".json")
