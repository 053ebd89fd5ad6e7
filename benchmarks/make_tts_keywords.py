"""Speak the ten keywords with TTS into a Speech Commands-layout folder (an experiment).

    python benchmarks/make_tts_keywords.py OUT_DIR
    python benchmarks/make_tts_keywords.py OUT_DIR --grid 240

Without ``--grid``: the espeak-ng set below. With ``--grid N``: N voices of the wake-word
recipe's voice grid (``kws.wakeword.tts.voice_grid``, seed 0: every installed engine, i.e.
espeak-ng, flite, festival, RHVoice, Pico and Piper where present), each saying the ten
keywords, trimmed to the spoken part and centred in one second at 16 kHz.

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


def grid(root: Path, count: int) -> None:
    import numpy as np
    import soundfile as sf

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from kws.wakeword.dataset import trim_clip
    from kws.wakeword.tts import synthesize_many, voice_grid

    voices = voice_grid(count, seed=0)
    jobs = [(word, voice) for voice in voices for word in KEYWORDS]
    clips = synthesize_many(jobs, cache_dir=root.parent / (root.name + "-cache"), progress=True, desc="keywords")
    written: set[Path] = set()
    for (word, voice), clip in zip(jobs, clips):
        # The grid can draw one voice twice (festival's HTS voice has a single rate and pitch):
        # the same speaker id, the same clip; write it once.
        path = root / word / f"{training_side_speaker(f'{voice.engine}:{voice.name}:{voice.rate}:{voice.pitch}')}_nohash_0.wav"
        clip = trim_clip(clip)[:16000]
        if path in written or len(clip) < 1600:  # under 0.1 s: the voice said nothing usable
            continue
        out = np.zeros(16000, dtype=np.int16)
        start = (16000 - len(clip)) // 2
        out[start : start + len(clip)] = clip
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, out, 16000, subtype="PCM_16")
        written.add(path)
    engines = sorted({v.engine for v in voices})
    print(f"wrote {len(written)} clips from {len(voices)} voices ({', '.join(engines)}) under {root}")


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
