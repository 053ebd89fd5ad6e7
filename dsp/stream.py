"""Streaming MFCC: push audio chunks of any size, get the frames they complete.

Frames do not depend on each other, so streaming is a matter of bookkeeping: keep the samples
of the next, still incomplete frame, and hand every whole frame to :func:`mfcc_q15_frames`.
The concatenated output equals :func:`dsp.mfcc_q15` of the whole signal for any chunking.
"""

from __future__ import annotations

import numpy as np

from .config import MfccConfig
from .mfcc_q15 import frame_signal, mfcc_q15_frames


class MfccStream:
    """Incremental :func:`dsp.mfcc_q15`.

    >>> stream = MfccStream(config=MfccConfig())
    >>> new_frames = stream.process(chunk)   # (k, n_mfcc) int16 q8.7, k >= 0
    """

    def __init__(self, *, config: MfccConfig = MfccConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget all audio: the next sample pushed is sample 0 of frame 0."""
        self._pending = np.zeros(0, dtype=np.int16)  # samples from the start of the next frame on
        self._skip = 0  # samples still to drop before the next frame (when hop > frame length)
        self.frames_emitted = 0
        self.samples_seen = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Push int16 mono samples (n,); return the (k, n_mfcc) int16 frames they complete."""
        chunk = np.asarray(chunk)
        if chunk.ndim != 1 or chunk.dtype != np.int16:
            raise TypeError(f"expected int16 samples of shape (n,), got {chunk.dtype} {chunk.shape}")
        self.samples_seen += len(chunk)
        if self._skip:
            dropped = min(self._skip, len(chunk))
            self._skip -= dropped
            chunk = chunk[dropped:]
        pending = np.concatenate([self._pending, chunk]) if len(self._pending) else chunk
        n_frames = self.config.n_frames(len(pending))
        if n_frames == 0:
            self._pending = pending.copy()
            return np.zeros((0, self.config.n_mfcc), dtype=np.int16)
        out = mfcc_q15_frames(frame_signal(pending, config=self.config), config=self.config)
        consumed = n_frames * self.config.hop_length
        self._skip = max(0, consumed - len(pending))
        self._pending = pending[consumed:].copy()
        self.frames_emitted += n_frames
        return out
