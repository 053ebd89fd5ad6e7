"""dsp: the kws feature frontend, a fixed-point MFCC bit-exact with CMSIS-DSP.

Pure numpy (and scipy for window shapes); never imports TensorFlow or cmsisdsp.
"""

from .config import MfccConfig
from .mfcc_q15 import mfcc_q15

__all__ = ["MfccConfig", "mfcc_q15"]
