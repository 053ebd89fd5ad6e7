"""The detection threshold for a target false-accept rate, with the streaming detector's rule.

The int8 model runs once, through :class:`kws.detector.Detector`, over a negative stream (held-out
speech and noise, no wake word) and over a positive stream (held-out wake-word clips placed into
background at several SNRs, :func:`kws.stream_eval.build_positive_stream`). Every threshold of a
fine grid is then applied offline with :class:`kws.stream_eval.ThresholdSweep` (the detector's
exact integer smoothing, threshold and refractory rule), and the threshold with the fewest false
rejects at no more than the target false accepts per hour is chosen
(:func:`kws.stream_eval.pick_target`). When none meets it, the threshold with the fewest false
accepts (then the lowest) is chosen and the report says the target was not met.

A stream of H hours measures false accepts in steps of 1/H per hour: with less than 1/target
hours of negatives, meeting the target means no false accept at all. The report states that
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..detector import Detector, DetectorConfig
from ..model_file import KwsModel
from ..stream_eval import (Clip, KeywordStream, ThresholdResult, ThresholdSweep, build_positive_stream, det_png,
                           evaluate_threshold, fa_per_hour, pick_target, score_stream)

#: Thresholds tried: every 0.01 from 0.05 to 0.99, then finer up to 1.
THRESHOLDS = tuple(round(t, 4) for t in list(np.arange(0.05, 0.99, 0.01)) + [0.99, 0.995, 0.998, 1.0])


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

    def to_dict(self) -> dict:
        seconds = self.negative_seconds + self.positive_seconds
        return {
            "threshold": self.threshold,
            "target_fa_per_hour": self.target_fa_per_hour,
            "target_met": self.met,
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
    word = next(label for label in model.labels if label not in ("_silence_", "_unknown_"))
    detector = Detector(model, detector_config)
    stream = positive_stream(positives, background, word, snrs_db=snrs_db, seed=seed)
    positive = ThresholdSweep(detector, score_stream(detector, stream.samples, progress=progress,
                                                      desc="calibration: positive stream"))
    negative_scores = score_stream(detector, negatives, progress=progress, desc="calibration: negatives")
    negative = ThresholdSweep(detector, negative_scores)
    results = [evaluate_threshold(t, positive, negative, stream, seconds_negative=negative_scores.seconds)
               for t in thresholds]
    chosen = pick_target(results, target_fa_per_hour)
    met = chosen is not None
    if chosen is None:
        chosen = min(results, key=lambda r: (r.false_accepts, r.false_rejects, r.threshold))
    return Calibration(chosen.threshold, target_fa_per_hour, met, chosen, results, negative_scores.seconds,
                       stream.duration, len(stream.keywords)), stream


def det_figure(calibration: Calibration, *, title: str) -> bytes:
    # Every 0.05 and the chosen threshold: the full 0.01 grid would bury the plot in labels.
    shown = [r for r in calibration.results if abs(r.threshold * 20 - round(r.threshold * 20)) < 1e-6
             or r.threshold >= 0.99 or r.threshold == calibration.threshold]
    return det_png(shown, default=calibration.chosen,
                   target=calibration.chosen if calibration.met else None,
                   target_fa_per_hour=calibration.target_fa_per_hour, title=title)
