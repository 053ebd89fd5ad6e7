"""dsp: the kws feature frontend, a fixed-point MFCC bit-exact with CMSIS-DSP.

* :class:`MfccConfig`: the frozen frontend configuration (single source of truth).
* :func:`mfcc_q15`: int16 samples -> q8.7 MFCC, bit-exact with ``arm_mfcc_q15`` (plain C).
* :func:`mfcc_f32`: the float reference, equal to ``arm_mfcc_f32``; mapped to librosa.
* :class:`MfccStream`: :func:`mfcc_q15` over audio pushed in chunks of any size.

Pure numpy (scipy only for window shapes); never imports TensorFlow or cmsisdsp.
"""

from .config import SAMPLE_RATE, MfccConfig
from .mfcc_f32 import mfcc_f32
from .mfcc_q15 import mfcc_q15
from .stream import MfccStream

__all__ = ["SAMPLE_RATE", "MfccConfig", "MfccStream", "mfcc_f32", "mfcc_q15"]
