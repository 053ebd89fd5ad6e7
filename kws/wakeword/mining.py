"""Hard-negative mining: the seconds of other speech that the model, as trained so far, takes
for the wake word.

Random 1-second cuts of other speech are mostly easy; the false accepts of a wake-word
detector come from the rare stretches that sound like it. Every few epochs the recipe scores
every window of its training speech streams (a hop of ``hop_frames`` MFCC frames) and keeps
the highest-scoring ones as extra ``_unknown_`` windows for the epochs that follow
(:func:`kws.wakeword.dataset.epoch_windows`). Only training streams are mined; the
calibration audio stays unseen.

The MFCC of each stream is computed once: frame i covers samples [i*hop, i*hop + frame), so
the features of a window that starts on a hop boundary are a slice of the stream's frames.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from dsp import MfccConfig, mfcc_q15


def stream_features(streams: Sequence[np.ndarray], *, mfcc: MfccConfig) -> list[np.ndarray]:
    """(n_frames_s, n_mfcc) int16 q8.7 MFCC of each int16 stream."""
    return [mfcc_q15(np.asarray(s, dtype=np.int16), config=mfcc) for s in streams]


def mine_hard_negatives(score: Callable[[np.ndarray], np.ndarray], streams: Sequence[np.ndarray],
                        features: Sequence[np.ndarray], *, mfcc: MfccConfig, clip_samples: int,
                        hop_frames: int, min_score: float, limit: int, batch: int = 2048) -> list[np.ndarray]:
    """At most ``limit`` (clip_samples,) int16 cuts of ``streams`` whose wake-word score is at
    least ``min_score``, highest first; overlapping cuts (closer than half a window) count once.

    ``score`` maps (n, frames, n_mfcc) int16 q8.7 windows to (n,) wake-word probabilities.
    """
    n_frames = mfcc.n_frames(clip_samples)
    found: list[tuple[float, int, int]] = []  # (score, stream, first frame)
    for s, frames in enumerate(features):
        starts = np.arange(0, len(frames) - n_frames + 1, hop_frames)
        for first in range(0, len(starts), batch):
            chunk = starts[first : first + batch]
            windows = np.stack([frames[i : i + n_frames] for i in chunk])
            scores = np.asarray(score(windows), dtype=np.float64)
            for i in np.flatnonzero(scores >= min_score):
                found.append((float(scores[i]), s, int(chunk[i])))
    found.sort(key=lambda item: -item[0])
    taken: dict[int, list[int]] = {}
    cuts: list[np.ndarray] = []
    for _, s, start in found:
        if len(cuts) >= limit:
            break
        if any(abs(start - other) < n_frames // 2 for other in taken.get(s, [])):
            continue
        taken.setdefault(s, []).append(start)
        begin = start * mfcc.hop_length
        cut = np.zeros(clip_samples, dtype=np.int16)
        piece = streams[s][begin : begin + clip_samples]
        cut[: len(piece)] = piece
        cuts.append(cut)
    return cuts
