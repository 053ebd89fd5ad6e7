"""Speak the ten keywords with espeak-ng into a Speech Commands-layout folder (an experiment).

    python benchmarks/make_tts_keywords.py OUT_DIR

96 voices (8 English accents x 12 variants, random rate 110-190 and pitch 25-75, seeded), one
clip per keyword each: 960 clips at espeak-ng's 22.05 kHz (kws resamples them). Each voice is
a fake speaker whose id the training hold-out keeps on the training side, so the validation
speakers stay exactly those of the benchmark. Used for the synthetic-speech rows of
benchmarks/README.md; needs espeak-ng.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import subprocess
import sys
from pathlib import Path

VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+f1", "+f2", "+f3", "+f4", "+klatt", "+klatt2")
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def training_side_speaker(voice: str) -> str:
    """A speaker id for ``voice`` that kws' salted 20 % speaker hold-out does not hold out."""
    for k in range(100):
        speaker = hashlib.sha1(f"tts:{voice}:{k}".encode()).hexdigest()[:8]
        if int(hashlib.sha1(f"kws-holdout:{speaker}".encode()).hexdigest(), 16) % 10000 >= 2000:
            return speaker
    raise RuntimeError("no training-side id found")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = Path(sys.argv[1])
    rng = random.Random(0)
    for voice, variant in itertools.product(VOICES, VARIANTS):
        speaker = training_side_speaker(voice + variant)
        for word in KEYWORDS:
            (root / word).mkdir(parents=True, exist_ok=True)
            rate, pitch = rng.randint(110, 190), rng.randint(25, 75)
            subprocess.run(["espeak-ng", "-v", voice + variant, "-s", str(rate), "-p", str(pitch),
                            "-w", str(root / word / f"{speaker}_nohash_0.wav"), word], check=True)
    print(f"wrote {len(VOICES) * len(VARIANTS) * len(KEYWORDS)} clips under {root}")


if __name__ == "__main__":
    main()
