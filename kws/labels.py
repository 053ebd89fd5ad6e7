"""The two labels every kws model has besides its keywords, named once.

A 12-class model and a wake-word model alike start their labels with these two; the detector
never reports them, and the recipes fill them from silence/noise and from other speech.
"""

from __future__ import annotations

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
#: Labels that are not keywords, in the order models list them.
NON_KEYWORDS = (SILENCE, UNKNOWN)


def keywords_of(labels: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The labels a detector may report: all but :data:`NON_KEYWORDS`, in their order."""
    return tuple(label for label in labels if label not in NON_KEYWORDS)
