"""Speak the ten keywords with TTS into a Speech Commands-layout folder (an experiment).

    python benchmarks/make_tts_keywords.py OUT_DIR
    python benchmarks/make_tts_keywords.py OUT_DIR --grid 240

Without ``--grid``: the espeak-ng set below. With ``--grid N``: the same as ``kws data
synthesize OUT_DIR --voices N`` (N voices of every installed engine, each saying the ten
keywords; see kws.data.synthetic), with the TTS cache in OUT_DIR-cache.

96 voices (8 English accents x 12 variants, random rate 110-190 and pitch 25-75, seeded), one
clip per keyword each: 960 clips at espeak-ng's 22.05 kHz (kws resamples them). Each voice is
a fake speaker whose id the training hold-out keeps on the training side, so the validation
speakers stay exactly those of the benchmark. Used for the synthetic-speech rows of
benchmarks/README.md; needs espeak-ng.
"""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kws.data.synthetic import KEYWORDS, training_side_speaker  # noqa: E402

VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+f1", "+f2", "+f3", "+f4", "+klatt", "+klatt2")


def grid(root: Path, count: int) -> None:
    """``kws data synthesize ROOT --voices COUNT`` (what the shipped model's recipe runs), with the
    TTS cache beside ROOT as this script always had it."""
    from kws.data.synthetic import synthesize_keywords

    synthesize_keywords(root, voices=count, cache_dir=root.parent / (root.name + "-cache"), progress=True)


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 3 and args[1] == "--grid":
        grid(Path(args[0]), int(args[2]))
        return
    if len(args) != 1:
        sys.exit(__doc__)
    root = Path(args[0])
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
