"""Live detection: audio blocks from a microphone stream in, a running state of the detector out.

The audio callback runs on PortAudio's thread, where a late return means lost audio, so it only
copies the block into a bounded queue (and counts overflows). Everything else — level, MFCC,
inference, smoothing — happens in :meth:`Listener.run` on the main thread, which also hands a
snapshot of the state (:class:`LiveState`) to the view at most every ``update_interval``
seconds. The stream is anything with ``start()``, ``stop()`` and ``close()`` that calls the
callback with ``(indata, frames, time, status)`` like ``sounddevice.InputStream``; the
command opens the real one, tests pass a fake, and this module never imports sounddevice.
"""

from __future__ import annotations

import collections
import math
import queue
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

import numpy as np

from .detector import Detection, Detector, Event, Inference
from .errors import KwsError

#: dBFS shown for digital silence (an int16 RMS of 0); one LSB RMS is about -90 dBFS.
FLOOR_DBFS = -96.0
#: Detections kept for display; counts per keyword cover the whole session.
DETECTION_LOG = 8


class AudioStream(Protocol):
    """What :class:`Listener` needs of a stream: sounddevice.InputStream's lifecycle."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


#: Called with the listener's callback, returns an unstarted stream that will call it.
StreamFactory = Callable[[Callable[..., None]], AudioStream]


def dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dB relative to full scale (a full-scale square is 0 dBFS)."""
    if len(samples) == 0:
        return FLOOR_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(FLOOR_DBFS, 20.0 * math.log10(rms / 32768.0)) if rms > 0 else FLOOR_DBFS


@dataclass(frozen=True)
class LoggedDetection:
    wall_time: float  # time.time() when the main loop saw it
    audio_time: float  # seconds of audio since the start, at the end of the window
    keyword: str
    score: float  # smoothed probability


@dataclass(frozen=True)
class LiveState:
    """A snapshot of the session for the view: plain values, safe to keep and render later."""

    seconds: float  # audio listened to
    level_dbfs: float  # RMS of the most recent ~level window of audio
    peak_dbfs: float  # peak of the same window
    probabilities: tuple[tuple[str, float], ...]  # latest inference, (label, probability), best first
    detections: tuple[LoggedDetection, ...]  # the most recent, oldest first
    counts: dict[str, int]  # detections per keyword, whole session
    inferences: int
    overflows: int  # blocks PortAudio flagged as input overflow (audio lost before us)
    dropped: int  # blocks the main loop fell too far behind to take (audio lost by us)
    threshold: float
    device: str = ""


@dataclass(frozen=True)
class Summary:
    seconds: float  # audio listened to
    wall_seconds: float
    cpu_seconds: float  # time.process_time() over the session, every thread of the process
    inferences: int
    counts: dict[str, int]
    overflows: int
    dropped: int
    interrupted: bool  # ended by Ctrl-C

    @property
    def cpu_percent(self) -> float:
        """CPU time as a percentage of one core over the session's wall time."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass
class _Level:
    """RMS and peak over the most recent ``window`` samples."""

    window: int
    _blocks: collections.deque = field(default_factory=collections.deque)
    _count: int = 0

    def push(self, block: np.ndarray) -> None:
        self._blocks.append(block)
        self._count += len(block)
        while self._blocks and self._count - len(self._blocks[0]) >= self.window:
            self._count -= len(self._blocks.popleft())

    def values(self) -> tuple[float, float]:
        if not self._blocks:
            return FLOOR_DBFS, FLOOR_DBFS
        recent = np.concatenate(self._blocks)[-self.window :]
        peak = int(np.max(np.abs(recent.astype(np.int32))))
        return dbfs(recent), (20.0 * math.log10(peak / 32768.0) if peak else FLOOR_DBFS)


class Listener:
    """One detector fed from one audio stream, with the state a live view shows.

    ``queue_seconds`` bounds the audio waiting for the main loop: when inference cannot keep up
    (or a source is not paced in real time), blocks beyond it are dropped and counted instead
    of growing memory without end.
    """

    def __init__(self, detector: Detector, open_stream: StreamFactory, *, block_size: int, device: str = "",
                 queue_seconds: float = 5.0, level_seconds: float = 0.3, stall_seconds: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        if block_size < 1:
            raise KwsError(f"the audio block must hold at least one sample, not {block_size}")
        self.detector = detector
        self.open_stream = open_stream
        self.block_size = block_size
        self.device = device
        self.sample_rate = detector.model.mfcc.sample_rate
        self.stall_seconds = stall_seconds
        self.clock = clock
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=max(2, math.ceil(
            queue_seconds * self.sample_rate / block_size)))
        self._level = _Level(window=max(1, round(level_seconds * self.sample_rate)))
        self._samples = 0
        self._probabilities: tuple[tuple[str, float], ...] = ()
        self._log: collections.deque[LoggedDetection] = collections.deque(maxlen=DETECTION_LOG)
        self._counts: dict[str, int] = {}
        # Written on the audio thread, read on the main one; int updates are atomic under the GIL.
        self.overflows = 0
        self.dropped = 0

    # --- the audio thread -----------------------------------------------------------------

    def callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """sounddevice's callback: copy the block and return; nothing slow happens here."""
        if status and getattr(status, "input_overflow", True):
            self.overflows += 1
        try:
            self._queue.put_nowait(indata.copy())  # PortAudio reuses indata's buffer
        except queue.Full:
            self.dropped += 1

    # --- the main thread ------------------------------------------------------------------

    def state(self) -> LiveState:
        rms, peak = self._level.values()
        return LiveState(
            seconds=self._samples / self.sample_rate, level_dbfs=rms, peak_dbfs=peak,
            probabilities=self._probabilities, detections=tuple(self._log), counts=dict(self._counts),
            inferences=self.detector.inferences, overflows=self.overflows, dropped=self.dropped,
            threshold=self.detector.config.threshold, device=self.device,
        )

    def process(self, block: np.ndarray) -> list[Event]:
        """Run one int16 mono block through the level meter and the detector; update the state."""
        events = self.detector.process(block)
        # Counted once processed: a block that Ctrl-C interrupts was not listened to.
        self._level.push(block)
        self._samples += len(block)
        classifier = self.detector.classifier
        labels = self.detector.model.labels
        for event in events:
            if isinstance(event, Inference):
                probabilities = classifier.probabilities(np.asarray(event.scores))
                order = np.argsort(-probabilities, kind="stable")
                self._probabilities = tuple((labels[i], float(probabilities[i])) for i in order)
            elif isinstance(event, Detection):
                self._log.append(LoggedDetection(self.clock(), event.time, event.keyword, event.score))
                self._counts[event.keyword] = self._counts.get(event.keyword, 0) + 1
        return events

    def run(self, duration: Optional[float] = None, *, on_update: Optional[Callable[[LiveState], None]] = None,
            on_event: Optional[Callable[[Event], None]] = None, update_interval: float = 0.1) -> Summary:
        """Listen until ``duration`` seconds of audio, the end of the stream, or Ctrl-C.

        Ctrl-C is the normal way to stop, not an error: the stream is stopped and closed and
        the summary returned with ``interrupted`` set. ``on_update`` gets a state snapshot at
        most every ``update_interval`` seconds of wall time, and once more at the end.
        """
        limit = None if duration is None else round(duration * self.sample_rate)
        wall_start, cpu_start = time.monotonic(), time.process_time()
        interrupted = False
        stream = self.open_stream(self.callback)
        try:
            stream.start()
            last_update = -math.inf
            last_audio = time.monotonic()
            while limit is None or self._samples < limit:
                try:
                    block = self._queue.get(timeout=0.1)  # wakes up to redraw and to notice an end
                except queue.Empty:
                    # A stream that ended (a source ran out, a device went away) has made its last
                    # put before turning inactive, so the queue is drained once both hold.
                    if not getattr(stream, "active", True) and self._queue.empty():
                        break
                    if time.monotonic() - last_audio > self.stall_seconds:
                        raise KwsError(f"no audio from {self.device or 'the input device'} for "
                                       f"{self.stall_seconds:g} s; is it in use or muted? "
                                       "(see `kws listen --list-devices`)") from None
                else:
                    last_audio = time.monotonic()
                    block = block.reshape(len(block), -1)[:, 0]  # (frames, channels) -> mono
                    if limit is not None:
                        block = block[: limit - self._samples]
                    events = self.process(block)
                    if on_event is not None:
                        for event in events:
                            on_event(event)
                now = time.monotonic()
                if on_update is not None and now - last_update >= update_interval:
                    on_update(self.state())
                    last_update = now
        except KeyboardInterrupt:
            interrupted = True
        finally:
            try:
                stream.stop()
            finally:
                stream.close()
        if on_update is not None:
            on_update(self.state())
        return Summary(
            seconds=self._samples / self.sample_rate, wall_seconds=time.monotonic() - wall_start,
            cpu_seconds=time.process_time() - cpu_start, inferences=self.detector.inferences,
            counts=dict(self._counts), overflows=self.overflows, dropped=self.dropped, interrupted=interrupted,
        )
