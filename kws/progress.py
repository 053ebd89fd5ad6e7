"""The one progress bar of kws: tqdm on stderr where a person watches, nothing elsewhere.

Every long job (feature extraction, training epochs, stream scoring, synthesis) draws its bar
through :func:`progress_bar`, so that the rule of when to draw one lives in one place.
"""

from __future__ import annotations

from typing import Any, Iterable


class _NoBar:
    """Stands in for a bar that is not drawn: the same methods, doing nothing."""

    def update(self, _n: float = 1) -> None:
        pass

    def set_postfix_str(self, _text: str, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **tqdm_options: Any):
    """A tqdm bar over ``iterable`` (or a manual one with ``update`` when it is None).

    When ``enabled`` is false: the iterable itself, or a stand-in with ``update``/``close``.
    tqdm's ``disable=None`` draws nothing where stderr is not a terminal (logs, pipes, tests),
    and ``leave=False`` clears the bar when the job ends, unless the caller says otherwise.
    """
    if not enabled:
        return iterable if iterable is not None else _NoBar()
    from tqdm import tqdm

    tqdm_options.setdefault("leave", False)
    tqdm_options.setdefault("disable", None)
    return tqdm(iterable, **tqdm_options)
