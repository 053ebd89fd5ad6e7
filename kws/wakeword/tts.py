"""Synthetic speech from the TTS programs installed here: espeak-ng, flite and festival.

A :class:`Voice` is (engine, voice name, rate, pitch). espeak-ng voices are every English
non-mbrola voice it lists (en-us, en-gb, en-gb-scotland, ...) combined with its variants
(``+m3``, ``+f2``, ``+klatt`` ...); rate is words per minute (``-s``), pitch 0-99 (``-p``).
flite voices are its built-in kal16, awb, rms and slt (and kal); rate is a duration stretch in
percent (100 = normal) and pitch the target mean F0 in Hz. festival voices are the English ones
it lists (Debian: festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts); rate is its
Duration_Stretch in percent for the diphone voices (the HTS voice keeps its own durations, so
its rate is always 100), and pitch is not used (0).

Every clip is returned as 16 kHz int16 and cached on disk under
``CACHE/<sha256 of engine, voice, rate, pitch, text>.wav``, so a second run of the recipe
synthesises nothing.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import KwsError

SAMPLE_RATE = 16000
#: flite's built-in voices that this recipe uses (kal is 8 kHz; kal16 is its 16 kHz twin).
FLITE_VOICES = ("kal16", "awb", "rms", "slt")


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak-ng", "flite" or "festival"
    name: str  # e.g. "en-us+f2" or "slt"
    rate: int  # espeak-ng: words per minute; flite: duration stretch in percent
    pitch: int  # espeak-ng: 0-99; flite: mean F0 in Hz

    @property
    def speaker(self) -> str:
        """The voice without rate and pitch (what a train/held-out split groups by)."""
        return f"{self.engine}:{self.name}"

    def to_dict(self) -> dict:
        return {"engine": self.engine, "name": self.name, "rate": self.rate, "pitch": self.pitch}


def have(program: str) -> bool:
    return shutil.which(program) is not None


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise KwsError(f"{command[0]} is not installed (apt-get install {command[0]})") from None
    except subprocess.CalledProcessError as error:
        raise KwsError(f"{command[0]} failed: {error.stderr.strip() or error}") from None


@functools.lru_cache(maxsize=None)
def espeak_voices() -> tuple[str, ...]:
    """English espeak-ng voices, without the mbrola ones (not installable here), sorted."""
    if not have("espeak-ng"):
        return ()
    names = set()
    for line in _run(["espeak-ng", "--voices=en"]).splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and not parts[4].startswith("mb/") and parts[1].startswith("en"):
            names.add(parts[1])
    return tuple(sorted(names))


@functools.lru_cache(maxsize=None)
def espeak_variants() -> tuple[str, ...]:
    """espeak-ng's voice variants, as ``+name`` suffixes (file names under ``!v/``), sorted."""
    if not have("espeak-ng"):
        return ()
    variants = set()
    for line in _run(["espeak-ng", "--voices=variant"]).splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[4].startswith("!v/"):
            variants.add("+" + parts[4][3:])
    return tuple(sorted(variants))


@functools.lru_cache(maxsize=None)
def flite_voices() -> tuple[str, ...]:
    if not have("flite"):
        return ()
    listed = _run(["flite", "-lv"]).split(":", 1)[-1].split()
    return tuple(v for v in FLITE_VOICES if v in listed)


#: festival's English voices this recipe knows (Debian packages festvox-kallpc16k,
#: festvox-kdlpc16k and festvox-us-slt-hts, all under free licences).
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


@functools.lru_cache(maxsize=None)
def festival_voices() -> tuple[str, ...]:
    if not (have("festival") and have("text2wave")):
        return ()
    listed = _run(["festival", "--batch", "(print (voice.list))"]).replace("(", " ").replace(")", " ").split()
    return tuple(v for v in FESTIVAL_VOICES if v in listed)


def voice_grid(count: int, *, seed: int, espeak_rates: tuple[int, int] = (120, 200),
               espeak_pitches: tuple[int, int] = (20, 80), flite_share: float = 0.15,
               festival_share: float = 0.1) -> list[Voice]:
    """``count`` voices spread over every espeak-ng (voice, variant) pair, every flite voice and
    every festival voice.

    The pairs are taken in a seeded order so that the first ``count`` cover as many base voices
    and variants as possible; each gets a random rate and pitch. About ``flite_share`` of the
    voices are flite's and ``festival_share`` festival's (cycled), where installed.
    """
    rng = np.random.default_rng([seed, 7])
    bases, variants, flites = espeak_voices(), ("",) + espeak_variants(), flite_voices()
    festivals = festival_voices()
    if not bases and not flites and not festivals:
        raise KwsError("no TTS program found: install espeak-ng (and optionally flite and festival)")
    n_festival = int(round(count * festival_share)) if festivals else 0
    if not bases and not flites:
        n_festival = count
    n_flite = int(round(count * flite_share)) if flites else 0
    if not bases:
        n_flite = count - n_festival
    n_espeak = count - n_flite - n_festival
    voices: list[Voice] = []
    if bases:
        # Variant order shuffled once; pair i takes base b = i % B and variant
        # (i // B + b * (V // B)) % V: each base starts at a different place in the variants, so
        # the first voices cover many variants, and no (base, variant) pair repeats before all
        # B * V pairs are used.
        order = rng.permutation(len(variants))
        stride = max(1, len(variants) // len(bases))
        for i in range(n_espeak):
            b = i % len(bases)
            base = bases[b]
            variant = variants[order[(i // len(bases) + b * stride) % len(variants)]]
            voices.append(Voice("espeak-ng", base + variant, int(rng.integers(espeak_rates[0], espeak_rates[1] + 1)),
                                int(rng.integers(espeak_pitches[0], espeak_pitches[1] + 1))))
    for i in range(n_flite):
        voices.append(Voice("flite", flites[i % len(flites)], int(rng.integers(80, 131)),
                            int(rng.integers(80, 200))))
    for i in range(n_festival):
        name = festivals[i % len(festivals)]
        # Duration_Stretch moves the diphone voices only; the HTS voice keeps its own durations.
        rate = int(rng.integers(80, 131)) if name.endswith("_diphone") else 100
        voices.append(Voice("festival", name, rate, 0))
    return voices


def cache_key(text: str, voice: Voice) -> str:
    return hashlib.sha256(f"{voice.engine}\0{voice.name}\0{voice.rate}\0{voice.pitch}\0{text}".encode()).hexdigest()


def _synthesize_uncached(text: str, voice: Voice) -> np.ndarray:
    from ..audio import load_audio

    with tempfile.TemporaryDirectory(prefix="kws-tts-") as folder:
        wav = os.path.join(folder, "out.wav")
        if voice.engine == "espeak-ng":
            _run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate), "-p", str(voice.pitch), "-w", wav, text])
        elif voice.engine == "flite":
            _run(["flite", "-voice", voice.name, "--setf", f"duration_stretch={voice.rate / 100:.2f}",
                  "--setf", f"int_f0_target_mean={voice.pitch}", "-t", text, "-o", wav])
        elif voice.engine == "festival":
            text_file = os.path.join(folder, "text.txt")
            Path(text_file).write_text(text + "\n")
            _run(["text2wave", "-o", wav, "-eval", f"(voice_{voice.name})",
                  "-eval", f"(Parameter.set 'Duration_Stretch {voice.rate / 100:.2f})", text_file])
        else:
            raise ValueError(f"unknown TTS engine {voice.engine!r}")
        return load_audio(wav, sample_rate=SAMPLE_RATE).samples


def synthesize(text: str, voice: Voice, *, cache_dir: Path | None = None) -> np.ndarray:
    """``text`` spoken by ``voice``: (samples,) int16 at 16 kHz, read from the cache when there."""
    import soundfile as sf

    path = Path(cache_dir) / f"{cache_key(text, voice)}.wav" if cache_dir is not None else None
    if path is not None and path.exists():
        samples, _ = sf.read(path, dtype="int16")
        return samples
    samples = _synthesize_uncached(text, voice)
    if path is not None:
        from ..atomic import write_file_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        sf.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
        write_file_atomically(path, buffer.getvalue())
    return samples


def synthesize_many(jobs: Sequence[tuple[str, Voice]], *, cache_dir: Path | None = None, progress: bool = False,
                    desc: str = "speech", workers: int = 2) -> list[np.ndarray]:
    """Every (text, voice) job, in order; TTS processes run ``workers`` at a time."""
    from ..stream_eval import _bar

    bar = _bar(progress, total=len(jobs), desc=desc, unit="clip")
    results: list[np.ndarray] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for samples in pool.map(lambda job: synthesize(job[0], job[1], cache_dir=cache_dir), jobs):
                results.append(samples)
                bar.update(1)
    finally:
        bar.close()
    return results
