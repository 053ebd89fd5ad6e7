"""The always-on detector: audio chunks in, inferences and keyword detections out.

Audio goes through the streaming MFCC (:class:`dsp.MfccStream`); every ``inference_every``
hops the int8 model runs on the newest ``n_frames`` MFCC frames (one second by default). Its
int8 scores are smoothed by a moving sum over the last ``smoothing`` inferences, and a keyword
fires when its smoothed score reaches the threshold, after which nothing fires for the
refractory time. ``_silence_`` and ``_unknown_`` never fire.

Everything from samples to decisions is integer, so the firmware reproduces it exactly:

* inference k runs on frames ``f - n_frames + 1 .. f`` with ``f = n_frames - 1 + k * inference_every``;
* per label, ``u = score - output_zero_point`` (0..255 for the softmax output) is summed over
  the last ``min(k + 1, smoothing)`` inferences, and the label fires when
  ``sum >= ceil(threshold / output_scale * count)``;
* the refractory time is a whole number of inferences, ``ceil(refractory_ms / inference period)``.

Defaults, and why: an inference every 10 hops (200 ms) keeps a 64 MHz Cortex-M4 under full load
(5 inferences/s x 2.7 M MACs: about 72 % of its cycles with the DSP kernels, estimated in
benchmarks/README.md) while a keyword is seen within 200 ms of its end;
smoothing over 3 inferences (600 ms) rejects one-off spikes; threshold 0.6 of the softmax
probability; 1 s refractory, about one word.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import numpy as np

from dsp import MfccStream

from .detector_config import DetectorConfig
from .errors import KwsError
from .labels import NON_KEYWORDS, keywords_of
from .model_file import KwsModel


@dataclass(frozen=True)
class Inference:
    frame: int  # index of the newest MFCC frame in the window
    scores: tuple[int, ...]  # the int8 output vector

    def to_dict(self) -> dict:
        return {"frame": self.frame, "scores": list(self.scores)}


@dataclass(frozen=True)
class Detection:
    time: float  # seconds at the end of the window (end of the newest frame)
    keyword: str
    score: float  # smoothed probability
    frame: int

    def to_dict(self) -> dict:
        return {"time": round(self.time, 4), "keyword": self.keyword, "score": round(self.score, 4)}


Event = Union[Inference, Detection]


def threshold_sums(threshold: float, output_scale: float, smoothing: int) -> list[int]:
    """The integer a moving sum of ``count`` offsets (score - zero point) must reach, for
    count = 1..smoothing: ``ceil(threshold / output_scale * count)``."""
    return [math.ceil(threshold / output_scale * count - 1e-9) for count in range(1, smoothing + 1)]


@dataclass(frozen=True)
class DetectorConstants:
    """The integers of the decision rule for one model and config (the firmware gets the same)."""

    keyword_index: tuple[int, ...]  # labels that may fire, in the order ties are broken
    refractory_inferences: int
    threshold_sums: tuple[int, ...]  # by count = 1..smoothing


def detector_constants(model: KwsModel, config: DetectorConfig) -> DetectorConstants:
    """Check ``config``'s keywords against ``model`` (its values are checked when it is made)
    and work out the rule's integers."""
    keywords = config.keywords or keywords_of(model.labels)
    unknown = [k for k in keywords if k not in model.labels or k in NON_KEYWORDS]
    if unknown:
        choices = ", ".join(keywords_of(model.labels))
        raise KwsError(f"not keywords of this model: {', '.join(unknown)} (it has: {choices})")
    hop_ms = 1000.0 * model.mfcc.hop_length / model.mfcc.sample_rate
    return DetectorConstants(
        keyword_index=tuple(model.labels.index(k) for k in keywords),
        refractory_inferences=math.ceil(config.refractory_ms / (config.inference_every * hop_ms)),
        threshold_sums=tuple(threshold_sums(config.threshold, model.output_quantization.scale, config.smoothing)),
    )


class Detector:
    """Streaming keyword detection with one model. Feed :meth:`process` any chunk sizes."""

    def __init__(self, model: KwsModel, config: DetectorConfig = DetectorConfig(), *, classifier=None) -> None:
        from .inference import Classifier

        constants = detector_constants(model, config)
        self.model = model
        self.config = config
        # The reference kernels' integers (what the firmware reproduces), computed the fast way:
        # optimised kernels for the body, the reference head in numpy (see kws.inference).
        self.classifier = classifier or Classifier(model, fast=True)
        self.keyword_index = np.array(constants.keyword_index)
        self.window_frames = model.n_frames
        self.refractory_inferences = constants.refractory_inferences
        self._threshold_sums = list(constants.threshold_sums)
        self.reset()

    def reset(self) -> None:
        self.stream = MfccStream(config=self.model.mfcc)
        # The last window_frames - 1 MFCC frames: with the next frames they make the windows.
        self._tail = np.zeros((0, self.model.mfcc.n_mfcc), dtype=np.int16)
        self._frames_seen = 0
        self._recent = np.zeros((self.config.smoothing, len(self.model.labels)), dtype=np.int32)
        self._inferences = 0
        self._quiet_until = 0  # inference index before which nothing may fire

    @property
    def inferences(self) -> int:
        return self._inferences

    def end_time(self, frame: int) -> float:
        return self.model.mfcc.frame_end_seconds(frame)

    def process(self, chunk: np.ndarray) -> list[Event]:
        """Push int16 mono samples; returns the inferences and detections they complete, in order."""
        frames = self.stream.process(chunk)
        if not len(frames):
            return []
        history = np.concatenate([self._tail, frames])
        first_index = self._frames_seen - len(self._tail)  # frame index of history[0]
        new_from, self._frames_seen = self._frames_seen, self._frames_seen + len(frames)
        self._tail = history[-(self.window_frames - 1):] if self.window_frames > 1 else history[:0]
        # Inference frames: window_frames - 1, then every inference_every frames.
        first, every = self.window_frames - 1, self.config.inference_every
        start = max(new_from, first)
        start += (-(start - first)) % every
        due = range(start, self._frames_seen, every)
        if not len(due):
            return []
        windows = np.stack([history[f - first_index - first : f - first_index + 1] for f in due])
        events: list[Event] = []
        for frame, scores in zip(due, self.classifier.scores_batch(windows)):
            events.extend(self._decide(frame, scores))
        return events

    def _decide(self, frame: int, scores: np.ndarray) -> list[Event]:
        events: list[Event] = [Inference(frame, tuple(int(s) for s in scores))]
        zero_point = self.model.output_quantization.zero_point
        self._recent[self._inferences % self.config.smoothing] = scores.astype(np.int32) - zero_point
        self._inferences += 1
        count = min(self._inferences, self.config.smoothing)
        sums = self._recent[:count].sum(axis=0)  # slots fill in order, so the first `count` are the live ones
        if self._inferences - 1 < self._quiet_until:
            return events
        keyword_sums = sums[self.keyword_index]
        best = int(np.argmax(keyword_sums))
        if keyword_sums[best] >= self._threshold_sums[count - 1]:
            label = int(self.keyword_index[best])
            score = float(keyword_sums[best]) * self.model.output_quantization.scale / count
            events.append(Detection(self.end_time(frame), self.model.labels[label], score, frame))
            self._quiet_until = self._inferences + self.refractory_inferences
        return events
