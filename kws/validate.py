"""Numbers a user gives: finite, whole where counted, and within their range, by one rule.

Every numeric option of the command line takes its argparse ``type=`` from here
(:func:`number`, :func:`whole_number`), so ``nan``, ``inf``, ``-1`` or ``1.5`` where a count is
meant end as argparse's one line, ``argument --minutes: must be positive, not nan``, before any
work starts. A command checking a value it computed or read elsewhere uses :func:`finite` and
:func:`whole`, which say the same thing as a :class:`~kws.errors.KwsError` naming the setting.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import KwsError


@dataclass(frozen=True)
class Bounds:
    """``low <= value``, ``above < value``, ``value <= high``, ``value < below``; None: no bound."""

    low: Optional[float] = None
    above: Optional[float] = None
    high: Optional[float] = None
    below: Optional[float] = None

    def admits(self, value: float) -> bool:
        return (math.isfinite(value)
                and (self.low is None or value >= self.low) and (self.above is None or value > self.above)
                and (self.high is None or value <= self.high) and (self.below is None or value < self.below))

    def describe(self) -> str:
        """What an admitted value is, for "must be ...": "positive", "1 to 2", "at least 1"..."""
        if self.low is not None and self.high is not None and self.above is None and self.below is None:
            return f"{self.low:g} to {self.high:g}"
        if self.above == 0 and self.low is None and self.high is None and self.below is None:
            return "positive"
        parts = []
        if self.low is not None:
            parts.append("0 or more" if self.low == 0 else f"at least {self.low:g}")
        if self.above is not None:
            parts.append(f"more than {self.above:g}")
        if self.high is not None:
            parts.append(f"at most {self.high:g}")
        if self.below is not None:
            parts.append(f"less than {self.below:g}")
        return " and ".join(parts) or "a finite number"


def _problem(value: float, bounds: Bounds, shown: str) -> Optional[str]:
    """None when ``value`` is admitted, else "must be ..., not SHOWN"."""
    return None if bounds.admits(value) else f"must be {bounds.describe()}, not {shown}"


def finite(name: str, value: float, *, low: Optional[float] = None, above: Optional[float] = None,
           high: Optional[float] = None, below: Optional[float] = None) -> float:
    """``value`` as a float when finite and within the bounds, else :class:`KwsError` naming ``name``."""
    problem = _problem(float(value), Bounds(low, above, high, below), f"{value:g}")
    if problem:
        raise KwsError(f"{name} {problem}")
    return float(value)


def whole(name: str, value: int, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """``value`` when a whole number within the bounds, else :class:`KwsError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise KwsError(f"{name} must be a whole number, not {value!r}")
    problem = _problem(value, Bounds(low=low, high=high), str(value))
    if problem:
        raise KwsError(f"{name} {problem}")
    return value


def _option_type(convert: Callable[[str], float], kind: str, bounds: Bounds) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        problem = _problem(value, bounds, text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def number(*, low: Optional[float] = None, above: Optional[float] = None, high: Optional[float] = None,
           below: Optional[float] = None) -> Callable[[str], float]:
    """An argparse ``type=``: a finite float within the bounds (argparse names the option)."""
    return _option_type(float, "a number", Bounds(low, above, high, below))


def whole_number(*, low: Optional[int] = None, high: Optional[int] = None) -> Callable[[str], int]:
    """An argparse ``type=``: a whole number within the bounds (argparse names the option)."""
    return _option_type(int, "a whole number", Bounds(low=low, high=high))  # type: ignore[return-value]


#: A seed of every random choice: numpy's generators take whole numbers from 0 up.
seed_number = whole_number(low=0)
