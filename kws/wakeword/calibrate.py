"""The detection threshold for a target false-accept rate, with the streaming detector's rule.

The int8 model runs once, through :class:`kws.detector.Detector`, over a negative stream (held-out
speech and noise, no wake word) and over a positive stream (held-out wake-word clips placed into
background at several SNRs, :func:`kws.keyword_stream.build_positive_stream`). Every threshold of a
fine grid is then applied offline with :class:`kws.stream_eval.ThresholdSweep` (the detector's
exact integer smoothing, threshold and refractory rule), and the threshold with the fewest false
rejects at no more than the target false accepts per hour is chosen
(:func:`kws.stream_eval.pick_target`). When none meets it, the threshold with the fewest false
accepts (then the lowest) is chosen and the report says the target was not met.

A stream of H hours measures false accepts in steps of 1/H per hour: with less than 1/target
hours of negatives, meeting the target means no false accept at all, and the threshold lands just
above the single highest-scoring negative moment, wherever one outlier puts it. There the rate is
estimated instead (:func:`tail_threshold`): the scores of the false accepts above a threshold
``u`` are taken as exponentially distributed (a peaks-over-threshold model of the tail), their
mean excess read off the sweep, and the threshold put where the fitted rate meets the target,
but never where the calibration audio itself shows more than one false accept. The report
states the method and, for the estimate, the rate it expects at the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..detector import Detector
from ..detector_config import DetectorConfig
from ..keyword_stream import Clip, KeywordStream, build_positive_stream
from ..labels import keywords_of
from ..model_file import KwsModel
from ..plots import det_png
from ..stream_eval import ThresholdResult, ThresholdSweep, evaluate_threshold, fa_per_hour, pick_target, score_stream

#: Thresholds tried: every 0.01 from 0.05 to 0.99, then finer up to 1.
THRESHOLDS = tuple(round(t, 4) for t in list(np.arange(0.05, 0.99, 0.01)) + [0.99, 0.995, 0.998, 1.0])


#: The tail fit starts at the lowest threshold with at most this many false accepts ...
TAIL_EVENTS = 20
#: ... and needs at least this many there; a model that hardly ever fires gives no tail to fit.
MIN_TAIL_EVENTS = 5


@dataclass(frozen=True)
class TailEstimate:
    threshold: float  # where the fitted rate meets the target (not snapped to the grid)
    start: float  # u: the lowest threshold of the fit
    events: int  # false accepts at u
    mean_excess: float  # the exponential's mean: score above u, averaged over the false accepts
    hours: float

    def fa_per_hour(self, threshold: float) -> float:
        """The fitted false accepts per hour at ``threshold`` (>= ``start``)."""
        return self.events * float(np.exp(-(threshold - self.start) / self.mean_excess)) / self.hours


def tail_threshold(results: Sequence[ThresholdResult], *, hours: float, target_fa_per_hour: float,
                   tail_events: int = TAIL_EVENTS, min_events: int = MIN_TAIL_EVENTS) -> TailEstimate | None:
    """An exponential tail fitted to a threshold sweep's false accepts, or None where the sweep
    has fewer than ``min_events`` false accepts at the lowest threshold with at most
    ``tail_events`` (nothing to fit).

    With N(t) the false accepts at threshold t, u the lowest swept threshold with N(u) <=
    ``tail_events``: N(t) = N(u) exp(-(t - u) / b) for t >= u, where b, the mean excess, is the
    area under N above u over N(u) (the integral of a survival function is its mean), by the
    trapezoid rule on the swept thresholds. The target rate r over H hours is met at
    t = u + b ln(N(u) / (r H)).
    """
    if hours <= 0 or target_fa_per_hour <= 0:
        raise ValueError("hours and target_fa_per_hour must be positive")
    ordered = sorted(results, key=lambda r: r.threshold)
    thresholds = np.array([r.threshold for r in ordered])
    counts = np.array([r.false_accepts for r in ordered], dtype=np.float64)
    within = np.flatnonzero(counts <= tail_events)
    if not len(within) or counts[within[0]] < min_events:
        return None
    i = int(within[0])
    events, start = counts[i], float(thresholds[i])
    area = float(np.sum((counts[i + 1:] + counts[i:-1]) / 2 * np.diff(thresholds[i:])))
    mean_excess = max(area / float(events), 1e-6)
    threshold = start + mean_excess * float(np.log(events / (target_fa_per_hour * hours)))
    return TailEstimate(float(threshold), start, int(events), float(mean_excess), float(hours))


@dataclass
class Calibration:
    threshold: float
    target_fa_per_hour: float
    met: bool
    chosen: ThresholdResult
    results: list[ThresholdResult]
    negative_seconds: float
    positive_seconds: float
    positives: int
    #: "count": the false accepts counted on the calibration audio met the target;
    #: "tail estimate": the audio was too short to count the target (see the module's docstring)
    method: str = "count"
    tail: TailEstimate | None = None

    def to_dict(self) -> dict:
        seconds = self.negative_seconds + self.positive_seconds
        return {
            "threshold": self.threshold,
            "target_fa_per_hour": self.target_fa_per_hour,
            "target_met": self.met,
            "method": self.method,
            "estimated_fa_per_hour": round(self.tail.fa_per_hour(self.threshold), 4) if self.tail else None,
            "tail_fit": ({"start": self.tail.start, "false_accepts_at_start": self.tail.events,
                          "mean_excess": round(self.tail.mean_excess, 4)} if self.tail else None),
            "at_threshold": self.chosen.to_dict(),
            "recall": round(1.0 - self.chosen.false_reject_rate, 6),
            "negative_hours": round(self.negative_seconds / 3600, 4),
            "positive_stream_hours": round(self.positive_seconds / 3600, 4),
            "one_false_accept_per_hour": round(fa_per_hour(1, seconds), 4) if seconds else None,
            "held_out_positives": self.positives,
            "sweep": [r.to_dict() for r in self.results],
        }


def positive_stream(clips: Sequence[np.ndarray], background: np.ndarray, word: str, *, snrs_db: Sequence[float],
                    seed: int) -> KeywordStream:
    return build_positive_stream([Clip(c, word, f"held-out-{i}") for i, c in enumerate(clips)], background,
                                 snrs_db=snrs_db, gap_seconds=(2.0, 4.0), seed=seed)


def calibrate(model: KwsModel, detector_config: DetectorConfig, *, positives: Sequence[np.ndarray],
              background: np.ndarray, negatives: np.ndarray, target_fa_per_hour: float,
              snrs_db: Sequence[float] = (20.0, 10.0, 5.0), seed: int = 0, progress: bool = False,
              thresholds: Sequence[float] = THRESHOLDS) -> tuple[Calibration, KeywordStream]:
    """Choose the threshold; ``positives``: held-out wake-word clips (int16); ``background``: int16
    audio to place them into; ``negatives``: int16 stream with no wake word."""
    word = keywords_of(model.labels)[0]
    detector = Detector(model, detector_config)
    stream = positive_stream(positives, background, word, snrs_db=snrs_db, seed=seed)
    positive = ThresholdSweep(detector, score_stream(detector, stream.samples, progress=progress,
                                                      desc="calibration: positive stream"))
    negative_scores = score_stream(detector, negatives, progress=progress, desc="calibration: negatives")
    negative = ThresholdSweep(detector, negative_scores)
    results = [evaluate_threshold(t, positive, negative, stream, seconds_negative=negative_scores.seconds)
               for t in thresholds]
    method, chosen, tail = choose_threshold(results, hours=(negative_scores.seconds + stream.duration) / 3600,
                                            target_fa_per_hour=target_fa_per_hour)
    met = chosen is not None
    if chosen is None:
        chosen = min(results, key=lambda r: (r.false_accepts, r.false_rejects, r.threshold))
    return Calibration(chosen.threshold, target_fa_per_hour, met, chosen, results, negative_scores.seconds,
                       stream.duration, len(stream.keywords), method, tail), stream


def choose_threshold(results: Sequence[ThresholdResult], *, hours: float, target_fa_per_hour: float
                     ) -> tuple[str, ThresholdResult | None, TailEstimate | None]:
    """(method, the chosen sweep row or None if the target is not met, the tail fit if used).

    Where the audio holds at least one false accept at the target rate, the count decides
    (:func:`kws.stream_eval.pick_target`); otherwise the lowest swept threshold at or above the
    tail estimate with at most one false accept counted, or the count's rule if there is no tail.
    """
    if target_fa_per_hour * hours >= 1:
        return "count", pick_target(results, target_fa_per_hour), None
    tail = tail_threshold(results, hours=hours, target_fa_per_hour=target_fa_per_hour)
    if tail is None:
        return "count", pick_target(results, target_fa_per_hour), None
    candidates = [r for r in results if r.threshold >= tail.threshold - 1e-9 and r.false_accepts <= 1]
    if not candidates:
        return "count", pick_target(results, target_fa_per_hour), None
    return "tail estimate", min(candidates, key=lambda r: r.threshold), tail


def det_figure(calibration: Calibration, *, title: str) -> bytes:
    # Every 0.05 and the chosen threshold: the full 0.01 grid would bury the plot in labels.
    shown = [r for r in calibration.results if abs(r.threshold * 20 - round(r.threshold * 20)) < 1e-6
             or r.threshold >= 0.99 or r.threshold == calibration.threshold]
    return det_png(shown, default=calibration.chosen,
                   target=calibration.chosen if calibration.met else None,
                   target_fa_per_hour=calibration.target_fa_per_hour, title=title)
