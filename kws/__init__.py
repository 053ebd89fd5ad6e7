"""kws: always-on keyword spotting from a CMSIS-DSP bit-exact MFCC frontend to an int8 DS-CNN."""

__version__ = "0.1.0"
