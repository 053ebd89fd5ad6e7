"""Streaming evaluation: the detector on long streams, as false rejects and false accepts per
hour across thresholds.

Two streams are run through :class:`kws.detector.Detector` once each: the **positive stream**,
keyword clips placed into negative audio (:mod:`kws.keyword_stream`), and the **negative
stream**, the negative audio alone (:func:`kws.audio_files.load_negatives`).

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from dsp.config import SAMPLE_RATE

from .detector import Detection, Detector, Inference, threshold_sums
from .errors import KwsError
from .progress import progress_bar

if TYPE_CHECKING:
    from .keyword_stream import KeywordStream, PlacedKeyword

#: Samples pushed into the detector at a time. Chunk sizes do not change its output; large
#: chunks amortise the per-call overhead of the streaming MFCC.
CHUNK_SECONDS = 10


# --------------------------------------------------------------------------------------------
# Running the detector once, and the offline threshold sweep


@dataclass(frozen=True, eq=False)
class StreamScores:
    """What one live run of the detector over a stream saw."""

    frames: np.ndarray  #: (n,) newest MFCC frame of each inference
    scores: np.ndarray  #: (n, n_labels) int8 output vectors
    detections: list[Detection]  #: the live run's detections, at the detector's own threshold
    seconds: float  #: duration of the stream


def score_stream(detector: Detector, samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE,
                 progress: bool = False, desc: str = "detector") -> StreamScores:
    """Run ``detector`` (reset first) over ``samples``, keeping every inference's scores."""
    detector.reset()
    frames: list[int] = []
    scores: list[tuple[int, ...]] = []
    detections: list[Detection] = []
    chunk = CHUNK_SECONDS * sample_rate
    bar = progress_bar(enabled=progress, total=round(len(samples) / sample_rate, 1), desc=desc, unit="s")
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
