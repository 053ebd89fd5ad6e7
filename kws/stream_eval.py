"""Streaming evaluation: the detector on long synthetic streams, as false rejects and false
accepts per hour across thresholds.

Two streams are built and each is run through :class:`kws.detector.Detector` once:

* the **positive stream**: keyword clips placed one after another into negative audio (speech
  or noise), each at a given SNR, with random gaps; where each clip lies (first and one-past-
  last sample) and what it says is recorded;
* the **negative stream**: the negative audio alone, no keyword inserted.

The live run records every inference's int8 scores. Thresholds are then swept offline by
re-applying the detector's integer smoothing, threshold and refractory rule to those scores
(:class:`ThresholdSweep`), so a sweep over twenty thresholds costs one pass over the audio and
gives exactly the detections a ``Detector`` with that threshold gives (tested; checked at run
time at the detector's own threshold).

A detection is a hit when its keyword is the placed clip's word and its time lies within
``[clip end - before, clip end + after]``; each clip takes at most one hit. Every other
detection, in either stream, is a false accept. False accepts per hour count the false accepts
of **both** streams over the duration of both streams together: the positive stream is mostly
negative audio too, and a detection there that matches no clip is as false as any.

Everything is deterministic given the seed.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, Union

import numpy as np

from .audio import load_audio
from .detector import Detection, Detector, Inference, threshold_sums
from .errors import KwsError

PathLike = Union[str, "os.PathLike[str]"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
FULL_SCALE = 32768.0
#: A background quieter than this (RMS, dBFS) counts as this loud when setting a keyword's
#: level, so a keyword placed into digital silence stays audible instead of vanishing.
BACKGROUND_FLOOR_DBFS = -60.0
#: Mixed peaks are kept below this fraction of full scale: where a keyword at its SNR would
#: clip, keyword and background are turned down together around it (the SNR is unchanged).
PEAK_LIMIT = 0.9
#: Length of the gain ramps into and out of such a turned-down stretch.
RAMP_SECONDS = 0.05
#: Trimming: 10 ms frames, and a margin kept on either side of the speech found.
TRIM_FRAME_SECONDS = 0.01
TRIM_MARGIN_SECONDS = 0.02
#: Samples pushed into the detector at a time. Chunk sizes do not change its output; large
#: chunks amortise the per-call overhead of the streaming MFCC.
CHUNK_SECONDS = 10


# --------------------------------------------------------------------------------------------
# Sources: keyword clips and negative audio


@dataclass(frozen=True)
class KeywordSource:
    path: Path
    word: str


def _audio_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def audio_files(paths: Iterable[PathLike]) -> list[Path]:
    """Every wav/flac/ogg file named or found (recursively) under the given files and folders.

    Order: each argument in turn, files of a folder sorted by path, so the result does not depend
    on the filesystem's listing order.
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files = _audio_under(path)
            if not files:
                raise KwsError(f"{path} holds no wav, flac or ogg files")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise KwsError(f"no such file or folder: {path}")
    return found


def keyword_sources(folder: PathLike, keywords: Sequence[str], *, word: str | None = None) -> list[KeywordSource]:
    """The keyword clips of ``folder``, sorted by path.

    Without ``word``: a folder in Speech Commands layout; its clips of ``keywords`` (the words the
    detector may fire on). With ``word``: a plain folder of clips of that one word, every audio
    file under it.
    """
    from .data.speech_commands import scan

    folder = Path(folder)
    if not folder.is_dir():
        raise KwsError(f"no such folder: {folder}")
    if word is not None:
        if word not in keywords:
            raise KwsError(f"--word {word!r} is not a keyword this detector fires on ({', '.join(keywords)})")
        files = _audio_under(folder)
        if not files:
            raise KwsError(f"{folder} holds no wav, flac or ogg clips of {word!r}")
        return [KeywordSource(path, word) for path in files]
    clips, _ = scan(folder)
    sources = [KeywordSource(clip.path, clip.label) for clip in clips if clip.label in keywords]
    if not sources:
        raise KwsError(f"{folder} holds no clips of the keywords {', '.join(keywords)} "
                       "(expected Speech Commands layout, <word>/<clip>.wav; for a folder of one "
                       "wake word's clips, add --word NAME)")
    return sources


@dataclass(frozen=True, eq=False)
class NegativeAudio:
    samples: np.ndarray  #: int16, the files concatenated
    files: list[Path]  #: the files used, in stream order
    notes: list[str] = field(default_factory=list)


def load_negatives(files: Sequence[Path], *, seconds: float, seed: int, sample_rate: int = 16000,
                   progress: bool = False) -> NegativeAudio:
    """Up to ``seconds`` of the files concatenated, in an order shuffled by ``seed``.

    Shuffled so that a short evaluation of a large corpus (LibriSpeech) hears many speakers rather
    than the first few folders; the last file is cut to the length asked for.
    """
    order = np.random.default_rng([seed, 0]).permutation(len(files))
    wanted = int(round(seconds * sample_rate))
    pieces: list[np.ndarray] = []
    used: list[Path] = []
    notes: list[str] = []
    total = 0
    bar = _bar(progress, total=wanted / sample_rate, desc="negatives", unit="s")
    try:
        for index in order:
            if total >= wanted:
                break
            audio = load_audio(files[index], sample_rate=sample_rate)
            notes.extend(audio.notes)
            piece = audio.samples[: wanted - total]
            pieces.append(piece)
            used.append(files[index])
            total += len(piece)
            bar.update(len(piece) / sample_rate)
    finally:
        bar.close()
    return NegativeAudio(np.concatenate(pieces), used, notes)


def trim(samples: np.ndarray, sample_rate: int, *, below_peak_db: float = 30.0) -> tuple[int, int]:
    """(start, end) of the spoken part of a clip, 0 dB or less keeping the whole clip.

    Spoken: the first to the last 10 ms frame whose energy is within ``below_peak_db`` of the
    loudest frame and at least 10 dB above the clip's noise floor (its 10th-percentile frame),
    plus a 20 ms margin. Speech Commands clips are one second with the word somewhere inside
    and often a noisy room around it; the hit window is measured from where the word ends, not
    from where the file does.
    """
    if below_peak_db <= 0 or len(samples) == 0:
        return 0, len(samples)
    frame = max(1, int(TRIM_FRAME_SECONDS * sample_rate))
    n_frames = len(samples) // frame
    if n_frames == 0:
        return 0, len(samples)
    energy = (samples[: n_frames * frame].astype(np.float64).reshape(n_frames, frame) ** 2).mean(axis=1)
    peak = energy.max()
    if peak <= 0:
        return 0, len(samples)
    floor = np.percentile(energy, 10)
    threshold = min(max(peak * 10 ** (-below_peak_db / 10), floor * 10.0), peak)
    active = np.flatnonzero(energy >= threshold)
    margin = int(TRIM_MARGIN_SECONDS * sample_rate)
    start = max(0, int(active[0]) * frame - margin)
    end = min(len(samples), (int(active[-1]) + 1) * frame + margin)
    return start, end


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


# --------------------------------------------------------------------------------------------
# The positive stream


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


@dataclass(frozen=True, eq=False)
class Clip:
    """A keyword clip ready to place: int16 samples (already trimmed), its word and origin."""

    samples: np.ndarray
    word: str
    source: str


def select_sources(sources: Sequence[KeywordSource], count: int, *, seed: int) -> list[KeywordSource]:
    """``count`` clips drawn without replacement (all of them, shuffled, if there are fewer)."""
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(len(sources))[:count]
    return [sources[i] for i in order]


def load_clips(sources: Sequence[KeywordSource], *, sample_rate: int = 16000, trim_db: float = 30.0,
               progress: bool = False) -> tuple[list[Clip], list[str]]:
    """Load and trim each clip; silent clips (nothing to set an SNR by) are left out with a note."""
    clips: list[Clip] = []
    notes: list[str] = []
    for source in _bar(progress, iterable=sources, desc="keyword clips", unit="clip"):
        audio = load_audio(source.path, sample_rate=sample_rate)
        notes.extend(audio.notes)
        start, end = trim(audio.samples, sample_rate, below_peak_db=trim_db)
        samples = audio.samples[start:end]
        if _rms(samples) == 0.0:
            notes.append(f"{source.path}: digital silence, left out")
            continue
        clips.append(Clip(samples, source.word, str(source.path)))
    return clips, notes


def build_positive_stream(clips: Sequence[Clip], background: np.ndarray, *, snrs_db: Sequence[float],
                          gap_seconds: tuple[float, float] = (2.0, 5.0), seed: int = 0,
                          sample_rate: int = 16000) -> KeywordStream:
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
# Running the detector once, and the offline threshold sweep


@dataclass(frozen=True, eq=False)
class StreamScores:
    """What one live run of the detector over a stream saw."""

    frames: np.ndarray  #: (n,) newest MFCC frame of each inference
    scores: np.ndarray  #: (n, n_labels) int8 output vectors
    detections: list[Detection]  #: the live run's detections, at the detector's own threshold
    seconds: float  #: duration of the stream


def score_stream(detector: Detector, samples: np.ndarray, *, sample_rate: int = 16000, progress: bool = False,
                 desc: str = "detector") -> StreamScores:
    """Run ``detector`` (reset first) over ``samples``, keeping every inference's scores."""
    detector.reset()
    frames: list[int] = []
    scores: list[tuple[int, ...]] = []
    detections: list[Detection] = []
    chunk = CHUNK_SECONDS * sample_rate
    bar = _bar(progress, total=round(len(samples) / sample_rate, 1), desc=desc, unit="s")
    try:
        for start in range(0, len(samples), chunk):
            piece = samples[start : start + chunk]
            for event in detector.process(piece):
                if isinstance(event, Inference):
                    frames.append(event.frame)
                    scores.append(event.scores)
                elif isinstance(event, Detection):
                    detections.append(event)
            bar.update(round(len(piece) / sample_rate, 1))
    finally:
        bar.close()
    n_labels = len(detector.model.labels)
    return StreamScores(np.array(frames, dtype=np.int64),
                        np.array(scores, dtype=np.int8).reshape(len(scores), n_labels),
                        detections, len(samples) / sample_rate)


class ThresholdSweep:
    """The detector's decisions at any threshold, from the scores of one live run.

    This re-applies :class:`~kws.detector.Detector`'s integer rule (see its module docstring):
    per label, ``score - output zero point`` summed over the last ``min(k + 1, smoothing)``
    inferences; the best keyword fires when its sum reaches ``ceil(threshold / output_scale *
    count)``; then nothing for ``refractory_inferences`` inferences. The sums do not depend on the
    threshold, so they are computed once.
    """

    def __init__(self, detector: Detector, scores: StreamScores) -> None:
        self.detector = detector
        self.frames = scores.frames
        quant = detector.model.output_quantization
        self.scale = quant.scale
        self.smoothing = detector.config.smoothing
        offsets = scores.scores.astype(np.int64) - quant.zero_point
        n = len(offsets)
        cumulative = np.concatenate([np.zeros((1, offsets.shape[1]), dtype=np.int64), np.cumsum(offsets, axis=0)])
        index = np.arange(n)
        sums = cumulative[index + 1] - cumulative[np.maximum(0, index + 1 - self.smoothing)]
        self.count = np.minimum(index + 1, self.smoothing)
        keyword_sums = sums[:, detector.keyword_index]
        self.best = np.argmax(keyword_sums, axis=1)  # the first of equal sums, as in Detector
        self.best_sum = keyword_sums[index, self.best] if n else np.zeros(0, dtype=np.int64)

    def threshold_sums(self, threshold: float) -> np.ndarray:
        """The integer threshold per window fill (count 1..smoothing), as the detector uses it."""
        return np.array(threshold_sums(threshold, self.scale, self.smoothing), dtype=np.int64)

    def detections(self, threshold: float) -> list[Detection]:
        detector = self.detector
        if len(self.best_sum) == 0:
            return []
        candidates = np.flatnonzero(self.best_sum >= self.threshold_sums(threshold)[self.count - 1])
        refractory = detector.refractory_inferences
        labels = detector.model.labels
        out: list[Detection] = []
        position = 0
        while position < len(candidates):
            k = int(candidates[position])
            count = int(self.count[k])
            label = int(detector.keyword_index[self.best[k]])
            frame = int(self.frames[k])
            score = float(self.best_sum[k]) * self.scale / count
            out.append(Detection(detector.end_time(frame), labels[label], score, frame))
            # Detector: quiet while the inference index is below (k + 1) + refractory.
            position = int(np.searchsorted(candidates, k + 1 + refractory))
        return out


# --------------------------------------------------------------------------------------------
# Matching and the figures per threshold


def match(detections: Sequence[Detection], keywords: Sequence[PlacedKeyword], *, sample_rate: int,
          before: float = 0.5, after: float = 1.0) -> tuple[list[Detection | None], list[Detection]]:
    """(the hit of each placed keyword or None, the false accepts).

    A detection hits the earliest placed keyword not yet hit whose word it names and whose window
    ``[min(start, end - before), end + after]`` (seconds) holds its time: from the clip's start
    (or ``before`` s ahead of its end, if that is earlier) to ``after`` s past its end. Every
    other detection is false. A detection while the clip plays is a hit: real recordings trimmed
    by energy often keep breath or room noise after the word, so their "end" can be a second or
    more past the word's, and a detector that fires on the word itself must not be charged with
    a miss and a false accept for it.
    """
    hits: list[Detection | None] = [None] * len(keywords)
    false_accepts: list[Detection] = []
    order = sorted(range(len(keywords)), key=lambda i: (keywords[i].end, i))
    ends = np.array([keywords[i].end / sample_rate for i in order])
    opens = np.array([min(keywords[i].start / sample_rate, keywords[i].end / sample_rate - before) for i in order])
    longest = float((ends - opens).max()) if len(ends) else 0.0
    for detection in sorted(detections, key=lambda d: d.time):
        # Only keywords ending within [time - after, time + longest window] can take this
        # detection. (A little slack here; the exact test is below.)
        lo = int(np.searchsorted(ends, detection.time - after - 1e-6, side="left"))
        hi = int(np.searchsorted(ends, detection.time + longest + 1e-6, side="right"))
        for j in range(lo, hi):
            i = order[j]
            if hits[i] is None and keywords[i].word == detection.keyword \
                    and opens[j] <= detection.time <= ends[j] + after:
                hits[i] = detection
                break
        else:
            false_accepts.append(detection)
    return hits, false_accepts


def fa_per_hour(false_accepts: int, seconds: float) -> float:
    return false_accepts * 3600.0 / seconds


@dataclass(frozen=True)
class ThresholdResult:
    threshold: float
    keywords: int
    false_rejects: int
    false_rejects_by_snr: dict[float, tuple[int, int]]  #: snr -> (false rejects, keywords)
    false_accepts_positive: int
    false_accepts_negative: int
    seconds_positive: float
    seconds_negative: float
    latencies: tuple[float, ...]  #: detection time - clip end, seconds, of each hit

    @property
    def false_reject_rate(self) -> float:
        return self.false_rejects / self.keywords if self.keywords else 0.0

    @property
    def false_accepts(self) -> int:
        return self.false_accepts_positive + self.false_accepts_negative

    @property
    def fa_per_hour(self) -> float:
        """Both streams' false accepts over both streams' duration."""
        return fa_per_hour(self.false_accepts, self.seconds_positive + self.seconds_negative)

    @property
    def fa_per_hour_negative(self) -> float:
        """The negative stream alone."""
        return fa_per_hour(self.false_accepts_negative, self.seconds_negative) if self.seconds_negative else 0.0

    def latency_ms(self) -> dict[str, float] | None:
        if not self.latencies:
            return None
        values = np.array(self.latencies) * 1000.0
        return {"mean": round(float(values.mean()), 1), "median": round(float(np.median(values)), 1),
                "p90": round(float(np.percentile(values, 90)), 1), "min": round(float(values.min()), 1),
                "max": round(float(values.max()), 1)}

    def to_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "keywords": self.keywords,
            "false_rejects": self.false_rejects,
            "false_reject_rate": round(self.false_reject_rate, 6),
            "false_reject_rate_by_snr": {f"{snr:g}": round(fr / n, 6) if n else None
                                         for snr, (fr, n) in self.false_rejects_by_snr.items()},
            "false_accepts": self.false_accepts,
            "false_accepts_positive_stream": self.false_accepts_positive,
            "false_accepts_negative_stream": self.false_accepts_negative,
            "fa_per_hour": round(self.fa_per_hour, 6),
            "fa_per_hour_negative_stream": round(self.fa_per_hour_negative, 6),
            "latency_ms": self.latency_ms(),
        }


def evaluate_threshold(threshold: float, positive: ThresholdSweep, negative: ThresholdSweep | None,
                       stream: KeywordStream, *, seconds_negative: float, before: float = 0.5,
                       after: float = 1.0) -> ThresholdResult:
    hits, false_positive = match(positive.detections(threshold), stream.keywords,
                                 sample_rate=stream.sample_rate, before=before, after=after)
    false_negative = len(negative.detections(threshold)) if negative is not None else 0
    by_snr: dict[float, tuple[int, int]] = {}
    for placed, hit in zip(stream.keywords, hits):
        fr, n = by_snr.get(placed.snr_db, (0, 0))
        by_snr[placed.snr_db] = (fr + (hit is None), n + 1)
    latencies = tuple(hit.time - placed.end / stream.sample_rate
                      for placed, hit in zip(stream.keywords, hits) if hit is not None)
    return ThresholdResult(threshold, len(stream.keywords), sum(hit is None for hit in hits), by_snr,
                           len(false_positive), false_negative, stream.duration, seconds_negative, latencies)


def pick_target(results: Sequence[ThresholdResult], target_fa_per_hour: float) -> ThresholdResult | None:
    """Among thresholds with at most the target false accepts per hour, the fewest false
    rejects (then the fewest false accepts, then the higher threshold); None if none meets it."""
    meeting = [r for r in results if r.fa_per_hour <= target_fa_per_hour + 1e-12]
    if not meeting:
        return None
    return min(meeting, key=lambda r: (r.false_rejects, r.false_accepts, -r.threshold))


def parse_thresholds(text: str) -> list[float]:
    """``START:STOP:STEP`` (STOP included) or a comma-separated list; each in (0, 1]."""
    try:
        if ":" in text:
            start, stop, step = (float(part) for part in text.split(":"))
            if step <= 0:
                raise KwsError(f"--thresholds {text}: the step must be positive")
            n = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [round(start + i * step, 6) for i in range(max(n, 0))]
        else:
            values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise KwsError(f"--thresholds {text}: expected START:STOP:STEP or a comma-separated list") from None
    if not values:
        raise KwsError(f"--thresholds {text}: no thresholds")
    bad = [v for v in values if not 0.0 < v <= 1.0]
    if bad:
        raise KwsError(f"--thresholds {text}: thresholds are probabilities in (0, 1], not {bad[0]:g}")
    return sorted(set(values))


# --------------------------------------------------------------------------------------------
# Outputs


def stream_files(stream: KeywordStream, wav_path: Path, labels: dict) -> dict[Path, bytes]:
    """The positive stream as a 16-bit wav and its labels as JSON beside it (``NAME.json``)."""
    import json

    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, stream.samples, stream.sample_rate, format="WAV", subtype="PCM_16")
    return {wav_path: buffer.getvalue(),
            labels_path(wav_path): (json.dumps(labels, indent=1) + "\n").encode()}


def labels_path(wav_path: Path) -> Path:
    return Path(wav_path).with_suffix(".json")


def det_png(results: Sequence[ThresholdResult], *, default: ThresholdResult, target: ThresholdResult | None,
            target_fa_per_hour: float, title: str = "") -> bytes:
    """The DET curve: false-reject rate against false accepts per hour (log), one point a threshold.

    A log axis has no zero, so thresholds without a single false accept are drawn at half the
    rate of one false accept, marked "0 FA", left of a dotted line.
    """
    from matplotlib.figure import Figure

    seconds = results[0].seconds_positive + results[0].seconds_negative
    one = fa_per_hour(1, seconds)
    floor = one / 2

    def x_of(r: ThresholdResult) -> float:
        return max(r.fa_per_hour, floor)

    ordered = sorted(results, key=lambda r: r.threshold)
    figure = Figure(figsize=(7.5, 5.5), layout="constrained")
    axes = figure.add_subplot()
    snrs = sorted(ordered[0].false_rejects_by_snr, reverse=True)
    if len(snrs) > 1:
        for snr in snrs:
            rates = [100 * fr / n if n else np.nan for fr, n in (r.false_rejects_by_snr[snr] for r in ordered)]
            axes.plot([x_of(r) for r in ordered], rates, linestyle="--", linewidth=1, alpha=0.7,
                      label=f"{snr:g} dB SNR")
    axes.plot([x_of(r) for r in ordered], [100 * r.false_reject_rate for r in ordered], marker="o",
              markersize=4, color="black", linewidth=2, label="all keywords")
    for r in ordered:
        axes.annotate(f"{r.threshold:g}", (x_of(r), 100 * r.false_reject_rate), textcoords="offset points",
                      xytext=(4, 4), fontsize=7, color="dimgray")
    axes.plot([x_of(default)], [100 * default.false_reject_rate], marker="*", markersize=16, color="tab:red",
              linestyle="none", label=f"default threshold {default.threshold:g}")
    if target_fa_per_hour > 0:
        axes.axvline(target_fa_per_hour, color="tab:green", linestyle=":", linewidth=1.2)
    if target is not None:
        axes.plot([x_of(target)], [100 * target.false_reject_rate], marker="o", markersize=12,
                  markerfacecolor="none", markeredgecolor="tab:green", markeredgewidth=2, linestyle="none",
                  label=f"target {target_fa_per_hour:g} FA/h: threshold {target.threshold:g}")
    else:
        axes.plot([], [], color="tab:green", linestyle=":", label=f"target {target_fa_per_hour:g} FA/h: not met")
    if any(r.false_accepts == 0 for r in ordered):
        axes.axvline(one * 0.75, color="gray", linestyle=":", linewidth=0.8)
        axes.text(floor, 0.01, "0 FA", transform=axes.get_xaxis_transform(), ha="center", va="bottom",
                  fontsize=8, color="gray")
    axes.set_xscale("log")
    xs = [x_of(r) for r in ordered] + ([target_fa_per_hour] if target_fa_per_hour > 0 else [])
    axes.set_xlim(min(xs) / 1.6, max(xs) * 1.6)
    axes.set_ylim(0, max(axes.get_ylim()[1], 5.0))
    axes.set_xlabel(f"false accepts per hour (both streams, {seconds / 3600:.2f} h)")
    axes.set_ylabel("false-reject rate (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="lower left", fontsize=8)  # the corner a DET curve stays away from
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _bar(enabled: bool, *, iterable=None, **kwargs):
    """A tqdm bar on stderr, or a stand-in with the same methods when disabled or absent."""
    if enabled:
        try:
            from tqdm import tqdm

            # disable=None: no bar where stderr is not a terminal (logs, pipes, tests).
            return tqdm(iterable, leave=False, disable=None, **kwargs)
        except ImportError:
            pass
    return iterable if iterable is not None else _NoBar()


class _NoBar:
    def update(self, _n: float = 1) -> None:
        pass

    def close(self) -> None:
        pass
