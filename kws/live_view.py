"""The terminal view of ``kws listen``: a state snapshot in, text out.

:func:`render` and :func:`render_summary` are pure functions of their argument (plus the local
time zone for clock times), so tests check them without a terminal. :class:`LiveView` decides
how the text reaches the user: on a TTY the whole view is redrawn in place with ANSI escapes;
elsewhere (a pipe, a log file, CI) it prints each detection as it comes and one status line
now and then, because cursor movements would only garble a log.
"""

from __future__ import annotations

import shutil
import time
from typing import Callable, TextIO

from .live import FLOOR_DBFS, LiveState, LoggedDetection, Summary

#: Characters in every bar; a level line then fits an 80-column terminal.
BAR = 32
#: Labels with the highest probability shown as bars.
TOP = 3


def bar(fraction: float, width: int = BAR, *, mark: float | None = None) -> str:
    """``[####----]`` filled to ``fraction`` (clamped to 0..1); ``mark`` puts a ``|`` there (the threshold)."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    cells = ["#"] * filled + ["-"] * (width - filled)
    if mark is not None:
        at = min(width - 1, max(0, round(mark * width)))
        if cells[at] == "-":
            cells[at] = "|"
    return "[" + "".join(cells) + "]"


def clock_time(wall_time: float) -> str:
    """Local wall-clock time with tenths, e.g. ``14:02:03.4``."""
    tenths = int(wall_time * 10) % 10
    return time.strftime("%H:%M:%S", time.localtime(wall_time)) + f".{tenths}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{keyword} {n}" for keyword, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def render(state: LiveState) -> str:
    """The full view: header, input level, the top scores of the latest inference, recent detections."""
    header = f"kws listen  {state.seconds:7.1f} s  {state.inferences} inferences  threshold {state.threshold:.2f}"
    if state.device:
        header += f"  device {state.device}"
    level = (state.level_dbfs - FLOOR_DBFS) / -FLOOR_DBFS
    lines = [header, f"{'level':<10} {state.level_dbfs:6.1f} dBFS {bar(level)} peak {state.peak_dbfs:.1f} dBFS"]
    if state.overflows or state.dropped:  # its own line: the header must fit 80 columns
        lines.append(f"lost audio: overflows {state.overflows}, dropped {state.dropped}")
    top = state.probabilities[:TOP]
    if top:
        for label, probability in top:
            lines.append(f"{label:<10} {probability:6.2f}      {bar(probability, mark=state.threshold)}")
    else:
        lines.append("(waiting for the first second of audio)")
    total = sum(state.counts.values())
    lines.append(f"detections: {total}" + (f" ({_counts(state.counts)})" if total else ""))
    for detection in reversed(state.detections):  # newest first, where the eye lands
        lines.append("  " + render_detection(detection))
    return "\n".join(lines)


def render_line(state: LiveState) -> str:
    """One status line, for output that is not a terminal."""
    top = "  ".join(f"{label} {probability:.2f}" for label, probability in state.probabilities[:TOP])
    total = sum(state.counts.values())
    line = f"{state.seconds:8.1f} s  level {state.level_dbfs:6.1f} dBFS  {top or '-'}  detections {total}"
    if state.overflows or state.dropped:
        line += f"  overflows {state.overflows}, dropped {state.dropped}"
    return line


def render_detection(detection: LoggedDetection) -> str:
    return (f"{clock_time(detection.wall_time)}  {detection.audio_time:8.2f} s  "
            f"{detection.keyword:<10} {detection.score:.3f}")


def render_summary(summary: Summary) -> str:
    """What the session did: audio time, inferences, detections per keyword, CPU, lost audio."""
    total = sum(summary.counts.values())
    ended = "stopped by Ctrl-C" if summary.interrupted else "done"
    return "\n".join([
        f"summary: listened {summary.seconds:.1f} s ({summary.wall_seconds:.1f} s wall, {ended}), "
        f"{summary.inferences} inferences",
        f"detections: {total}" + (f" ({_counts(summary.counts)})" if total else ""),
        f"cpu: {summary.cpu_seconds:.2f} s, {summary.cpu_percent:.1f} % of one core",
        f"overflows: {summary.overflows} (input overflows reported by the device), "
        f"dropped: {summary.dropped} (blocks kws fell behind on)",
    ])


class LiveView:
    """Shows successive states on ``out``: redrawn in place on a TTY, plain lines otherwise."""

    HIDE_CURSOR, SHOW_CURSOR, CLEAR_BELOW = "\x1b[?25l", "\x1b[?25h", "\x1b[J"

    def __init__(self, out: TextIO, *, tty: bool, plain_interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.tty = tty
        self.plain_interval = plain_interval
        self.clock = clock
        self._drawn_lines = 0  # lines of the previous frame, to move back over (TTY)
        self._printed = 0  # detections already printed (plain)
        self._last_line = -float("inf")

    def update(self, state: LiveState) -> None:
        if self.tty:
            self._redraw(state)
        else:
            self._print_plain(state)
        self.out.flush()

    def _redraw(self, state: LiveState) -> None:
        # Lines longer than the terminal would wrap and break the count of lines to move up over.
        columns = max(20, shutil.get_terminal_size().columns - 1)
        lines = [line[:columns] for line in render(state).split("\n")]
        prefix = self.HIDE_CURSOR if self._drawn_lines == 0 else f"\x1b[{self._drawn_lines}A\r"
        self.out.write(prefix + self.CLEAR_BELOW + "\n".join(lines) + "\n")
        self._drawn_lines = len(lines)

    def _print_plain(self, state: LiveState) -> None:
        total = sum(state.counts.values())
        new = min(total - self._printed, len(state.detections))
        for detection in state.detections[len(state.detections) - new :] if new > 0 else ():
            print(render_detection(detection), file=self.out)
        self._printed = total
        now = self.clock()
        if now - self._last_line >= self.plain_interval:
            print(render_line(state), file=self.out)
            self._last_line = now

    def close(self) -> None:
        if self.tty and self._drawn_lines:
            self.out.write(self.SHOW_CURSOR)
            self.out.flush()
