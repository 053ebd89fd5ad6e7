"""The independent reference: CMSIS-DSP's own MFCC through the ``cmsisdsp`` Python binding.

Used by the tests, the golden-vector script and the benchmarks to check :mod:`dsp` against;
never by :func:`dsp.mfcc_q15` itself. ``cmsisdsp`` is a validation dependency (``pip install
kws[dev]``). On arm64 hosts the binding is built with Neon, which is not bit-exact with the
plain-C build that :func:`dsp.mfcc_q15` and the firmware follow; :func:`plain_c_host` tells.
"""

from __future__ import annotations

import platform

import numpy as np
from scipy.signal import get_window

from .config import MfccConfig


def plain_c_host() -> bool:
    """True where pip builds cmsisdsp in its plain-C configuration (not arm64/Neon)."""
    return platform.machine().lower() not in ("aarch64", "arm64")


class CmsisMfcc:
    """``arm_mfcc_q15`` and ``arm_mfcc_f32`` initialised exactly as the frontend contract states."""

    def __init__(self, config: MfccConfig = MfccConfig()) -> None:
        import cmsisdsp
        import cmsisdsp.datatype as dt
        import cmsisdsp.mfcc as cmfcc

        self._dsp = cmsisdsp
        self.config = c = config
        shape = get_window(c.window, c.frame_length, fftbins=True)
        window_q15 = np.zeros(c.fft_length, dtype=np.int16)
        window_q15[: c.frame_length] = dt.convert(shape, dt.Q15)
        window_f32 = np.zeros(c.fft_length, dtype=np.float32)
        window_f32[: c.frame_length] = shape
        self.window_q15 = window_q15
        self.q15 = cmsisdsp.arm_mfcc_instance_q15()
        lengths, positions, coefs = cmfcc.melFilterMatrix(dt.Q15, c.fmin, c.fmax, c.n_mels, c.sample_rate, c.fft_length)
        self.mel_lengths, self.mel_positions, self.mel_coefs_q15 = lengths, positions, coefs
        self.dct_q15 = cmfcc.dctMatrix(dt.Q15, c.n_mfcc, c.n_mels)
        # Argument order is (..., positions, lengths, ...), the reverse of melFilterMatrix's.
        cmsisdsp.arm_mfcc_init_q15(
            self.q15, c.fft_length, c.n_mels, c.n_mfcc, self.dct_q15, positions, lengths, coefs, window_q15
        )
        self.f32 = cmsisdsp.arm_mfcc_instance_f32()
        lengths, positions, coefs = cmfcc.melFilterMatrix(dt.F32, c.fmin, c.fmax, c.n_mels, c.sample_rate, c.fft_length)
        cmsisdsp.arm_mfcc_init_f32(
            self.f32, c.fft_length, c.n_mels, c.n_mfcc, cmfcc.dctMatrix(dt.F32, c.n_mfcc, c.n_mels),
            positions, lengths, coefs, window_f32,
        )

    def frame_q15(self, frame: np.ndarray) -> np.ndarray:
        """One fft_length int16 frame -> (n_mfcc,) int16 q8.7."""
        scratch = np.zeros(2 * self.config.fft_length, dtype=np.int32)
        _, out = self._dsp.arm_mfcc_q15(self.q15, np.ascontiguousarray(frame, dtype=np.int16), scratch)
        return np.asarray(out, dtype=np.int16)

    def frames_q15(self, frames: np.ndarray) -> np.ndarray:
        """(n_frames, fft_length) -> (n_frames, n_mfcc) int16, one C call per frame."""
        out = np.zeros((len(frames), self.config.n_mfcc), dtype=np.int16)
        for i, frame in enumerate(frames):
            out[i] = self.frame_q15(frame)
        return out

    def frames_f32(self, frames: np.ndarray) -> np.ndarray:
        """(n_frames, fft_length) float -> (n_frames, n_mfcc) float32, one C call per frame."""
        out = np.zeros((len(frames), self.config.n_mfcc), dtype=np.float32)
        scratch = np.zeros(self.config.fft_length + 2, dtype=np.float32)
        for i, frame in enumerate(frames):
            out[i] = self._dsp.arm_mfcc_f32(self.f32, np.asarray(frame, dtype=np.float32), scratch)
        return out
