"""The detector's settings, checked once, and the one rule that resolves them.

A model may record its settings (``"detector"`` in model.json: a calibrated wake word's
threshold, a long window's refractory time); the command line may override each of them;
what neither says is :class:`DetectorConfig`'s default. :func:`resolve_detector` is that rule,
used by ``kws detect``, ``listen``, ``evaluate-stream`` and ``kws firmware``, so the laptop and
the firmware decide alike. No model import here: the model file holds a ``DetectorConfig``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from .errors import KwsError

#: The longest refractory time accepted (ms): a minute; the firmware counts it in inferences.
MAX_REFRACTORY_MS = 60_000.0
#: The most inferences a moving sum spans: the firmware's KWS_PIPELINE_MAX_SMOOTHING, so that a
#: setting the host detector takes also builds.
MAX_SMOOTHING = 16
#: The most hops between inferences: 50 hops of 20 ms is one second, the window; a longer gap
#: would leave audio that no inference ever hears.
MAX_INFERENCE_EVERY = 50


@dataclass(frozen=True)
class DetectorConfig:
    """How scores become detections: run every ``inference_every`` hops, average the last
    ``smoothing`` softmax outputs, fire at ``threshold``, then stay quiet ``refractory_ms``."""

    inference_every: int = 10  # MFCC hops between inferences
    smoothing: int = 3  # inferences in the moving sum
    threshold: float = 0.6  # on the smoothed softmax probability, 0..1
    refractory_ms: float = 1000.0
    keywords: tuple[str, ...] = ()  # the labels that may fire; () = every keyword of the model

    def __post_init__(self) -> None:
        problems = check_detector_values(inference_every=self.inference_every, smoothing=self.smoothing,
                                         threshold=self.threshold, refractory_ms=self.refractory_ms)
        if not isinstance(self.keywords, tuple) or not all(isinstance(k, str) and k for k in self.keywords):
            problems.append(f"keywords must be names, not {self.keywords!r}")
        if problems:
            raise KwsError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "keywords": list(self.keywords)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str) -> "DetectorConfig":
        """From a model's ``detector`` section; unknown keys and wrong types are refused."""
        if not isinstance(values, Mapping):
            raise KwsError(f"{where}: the detector section must be an object, not {values!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise KwsError(f"{where}: unknown detector settings: {', '.join(unknown)}")
        settings: dict[str, Any] = {}
        for name, value in values.items():
            if name == "keywords":
                if not isinstance(value, (list, tuple)):
                    raise KwsError(f"{where}: detector.keywords must be a list of labels, not {value!r}")
                settings[name] = tuple(value)
            elif name in ("inference_every", "smoothing"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise KwsError(f"{where}: detector.{name} must be a whole number, not {value!r}")
                settings[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise KwsError(f"{where}: detector.{name} must be a number, not {value!r}")
                settings[name] = float(value)
        try:
            return cls(**settings)
        except KwsError as problem:
            raise KwsError(f"{where}: invalid detector settings ({problem})") from None


def check_detector_values(*, inference_every: int | None = None, smoothing: int | None = None,
                          threshold: float | None = None, refractory_ms: float | None = None) -> list[str]:
    """What is wrong with the given settings (None: not given), one phrase each."""
    problems = []
    for name, value, most in (("inference_every", inference_every, MAX_INFERENCE_EVERY),
                              ("smoothing", smoothing, MAX_SMOOTHING)):
        if value is not None and not 1 <= value <= most:
            problems.append(f"{name} must be 1 to {most}, not {value}")
    if threshold is not None and not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        problems.append(f"the threshold must be in (0, 1], not {threshold:g}")
    if refractory_ms is not None and not (math.isfinite(refractory_ms) and 0.0 <= refractory_ms <= MAX_REFRACTORY_MS):
        problems.append(f"the refractory time must be 0 to {MAX_REFRACTORY_MS:g} ms, not {refractory_ms:g}")
    return problems


def resolve_detector(recorded: DetectorConfig | None, *, inference_every: int | None = None,
                     smoothing: int | None = None, threshold: float | None = None,
                     refractory_ms: float | None = None,
                     keywords: tuple[str, ...] | None = None) -> DetectorConfig:
    """The settings to detect with: each one given here (the command line), else the model's
    recorded one, else the default."""
    base = recorded if recorded is not None else DetectorConfig()
    given = {"inference_every": inference_every, "smoothing": smoothing, "threshold": threshold,
             "refractory_ms": refractory_ms, "keywords": keywords or None}
    return DetectorConfig(**{**asdict(base), "keywords": base.keywords,
                             **{name: value for name, value in given.items() if value is not None}})
