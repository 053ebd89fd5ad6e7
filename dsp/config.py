"""The frozen frontend configuration: the single source of truth for feature extraction.

Every model and firmware build stores the dict from :meth:`MfccConfig.to_dict`, so that the
features a model was trained on are the features it is fed, in Python and on the device.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

#: FFT lengths CMSIS-DSP's q15 real FFT supports (arm_rfft_init_q15).
SUPPORTED_FFT_LENGTHS = (32, 64, 128, 256, 512, 1024, 2048, 4096)
#: The sample rate of the default frontend (Speech Commands, and every MCU microphone path
#: targeted). Code that needs a rate before it has a config (a default argument, one second of
#: audio) names this constant, never the number.
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class MfccConfig:
    """Parameters of the MFCC frontend.

    The defaults are the MLPerf Tiny KWS frontend: 30 ms Hann frames every 20 ms at 16 kHz,
    40 HTK mel bands over 20-4000 Hz, 10 cepstral coefficients, so one second of audio gives
    the 49 x 10 input of Hello Edge's DS-CNN. A 30 ms frame (480 samples) fits a 512-point
    FFT, half the cost of the 1024-point FFT a 40 ms frame needs on a Cortex-M. Speech
    energy that separates keywords lies below 4 kHz, and narrow-band filters keep CMSIS-DSP's
    q15 mel accumulation far from saturation.
    """

    sample_rate: int = SAMPLE_RATE
    frame_length: int = 480
    fft_length: int = 512
    hop_length: int = 320
    window: str = "hann"
    n_mels: int = 40
    n_mfcc: int = 10
    fmin: float = 20.0
    fmax: float = 4000.0

    def __post_init__(self) -> None:
        problems = []
        if self.fft_length not in SUPPORTED_FFT_LENGTHS:
            problems.append(f"fft_length must be one of {SUPPORTED_FFT_LENGTHS}, not {self.fft_length}")
        if not 0 < self.frame_length <= self.fft_length:
            problems.append(f"frame_length must be in 1..fft_length, not {self.frame_length}")
        if self.hop_length <= 0:
            problems.append(f"hop_length must be positive, not {self.hop_length}")
        if self.sample_rate <= 0:
            problems.append(f"sample_rate must be positive, not {self.sample_rate}")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            problems.append(f"need 0 <= fmin < fmax <= sample_rate/2, not fmin={self.fmin} fmax={self.fmax}")
        if self.n_mels < 1 or not 1 <= self.n_mfcc <= self.n_mels:
            problems.append(f"need 1 <= n_mfcc <= n_mels, not n_mfcc={self.n_mfcc} n_mels={self.n_mels}")
        if problems:
            raise ValueError("invalid MfccConfig: " + "; ".join(problems))

    def n_frames(self, n_samples: int) -> int:
        """Number of whole frames in ``n_samples`` samples (0 when shorter than one frame)."""
        if n_samples < self.frame_length:
            return 0
        return 1 + (n_samples - self.frame_length) // self.hop_length

    def samples_for_frames(self, n_frames: int) -> int:
        """Fewest samples that hold ``n_frames`` whole frames."""
        return 0 if n_frames <= 0 else self.frame_length + (n_frames - 1) * self.hop_length

    def window_shape(self, clip_samples: int) -> tuple[int, int]:
        """The MFCC image of a ``clip_samples``-sample window: ``(n_frames, n_mfcc)``."""
        return self.n_frames(clip_samples), self.n_mfcc

    def frame_end_seconds(self, frame: int) -> float:
        """When frame ``frame`` (counted from the stream's first sample) ends, in seconds."""
        return (frame * self.hop_length + self.frame_length) / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "MfccConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown MfccConfig fields: {sorted(unknown)}")
        return cls(**dict(values))
