"""Where the word is in a clip: the span of frames loud enough to be speech.

Speech Commands clips are one second with the word somewhere inside and often a noisy room
around it; the evaluation's hit window, the wake-word recipe's TTS clips and ``kws record``'s
takes are all measured from where the word ends, not from where the file does.
"""

from __future__ import annotations

import numpy as np

#: 10 ms frames, and a margin kept on either side of the speech found.
TRIM_FRAME_SECONDS = 0.01
TRIM_MARGIN_SECONDS = 0.02


def trim(samples: np.ndarray, sample_rate: int, *, below_peak_db: float = 30.0) -> tuple[int, int]:
    """(start, end) of the spoken part of a clip, 0 dB or less keeping the whole clip.

    Spoken: the first to the last 10 ms frame whose energy is within ``below_peak_db`` of the
    loudest frame and at least 10 dB above the clip's noise floor (its 10th-percentile frame),
    plus a 20 ms margin.
    """
    if below_peak_db <= 0 or len(samples) == 0:
        return 0, len(samples)
    frame = max(1, int(TRIM_FRAME_SECONDS * sample_rate))
    n_frames = len(samples) // frame
    if n_frames == 0:
        return 0, len(samples)
    energy = (samples[: n_frames * frame].astype(np.float64).reshape(n_frames, frame) ** 2).mean(axis=1)
    peak = energy.max()
    if peak <= 0:
        return 0, len(samples)
    floor = np.percentile(energy, 10)
    threshold = min(max(peak * 10 ** (-below_peak_db / 10), floor * 10.0), peak)
    active = np.flatnonzero(energy >= threshold)
    margin = int(TRIM_MARGIN_SECONDS * sample_rate)
    start = max(0, int(active[0]) * frame - margin)
    end = min(len(samples), (int(active[-1]) + 1) * frame + margin)
    return start, end
