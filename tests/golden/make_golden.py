"""Regenerate tests/golden/mfcc_q15.npz from CMSIS-DSP itself (needs ``pip install kws[dev]``).

    python tests/golden/make_golden.py

For each named signal of tests/signals.py and each config below, stores the signal and the
output of ``cmsisdsp.arm_mfcc_q15``, so that the bit-exactness tests also run where
cmsisdsp is absent. Must be run on a plain-C host (x86_64): arm64 builds use Neon.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent)]

from dsp import MfccConfig  # noqa: E402
from dsp.cmsis_reference import CmsisMfcc, plain_c_host  # noqa: E402
from dsp.mfcc_q15 import frame_signal  # noqa: E402
from signals import named_signals  # noqa: E402

# The default (512-point FFT, radix-4) and Hello Edge's 40 ms frames (1024-point, radix-4-by-2).
CONFIGS = {"default": MfccConfig(), "hello_edge_40ms": MfccConfig(frame_length=640, fft_length=1024)}


def main() -> None:
    if not plain_c_host():
        sys.exit("run this on x86_64: cmsisdsp on arm64 uses Neon and is not the plain-C reference")
    arrays: dict[str, np.ndarray] = {}
    configs = {}
    for config_name, config in CONFIGS.items():
        reference = CmsisMfcc(config)
        configs[config_name] = config.to_dict()
        for name, samples in named_signals().items():
            arrays[f"signal/{name}"] = samples
            arrays[f"mfcc/{config_name}/{name}"] = reference.frames_q15(frame_signal(samples, config=config))
    arrays["configs_json"] = np.array(json.dumps(configs, sort_keys=True))
    np.savez_compressed(HERE / "mfcc_q15.npz", **arrays)
    n_cases = sum(key.startswith("mfcc/") for key in arrays)
    print(f"wrote {HERE / 'mfcc_q15.npz'}: {n_cases} cases")


if __name__ == "__main__":
    main()
