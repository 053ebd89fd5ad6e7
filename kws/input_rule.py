"""The exact integer rule from q8.7 MFCC to the model's int8 input.

Per coefficient c, with an integer offset o[c] (q8.7 units) and a shift k[c] >= 0:

    int8[c] = clamp((q[c] - o[c] + r[c]) >> k[c], -128, 127),   r[c] = 2**(k[c]-1) if k[c] else 0

i.e. subtract the offset, divide by 2**k rounding halves up, saturate. The model's int8 input
tensor has scale ``input_scale`` and zero point 0, so the float model is trained on exactly
``int8 * input_scale``. Offsets centre each coefficient and shifts give each one the finest
step that keeps its 0.5-99.5 percentile range inside int8: c0 (log energy, ~90 units wide)
gets a coarser step than c9 (~8 units wide), which one per-tensor scale could not do.
Everything is integer, so the firmware reproduces it exactly from the model's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The float value of one int8 step of the model input (any value works; this keeps the
#: float model's inputs within about +-8).
INPUT_SCALE = 1.0 / 16.0


@dataclass(frozen=True)
class InputRule:
    offsets: tuple[int, ...]  # per coefficient, q8.7 units
    shifts: tuple[int, ...]  # per coefficient, >= 0
    input_scale: float = INPUT_SCALE

    def apply(self, q8_7: np.ndarray) -> np.ndarray:
        """(..., n_mfcc) int16 q8.7 -> (..., n_mfcc) int8."""
        values = q8_7.astype(np.int32) - np.asarray(self.offsets, dtype=np.int32)
        shifts = np.asarray(self.shifts, dtype=np.int32)
        rounding = np.where(shifts > 0, np.left_shift(1, np.maximum(shifts - 1, 0)), 0)
        return np.clip((values + rounding) >> shifts, -128, 127).astype(np.int8)

    def model_input(self, q8_7: np.ndarray) -> np.ndarray:
        """The float values the Keras model is trained on: ``apply(q8_7) * input_scale``."""
        return self.apply(q8_7).astype(np.float32) * np.float32(self.input_scale)

    @classmethod
    def fit(cls, q8_7: np.ndarray, *, low: float = 0.5, high: float = 99.5) -> "InputRule":
        """Offsets and shifts from feature statistics, (n, frames, n_mfcc) int16 q8.7."""
        flat = q8_7.reshape(-1, q8_7.shape[-1]).astype(np.float64)
        lo, hi = np.percentile(flat, [low, high], axis=0)
        offsets = np.round((lo + hi) / 2).astype(int)
        half_range = np.maximum(hi - offsets, offsets - lo)
        # Smallest k with half_range / 2**k <= 127.
        shifts = np.maximum(np.ceil(np.log2(np.maximum(half_range, 1.0) / 127.0)), 0).astype(int)
        return cls(tuple(int(o) for o in offsets), tuple(int(k) for k in shifts))

    def to_dict(self) -> dict:
        return {"offsets": list(self.offsets), "shifts": list(self.shifts), "input_scale": self.input_scale,
                "formula": "int8[c] = clamp((q8_7[c] - offsets[c] + (shifts[c] ? 1 << (shifts[c]-1) : 0)) >> shifts[c], -128, 127)"}

    @classmethod
    def from_dict(cls, values: dict) -> "InputRule":
        return cls(tuple(int(v) for v in values["offsets"]), tuple(int(v) for v in values["shifts"]),
                   float(values["input_scale"]))
