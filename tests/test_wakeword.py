"""Custom wake words (kws wakeword, kws record): TTS, confusables, room, windows, calibration,
and one `kws wakeword train --quick` run. Needs espeak-ng (skips without it); never the network,
never ../shared/data."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import assert_one_error_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kws.cli import main  # noqa: E402

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


# --- room: pure functions ----------------------------------------------------------------------


def test_synthetic_rir_decays_at_its_rt60():
    from kws.wakeword.room import synthetic_rir

    rir = synthetic_rir(np.random.default_rng(0), rt60_s=0.4)
    assert rir.shape == (int(0.4 * 16000),) and rir[0] == 1.0
    assert np.argmax(np.abs(rir)) == 0
    energy = np.square(rir[1:])
    early, late = energy[: len(energy) // 10].sum(), energy[-len(energy) // 10 :].sum()
    assert late < early * 1e-3  # -60 dB over the length: the last tenth is far below the first
    again = synthetic_rir(np.random.default_rng(0), rt60_s=0.4)
    np.testing.assert_array_equal(rir, again)


def test_band_limit_keeps_the_band_and_cuts_outside():
    from kws.wakeword.room import band_limit

    t = np.arange(16000) / 16000

    def gain(hz):
        out = band_limit(np.sin(2 * np.pi * hz * t), low_hz=300, high_hz=3400)
        return np.sqrt(np.mean(out[4000:] ** 2) / 0.5)

    assert gain(1000) > 0.9
    assert gain(50) < 0.05 and gain(7000) < 0.05


def test_colored_noise_has_unit_rms_and_its_slope():
    from kws.wakeword.room import colored_noise

    rng = np.random.default_rng(1)
    for exponent in (0.0, 1.0, 2.0):
        x = colored_noise(rng, 32000, exponent=exponent)
        assert np.sqrt(np.mean(x ** 2)) == pytest.approx(1.0, rel=1e-6)
    brown = np.abs(np.fft.rfft(colored_noise(rng, 32000, exponent=2.0))) ** 2
    white = np.abs(np.fft.rfft(colored_noise(rng, 32000, exponent=0.0))) ** 2
    low, high = slice(20, 200), slice(8000, 16000)
    assert brown[low].mean() / brown[high].mean() > 100 * white[low].mean() / white[high].mean()


def test_augment_room_is_seeded_and_keeps_shape():
    from kws.wakeword.room import RoomConfig, augment_room, colored_noise

    rng = np.random.default_rng(2)
    clips = (rng.standard_normal((6, 16000)) * 2000).astype(np.int16)
    noise = np.stack([colored_noise(rng, 16000, exponent=1.0) for _ in range(6)])
    speech = np.array([1, 1, 1, 0, 0, 1], bool)
    a = augment_room(clips, noise, np.random.default_rng(5), RoomConfig(), speech=speech)
    b = augment_room(clips, noise, np.random.default_rng(5), RoomConfig(), speech=speech)
    assert a.shape == clips.shape and a.dtype == np.int16
    np.testing.assert_array_equal(a, b)
    silent = augment_room(np.zeros((2, 16000), np.int16), noise[:2], np.random.default_rng(5), RoomConfig(),
                          speech=np.zeros(2, bool))
    assert np.all(np.abs(silent).max(axis=1) > 0)  # "silence" is a room, not digital zeros


# --- windows -----------------------------------------------------------------------------------


def test_place_ends_the_clip_before_the_window_end():
    from kws.wakeword.dataset import place

    clip = np.arange(1, 101, dtype=np.int16)
    out = place(clip, 1000, 50)
    assert out[850] == 1 and out[949] == 100 and out[950:].sum() == 0 and out[:850].sum() == 0
    long = place(np.ones(2000, np.int16), 1000, 0)
    assert long.sum() == 1000


def test_change_speed():
    from kws.wakeword.dataset import change_speed

    clip = (np.sin(np.arange(1600) * 0.1) * 1000).astype(np.int16)
    assert len(change_speed(clip, 2.0)) == 800 and len(change_speed(clip, 0.8)) == 2000
    np.testing.assert_array_equal(change_speed(clip, 1.0), clip)


def _material():
    from kws.wakeword.dataset import Material
    from kws.wakeword.room import colored_noise

    rng = np.random.default_rng(3)
    tone = (np.sin(np.arange(8000) * 0.2) * 8000).astype(np.int16)
    return Material(positives=[tone] * 5, confusables=[tone[:3000]] * 3,
                    speech=[(rng.standard_normal(48000) * 1000).astype(np.int16)],
                    noise=[colored_noise(rng, 32000, exponent=1.0).astype(np.float32)])


def test_epoch_windows_composition_and_seed():
    from kws.wakeword.dataset import LABEL_SILENCE, LABEL_UNKNOWN, LABEL_WAKE, WindowConfig, epoch_windows
    from kws.wakeword.room import RoomConfig

    config = WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5)
    windows, labels = epoch_windows(_material(), config, RoomConfig(), seed=0, epoch=0)
    assert windows.shape == (10 + 20 + 5, 16000) and windows.dtype == np.int16
    assert [int(np.sum(labels == k)) for k in (LABEL_SILENCE, LABEL_UNKNOWN, LABEL_WAKE)] == [5, 20, 10]
    again, labels_again = epoch_windows(_material(), config, RoomConfig(), seed=0, epoch=0)
    np.testing.assert_array_equal(windows, again)
    np.testing.assert_array_equal(labels, labels_again)
    other, _ = epoch_windows(_material(), config, RoomConfig(), seed=0, epoch=1)
    assert not np.array_equal(windows, other)


# --- confusables and TTS -------------------------------------------------------------------------


def test_edit_distance():
    from kws.wakeword.confusables import edit_distance

    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0


@needs_espeak
def test_confusables_are_parts_and_neighbours_never_the_wake_word():
    from kws.wakeword.confusables import confusables, phonemes

    found = confusables("Hey Nova")
    assert "hey nova" not in found
    assert {"hey", "nova", "nova hey"} <= set(found)
    assert any(text.startswith("hey ") and text != "hey nova" for text in found)  # a swapped second word
    assert phonemes("hey nova") and all(phonemes(t) != phonemes("hey nova") for t in found)
    single = confusables("alexa")
    assert "alex" in single and "lexa" in single and len(single) >= 8


def test_cmu_lexicon_neighbours_skip_the_wake_word_said_sloppily(tmp_path):
    """Dictionary neighbours: ARPAbet without stress, the first pronunciation of a word; ranked by
    relative phoneme distance; never a homophone, a word containing the wake word's sounds, the
    wake word with sounds dropped, or one nearer than min_distance."""
    from kws.wakeword.confusables import cmu_lexicon, lexicon_neighbours

    entries = {
        "alexa": "((ax) 0) ((l eh k) 1) ((s ax) 0)",
        "alexas": "((ax) 0) ((l eh k) 1) ((s ax z) 0)",  # contains the wake word
        "aleksa": "((ax) 0) ((l eh k) 1) ((s ax) 0)",  # homophone
        "lexa": "((l eh k) 1) ((s ax) 0)",  # sounds dropped
        "alexi": "((ax) 0) ((l eh k) 1) ((s iy) 0)",  # 1 of 6 sounds: too near
        "alexis": "((ax) 0) ((l eh k) 1) ((s ih s) 0)",  # 2 of 7
        "lexus": "((l eh k) 1) ((s ax s) 0)",  # 2 of 6
        "flexer": "((f l eh k) 1) ((s er) 0)",  # 2 of 6, level with lexus: alphabetical
        "banana": "((b ax) 0) ((n ae) 1) ((n ax) 0)",  # 4 of 6
    }
    lines = ["MNCL"] + [f'("{word}" nil ({sounds}))' for word, sounds in entries.items()]
    lines.insert(2, '("alexa" n (((z z z) 1)))')  # a second pronunciation: ignored
    path = tmp_path / "cmudict.out"
    path.write_text("\n".join(lines) + "\n")
    lexicon = cmu_lexicon(path)
    assert lexicon["alexa"] == ("ax", "l", "eh", "k", "s", "ax") and lexicon["flexer"] == ("f", "l", "eh", "k", "s", "er")
    assert lexicon_neighbours("alexa", count=10, lexicon=lexicon) == ["alexis", "flexer", "lexus", "banana"]
    assert lexicon_neighbours("alexa", count=2, lexicon=lexicon) == ["alexis", "flexer"]
    assert lexicon_neighbours("nova", count=5, lexicon=lexicon) == []
    assert cmu_lexicon(tmp_path / "absent") == {}


@needs_espeak
def test_confusables_take_dictionary_neighbours_else_everyday_words():
    from kws.wakeword.confusables import VOCABULARY, confusables, phonemes

    lexicon = {"alexa": ("ax", "l", "eh", "k", "s", "ax"), "lexus": ("l", "eh", "k", "s", "ax", "s")}
    assert "lexus" in confusables("alexa", lexicon=lexicon)
    without = confusables("alexa", lexicon={})
    assert "lexus" not in without and any(t in VOCABULARY for t in without)
    assert all(phonemes(t) != phonemes("alexa") for t in without)


@needs_espeak
def test_voice_grid_covers_voices_and_variants_deterministically():
    from kws.wakeword.tts import espeak_variants, espeak_voices, voice_grid

    bases = espeak_voices()
    assert "en-us" in bases and "en-gb" in bases and not any("mbrola" in b for b in bases)
    assert len(espeak_variants()) > 20
    grid = voice_grid(60, seed=0)
    assert grid == voice_grid(60, seed=0) and grid != voice_grid(60, seed=1)
    espeak = [v for v in grid if v.engine == "espeak-ng"]
    assert {v.name.split("+")[0] for v in espeak} == set(bases)
    assert len({v.name for v in espeak}) == len(espeak)  # no (voice, variant) twice
    many = [v.name for v in voice_grid(400, seed=0) if v.engine == "espeak-ng"]
    assert len(set(many)) == len(many)
    assert all(120 <= v.rate <= 200 and 20 <= v.pitch <= 80 for v in espeak)
    # Slower voices: the same voices, speed rates divided and duration stretches multiplied.
    assert voice_grid(60, seed=0, slower=(1.0, 1.0)) == grid
    slow = voice_grid(60, seed=0, slower=(1.5, 1.5))
    assert [(v.engine, v.name, v.pitch) for v in slow] == [(v.engine, v.name, v.pitch) for v in grid]
    for before, after in zip(grid, slow):
        if before.engine in ("espeak-ng", "rhvoice", "pico"):
            assert after.rate == round(before.rate / 1.5)
        elif before.engine == "festival" and not before.name.endswith("_diphone"):
            assert after.rate == before.rate == 100
        else:
            assert after.rate == round(before.rate * 1.5)
    ranged = voice_grid(60, seed=0, slower=(1.0, 1.5))
    assert all(b.rate / 1.5 - 1 <= r.rate <= b.rate + 1 for b, r in zip(grid, ranged) if r.engine == "espeak-ng")
    assert ranged != grid and ranged != slow


@needs_espeak
def test_synthesis_is_16k_int16_and_cached(tmp_path, monkeypatch):
    from kws.wakeword import tts

    voice = tts.Voice("espeak-ng", "en-us+f2", 160, 50)
    samples = tts.synthesize("hey nova", voice, cache_dir=tmp_path)
    assert samples.dtype == np.int16 and 0.4 * 16000 < len(samples) < 2.5 * 16000
    assert np.abs(samples).max() > 1000
    assert len(list(tmp_path.glob("*.wav"))) == 1

    def no_synthesis(*args):
        raise AssertionError("synthesised again instead of reading the cache")

    monkeypatch.setattr(tts, "_synthesize_uncached", no_synthesis)
    np.testing.assert_array_equal(tts.synthesize("hey nova", voice, cache_dir=tmp_path), samples)
    other = tts.Voice("espeak-ng", "en-us+f2", 120, 50)
    assert tts.cache_key("hey nova", other) != tts.cache_key("hey nova", voice)


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed")
def test_flite_voices_speak(tmp_path):
    from kws.wakeword import tts

    assert set(tts.flite_voices()) == set(tts.FLITE_VOICES)
    samples = tts.synthesize("hey nova", tts.Voice("flite", "slt", 110, 150), cache_dir=tmp_path)
    assert samples.dtype == np.int16 and len(samples) > 0.3 * 16000


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="festival not installed")
def test_festival_voices_speak_and_join_the_grid(tmp_path):
    from kws.wakeword import tts

    assert set(tts.festival_voices()) == set(tts.FESTIVAL_VOICES)
    slow = tts.synthesize("hey nova", tts.Voice("festival", "kal_diphone", 130, 0), cache_dir=tmp_path)
    fast = tts.synthesize("hey nova", tts.Voice("festival", "kal_diphone", 80, 0), cache_dir=tmp_path)
    assert slow.dtype == np.int16 and np.abs(slow).max() > 1000
    assert len(slow) > 1.3 * len(fast)  # Duration_Stretch does stretch the diphone voices
    hts = tts.synthesize("hey nova", tts.Voice("festival", "cmu_us_slt_arctic_hts", 100, 0), cache_dir=tmp_path)
    assert np.abs(hts).max() > 1000 and 0.3 * 16000 < len(hts) < 2.5 * 16000
    grid = [v for v in tts.voice_grid(100, seed=0) if v.engine == "festival"]
    assert {v.name for v in grid} == set(tts.FESTIVAL_VOICES)
    assert all(v.rate == 100 for v in grid if v.name == "cmu_us_slt_arctic_hts")


# --- the per-model threshold -----------------------------------------------------------------------


def _args(threshold=None, refractory=None):
    return SimpleNamespace(keywords=None, every=None, smoothing=None, threshold=threshold, refractory=refractory)


def test_detect_uses_the_recorded_threshold_unless_given_one():
    from dataclasses import replace

    from kws.commands.detect import detector_config
    from kws.detector_config import DetectorConfig
    from kws.model_file import load_model

    default = load_model()
    assert detector_config(_args(), default).threshold == 0.6  # the shipped model records none
    assert detector_config(_args()).threshold == 0.6
    recorded = replace(default, detector=DetectorConfig(threshold=0.83))
    assert detector_config(_args(), recorded).threshold == 0.83
    assert detector_config(_args(0.7), recorded).threshold == 0.7
    # The refractory time too: a 1.5-second wake word records 1500 ms.
    assert detector_config(_args(), default).refractory_ms == 1000.0
    longer = replace(default, detector=DetectorConfig(threshold=0.8, refractory_ms=1500.0))
    assert detector_config(_args(), longer).refractory_ms == 1500.0
    assert detector_config(_args(refractory=800.0), longer).refractory_ms == 800.0


# --- kws wakeword train --quick --------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    pytest.importorskip("tensorflow")
    work = tmp_path_factory.mktemp("wakeword")
    out = work / "hey_nova"
    # A 1.5-second window, not the default 1 s: every other model in the tests has 1 s, and the
    # longer one must go through the same detector, export and firmware.
    status = main(["wakeword", "train", "hey nova", "--quick", "--window", "1.5", "--out", str(out),
                   "--cache", str(work / "cache"), "--no-progress"])
    assert status == 0
    return out


def test_quick_run_writes_a_usable_model(quick_model):
    from kws.model_file import load_model

    for name in ("model.tflite", "model.json", "det.png", "report.json", "report.txt", "config.json"):
        assert (quick_model / name).stat().st_size > 0, name
    model = load_model(quick_model)  # through the folder, as `kws detect --model DIR` does
    assert model.labels == ("_silence_", "_unknown_", "hey nova")
    assert model.clip_samples == 24000 and model.n_frames == model.mfcc.n_frames(24000)
    assert set(model.architecture["ops"]) <= {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
                                                          "FULLY_CONNECTED", "SOFTMAX"}
    assert model.input_quantization.zero_point == 0
    report = json.loads((quick_model / "report.json").read_text())
    assert model.detector.threshold == report["calibration"]["threshold"]
    assert (quick_model / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrated_threshold_meets_its_target_on_the_calibration_audio(quick_model):
    report = json.loads((quick_model / "report.json").read_text())
    calibration = report["calibration"]
    sweep = {row["threshold"]: row for row in calibration["sweep"]}
    chosen = sweep[calibration["threshold"]]
    if calibration["target_met"] and calibration["method"] == "tail estimate":
        # Too little audio to count the target: the fitted rate meets it, at most one counted.
        assert calibration["estimated_fa_per_hour"] <= calibration["target_fa_per_hour"]
        assert chosen["false_accepts"] <= 1
    elif calibration["target_met"]:
        assert calibration["method"] == "count"
        assert chosen["fa_per_hour"] <= calibration["target_fa_per_hour"]
        # No threshold with at most the target has fewer false rejects.
        better = [r for r in sweep.values() if r["fa_per_hour"] <= calibration["target_fa_per_hour"]
                  and r["false_rejects"] < chosen["false_rejects"]]
        assert not better
    else:
        assert chosen["false_accepts"] == min(r["false_accepts"] for r in sweep.values())
    # The sweep is monotone: a higher threshold never fires more.
    ordered = [sweep[t] for t in sorted(sweep)]
    assert all(a["false_accepts"] >= b["false_accepts"] for a, b in zip(ordered, ordered[1:]))


def test_window_sets_the_clip_length_and_a_refractory_time_as_long():
    from kws.wakeword.train import WakewordConfig, with_window

    default = with_window(WakewordConfig(wake_word="alexa"))
    assert default.window.clip_samples == 16000 and default.detector.refractory_ms == 1000.0
    # A word stays in a 1.5-second window for 1.5 s: no second detection on its way out.
    longer = with_window(WakewordConfig(wake_word="smart mirror", window_seconds=1.5))
    assert longer.window.clip_samples == 24000 and longer.detector.refractory_ms == 1500.0


def _sweep(counts: dict[float, int], *, hours: float):
    from kws.stream_eval import ThresholdResult

    # False rejects fall as the threshold falls, so the lowest allowed threshold is the best.
    return [ThresholdResult(t, 100, int(100 * t), {}, n, 0, 0.0, hours * 3600, ()) for t, n in counts.items()]


def test_tail_fit_finds_where_an_exponential_tail_meets_the_target():
    from kws.wakeword.calibrate import THRESHOLDS, tail_threshold

    # 200 false accepts at 0.05, falling by e every 0.08: 0.5/h over 0.7 h is met at
    # t = 0.05 + 0.08 ln(200 / 0.35) = 0.558.
    counts = {t: int(round(200 * np.exp(-(t - 0.05) / 0.08))) for t in THRESHOLDS}
    fit = tail_threshold(_sweep(counts, hours=0.7), hours=0.7, target_fa_per_hour=0.5)
    exact = 0.05 + 0.08 * np.log(200 / 0.35)
    # The sweep counts whole false accepts; rounding them moves the fit by about one 0.01 step.
    assert fit is not None and fit.start == 0.24 and fit.events == 19
    assert abs(fit.threshold - exact) < 0.02, (fit, exact)
    assert fit.fa_per_hour(exact) == pytest.approx(0.5, rel=0.2)
    # Nothing to fit when the model hardly fires at all.
    assert tail_threshold(_sweep({0.1: 3, 0.5: 1, 0.9: 0}, hours=0.7), hours=0.7, target_fa_per_hour=0.5) is None


def test_short_calibration_audio_estimates_the_rate_instead_of_counting_one_outlier():
    from kws.stream_eval import pick_target
    from kws.wakeword.calibrate import THRESHOLDS, choose_threshold

    # An exponential tail plus one outlier at 0.93: counting puts the threshold above the outlier.
    counts = {t: int(round(200 * np.exp(-(t - 0.05) / 0.08))) + (t <= 0.93) for t in THRESHOLDS}
    short = _sweep(counts, hours=0.7)
    method, chosen, fit = choose_threshold(short, hours=0.7, target_fa_per_hour=0.5)
    assert method == "tail estimate" and fit is not None
    assert chosen.threshold == min(t for t in THRESHOLDS if t >= fit.threshold) < 0.93
    assert chosen.false_accepts <= 1
    # Enough audio to count the target (7 false accepts in 14 h): the count decides.
    long = _sweep(counts, hours=14)
    method, chosen, fit = choose_threshold(long, hours=14, target_fa_per_hour=0.5)
    assert method == "count" and fit is None and chosen is pick_target(long, 0.5) and chosen.false_accepts <= 7
    # Never where the calibration audio itself shows more than one false accept.
    crowded = {t: (n if t < 0.5 else 2 if t < 0.9 else 0) for t, n in counts.items()}
    method, chosen, _ = choose_threshold(_sweep(crowded, hours=0.7), hours=0.7, target_fa_per_hour=0.5)
    assert method == "count" or chosen.threshold >= 0.9


def test_quick_model_scores_the_wake_word_above_negatives(quick_model, tmp_path):
    """Held-out voices saying the wake word score higher for it than other speech does."""
    from kws.inference import Classifier
    from kws.model_file import load_model
    from kws.training import mfcc_q15_clips
    from kws.wakeword.dataset import place, trim_clip
    from kws.wakeword.sources import random_sentences
    from kws.wakeword.tts import Voice, synthesize

    model = load_model(quick_model)
    classifier = Classifier(model)
    voices = [Voice("espeak-ng", v, 150, 50) for v in ("en-us+m7", "en-gb+f4", "en-029+m2", "en-us-nyc+f1")]

    def wake_scores(texts):
        clips = [trim_clip(synthesize(t, v, cache_dir=tmp_path)) for t in texts for v in voices]
        windows = np.stack([place(c, model.clip_samples, 1600) for c in clips])
        features = mfcc_q15_clips(windows, model.mfcc)
        return np.array([classifier.probabilities(classifier.scores(f))[2] for f in features])

    positive = wake_scores(["hey nova"])
    negative = wake_scores(random_sentences(4, seed=99, avoid=["hey nova"], words=(2, 3)))
    assert positive.mean() > negative.mean()


def test_detect_runs_with_the_wake_word_model(quick_model, tmp_path, capsys):
    from kws.audio import write_wav

    wav = tmp_path / "quiet.wav"
    write_wav(wav, np.zeros(3 * 16000, np.int16), 16000)
    assert main(["detect", str(wav), "--model", str(quick_model)]) == 0
    captured = capsys.readouterr()
    assert "0 detections" in captured.err


def test_firmware_takes_the_wake_word_model(quick_model, tmp_path, capsys):
    """`kws firmware run` gives `kws detect --scores`'s lines for the wake-word model, with the
    threshold the model records compiled into the image."""
    if any(shutil.which(tool) is None for tool in ("arm-none-eabi-gcc", "qemu-system-arm")):
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm missing")
    from kws.audio import write_wav
    from kws.model_file import load_model
    from kws.wakeword.dataset import trim_clip
    from kws.wakeword.tts import Voice, synthesize

    model = load_model(quick_model)
    # The word itself, twice, between stretches of noise.
    hey_nova = trim_clip(synthesize("hey nova", Voice("espeak-ng", "en-us+m7", 150, 50), cache_dir=tmp_path))
    rng = np.random.default_rng(1)
    audio = np.concatenate([rng.normal(0, 300, 16000), hey_nova, rng.normal(0, 300, 16000), hey_nova,
                            rng.normal(0, 300, 16000)]).clip(-32768, 32767).astype(np.int16)
    wav = tmp_path / "words.wav"
    write_wav(wav, audio, 16000)
    assert main(["detect", "--scores", str(wav), "--model", str(quick_model)]) == 0
    expected = capsys.readouterr().out.splitlines()
    build = tmp_path / "build"
    assert main(["firmware", "run", "--json", "--model", str(quick_model), "--build-dir", str(build), str(wav)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == expected and len(expected) > 10
    record = json.loads((build / "size.json").read_text())
    assert record["pipeline"]["labels"] == list(model.labels)
    assert record["pipeline"]["detector"]["threshold"] == model.detector.threshold
    # The 1.5-second window and the refractory time it brings reach the image.
    assert json.loads(expected[0])["frame"] == model.n_frames - 1 == 73
    assert record["pipeline"]["detector"]["refractory_ms"] == 1500.0


@pytest.mark.parametrize("argv, message", [
    (["wakeword", "train", "123", "--out", "{tmp}/x"], "has no letters"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--target-fa-per-hour", "0"], "target-fa-per-hour"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--mine-every", "-1"], "--mine-every"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--learning-rate", "0"], "--learning-rate"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--distill", "bert"], "invalid choice: 'bert'"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--negatives", "{tmp}/missing"], "no such file"),
    (["wakeword", "train", "hey nova"], "--out"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "wake_word=alexa"], "KEY one of"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "epochs"], "KEY=VALUE"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "epochs=many"], "not a number"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "epochs=1.5"], "epochs takes a value like 30"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "learning_rate=-1"], "learning_rate takes"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "tts_slower=[1.5]"], "tts_slower takes"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--set", "tts_slower=[1.5,1.0]"], "range of factors"),
    (["wakeword", "train", "hey nova", "--out", "{tmp}/x", "--distill", "embedding", "--set",
      "embedding_relabel_every=0"], "embedding_relabel_every counts epochs"),
    (["record", "hey nova", "--out", "{tmp}/r", "--count", "0"], "--count"),
])
def test_bad_input_is_one_error_line(argv, message, tmp_path, capsys):
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert message in line
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_set_changes_recipe_settings_by_their_config_names():
    from kws.wakeword.train import WakewordConfig, with_settings

    base = WakewordConfig(wake_word="hey nova")
    changed = with_settings(base, ["epochs=40", "learning-rate=0.001", "tts_slower=[1, 1.4]", "average_epochs=5"])
    assert changed == replace(base, epochs=40, learning_rate=0.001, tts_slower=(1.0, 1.4), average_epochs=5)
    assert isinstance(changed.learning_rate, float) and isinstance(changed.tts_slower[0], float)
    assert with_settings(base, []) == base
    assert with_settings(base, ["epochs=40", "epochs=12"]).epochs == 12  # the last one counts


# --- kws record, with sounddevice replaced --------------------------------------------------------


def _fake_recorder(takes: list[np.ndarray]):
    calls = []

    def rec(frames, *, samplerate, channels, dtype, device):
        assert (samplerate, channels, dtype) == (16000, 1, "int16")
        calls.append(device)
        take = np.zeros(frames, np.int16)
        source = takes[min(len(calls) - 1, len(takes) - 1)]
        take[: len(source)] = source[:frames]
        return take[:, None]

    return SimpleNamespace(
        query_devices=lambda: [{"name": "USB mic", "max_input_channels": 1, "default_samplerate": 16000.0,
                                "hostapi": 0}],
        query_hostapis=lambda index: {"name": "ALSA"},
        default=SimpleNamespace(device=[0, -1]),
        PortAudioError=type("PortAudioError", (Exception,), {}),
        rec=rec, wait=lambda: None, calls=calls)


def test_record_prompts_trims_and_retries_silent_takes(monkeypatch, tmp_path, capsys):
    import kws.commands.record as record

    monkeypatch.setattr(record.time, "sleep", lambda s: None)
    word = np.zeros(16000, np.int16)
    word[6000:12000] = (np.sin(np.arange(6000) * 0.3) * 10000).astype(np.int16)
    fake = _fake_recorder([word, np.zeros(100, np.int16), word])
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert main(["record", "hey nova", "--count", "2", "--out", str(tmp_path / "takes")]) == 0
    out = capsys.readouterr()
    assert "take refused: nothing heard" in out.err
    files = sorted((tmp_path / "takes").glob("*.wav"))
    assert [f.name for f in files] == ["hey_nova_001.wav", "hey_nova_002.wav"]
    from kws.audio import load_audio

    take = load_audio(files[0]).samples
    assert 6000 <= len(take) <= 6000 + 2 * 320 + 160  # trimmed to the sound and its 20 ms margins
    assert len(fake.calls) == 3


def test_record_without_portaudio_is_one_error_line(without_portaudio, tmp_path, capsys):
    code = main(["record", "hey nova", "--out", str(tmp_path / "takes")])
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert "PortAudio" in line
    assert not (tmp_path / "takes").exists()


def test_backbone_starts_the_student_from_a_real_speech_run(tmp_path):
    """--backbone: every layer but the logits comes from the run, with the run's input rule."""
    pytest.importorskip("tensorflow")
    from corpus import make_corpus

    from kws.input_rule import InputRule
    from kws.model.dscnn import STUDENT, build_dscnn
    from kws.training import load_run_model
    from kws.wakeword.train import WakewordConfig, _load_backbone

    run = tmp_path / "run"
    assert main(["train", "--quick", "--data", str(make_corpus(tmp_path / "sc")), "--run", str(run),
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    base, _ = load_run_model(run)
    model = build_dscnn((49, 10), 3, STUDENT)
    rule = _load_backbone(model, run, WakewordConfig(wake_word="hey nova", backbone=str(run)))
    assert rule == InputRule.from_dict(json.loads((run / "metrics.json").read_text())["input_rule"])
    for layer in model.layers:
        for mine, theirs in zip(layer.get_weights(), base.get_layer(layer.name).get_weights()):
            if layer.name == "logits":
                assert mine.shape != theirs.shape or not np.array_equal(mine, theirs)
            else:
                np.testing.assert_array_equal(mine, theirs)
    assert main(["wakeword", "train", "hey nova", "--out", str(tmp_path / "w"), "--backbone", str(tmp_path)]) == 2


def test_distill_trains_the_teacher_then_the_student_on_the_same_windows(monkeypatch):
    """--distill: the teacher is fitted first, every epoch on fresh windows; the student, through
    the Distiller with that teacher, then sees exactly those inputs in the same order, and its
    weights are averaged over the last epochs as without a teacher (average_epochs)."""
    pytest.importorskip("tensorflow")
    import kws.train_loop as train_loop
    import kws.wakeword.train as recipe
    from kws.model.distill import Distiller
    from kws.model.dscnn import TEACHER
    from kws.wakeword.dataset import WindowConfig

    seen: list[tuple[str, object, list[np.ndarray], int]] = []
    real_run = train_loop.Loop.run

    def spy(loop, epochs, **kwargs):
        inputs: list[np.ndarray] = []

        def recording(epoch):
            drawn = epochs(epoch)
            inputs.append(drawn[0].copy())
            return drawn

        seen.append((kwargs["desc"], loop.model, inputs, kwargs.get("average_epochs", 0)))
        return real_run(loop, recording, **kwargs)

    monkeypatch.setattr(train_loop.Loop, "run", spy)
    config = recipe.WakewordConfig(wake_word="hey nova", epochs=2, distill="dscnn", average_epochs=2,
                                   window=WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5))
    student, rule, _, history = recipe.fit_model(config, _material(), progress=False, log=print)
    (teacher_desc, teacher, teacher_inputs, _), (student_desc, distiller, student_inputs, average) = seen
    assert (teacher_desc, student_desc) == ("teacher", "student (distilled)")
    assert teacher.count_params() > 5 * student.count_params()
    assert teacher.get_layer(f"pw_{TEACHER.blocks}").filters == TEACHER.channels
    assert isinstance(distiller, Distiller) and distiller.teacher is teacher and distiller.student is student
    assert distiller.alpha == config.alpha and distiller.temperature == config.temperature
    assert average == config.average_epochs
    assert len(teacher_inputs) == len(student_inputs) == 2
    for a, b in zip(teacher_inputs, student_inputs):
        np.testing.assert_array_equal(a, b)
        levels = a / np.float32(rule.input_scale)  # int8 values times the input scale
        assert np.abs(levels - np.rint(levels)).max() < 1e-3 and -128 <= levels.min() and levels.max() <= 127
    assert not np.array_equal(teacher_inputs[0], teacher_inputs[1]), "each epoch draws fresh windows"
    assert [row["epoch"] for row in history] == [1, 2] and all("teacher" in row for row in history)


def test_embedding_teacher_labels_every_epochs_audio(monkeypatch, tmp_path):
    """--distill embedding: the head learns from the first epochs' windows; every epoch the
    student trains through the Distiller on the teacher's logits of exactly that epoch's
    windows; only the windows the head learnt from are kept in the embedding cache."""
    pytest.importorskip("tensorflow")
    from kws.teachers import embedding

    if not embedding.available():
        pytest.skip("pyopen-wakeword (the speech embedding) is not installed")
    import kws.train_loop as train_loop
    import kws.wakeword.train as recipe
    from kws.model.distill import Distiller
    from kws.wakeword.dataset import WindowConfig, epoch_windows

    fitted: list[list[np.ndarray]] = []
    real_fit = embedding.EmbeddingTeacher.fit.__func__

    def fit_spy(cls, audio, labels, n_classes, **kwargs):
        fitted.append([a.copy() for a in audio])
        teacher = real_fit(cls, audio, labels, n_classes, **kwargs)
        teachers.append(teacher)
        return teacher

    teachers: list = []
    given: list[np.ndarray] = []
    real_run = train_loop.Loop.run

    def run_spy(loop, epochs, **kwargs):
        assert isinstance(loop.model, Distiller) and loop.model.given_logits
        assert (loop.model.alpha, loop.model.temperature) == (config.alpha, config.temperature)

        def recording(epoch):
            drawn = epochs(epoch)
            assert len(drawn) == 3 and len(drawn[2]) == len(drawn[1])
            given.append(drawn[2].copy())
            return drawn
        return real_run(loop, recording, **kwargs)

    monkeypatch.setattr(embedding.EmbeddingTeacher, "fit", classmethod(fit_spy))
    monkeypatch.setattr(train_loop.Loop, "run", run_spy)
    config = recipe.WakewordConfig(wake_word="hey nova", epochs=2, distill="embedding", embedding_teacher_epochs=1,
                                   mine_every=0,
                                   window=WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5))
    material = _material()
    student, _, _, history = recipe.fit_model(config, material, progress=False, log=print, cache_dir=tmp_path)
    drawn = [epoch_windows(material, config.window, config.room, seed=config.seed, epoch=e) for e in range(2)]
    assert len(fitted) == 1 and len(fitted[0]) == 1
    np.testing.assert_array_equal(fitted[0][0], drawn[0][0])
    assert len(given) == 2 and [row["epoch"] for row in history] == [1, 2]
    for (windows, _), logits in zip(drawn, given):
        np.testing.assert_allclose(logits, teachers[0].logits(windows, cache=False), rtol=1e-5, atol=1e-5)
    assert len(list((tmp_path / "speech-embedding").iterdir())) == 1, "epoch 1's audio is not cached"


def test_embedding_teacher_relabels_every_nth_epoch(monkeypatch):
    """embedding_relabel_every=2: epochs 0 and 2 draw fresh windows and the teacher labels them;
    epoch 1 trains on epoch 0's windows and logits again, under its own SpecAugment masks."""
    pytest.importorskip("tensorflow")
    from kws.teachers import embedding

    if not embedding.available():
        pytest.skip("pyopen-wakeword (the speech embedding) is not installed")
    import kws.train_loop as train_loop
    import kws.wakeword.train as recipe
    from kws.wakeword.dataset import WindowConfig, epoch_windows

    labelled: list[np.ndarray] = []
    real_logits = embedding.EmbeddingTeacher.logits

    def logits_spy(teacher, audio, **kwargs):
        labelled.append(audio.copy())
        return real_logits(teacher, audio, **kwargs)

    given: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    real_run = train_loop.Loop.run

    def run_spy(loop, epochs, **kwargs):
        def recording(epoch):
            drawn = epochs(epoch)
            given.append(tuple(part.copy() for part in drawn))
            return drawn
        return real_run(loop, recording, **kwargs)

    monkeypatch.setattr(embedding.EmbeddingTeacher, "logits", logits_spy)
    monkeypatch.setattr(train_loop.Loop, "run", run_spy)
    config = recipe.WakewordConfig(wake_word="hey nova", epochs=3, distill="embedding", embedding_teacher_epochs=1,
                                   embedding_relabel_every=2, mine_every=0,
                                   window=WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5))
    material = _material()
    recipe.fit_model(config, material, progress=False, log=print)
    drawn = [epoch_windows(material, config.window, config.room, seed=config.seed, epoch=e) for e in (0, 2)]
    assert len(labelled) == 2, "the teacher labels epochs 0 and 2 only"
    for audio, (windows, _) in zip(labelled, drawn):
        np.testing.assert_array_equal(audio, windows)
    (inputs0, labels0, logits0), (inputs1, labels1, logits1), (_, labels2, _) = given
    np.testing.assert_array_equal(labels1, labels0)
    np.testing.assert_array_equal(logits1, logits0)
    np.testing.assert_array_equal(labels2, drawn[1][1])
    assert inputs1.shape == inputs0.shape and not np.array_equal(inputs1, inputs0), "epoch 1 has fresh masks"


def test_unknown_teacher_is_refused_before_any_work(tmp_path):
    from kws.errors import KwsError
    from kws.wakeword.train import WakewordConfig, train_wakeword

    with pytest.raises(KwsError, match="no teacher 'bert'"):
        train_wakeword(WakewordConfig(wake_word="hey nova", distill="bert"), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


# --- hard-negative mining -------------------------------------------------------------------------


def test_mining_returns_the_windows_that_score_highest_as_audio_cuts():
    """The scorer likes windows near the one at frame 100: that window comes back first, as the
    exact audio under it; each cut's own MFCC is the window that was scored; overlapping cuts
    count once; nothing below min_score or beyond the limit comes back."""
    from dsp import MfccConfig, mfcc_q15
    from kws.wakeword.mining import mine_hard_negatives, stream_features

    config = MfccConfig()
    n_frames = config.n_frames(16000)
    rng = np.random.default_rng(0)
    stream = (rng.standard_normal(16000 * 6) * 3000).astype(np.int16)
    features = stream_features([stream], mfcc=config)
    np.testing.assert_array_equal(features[0], mfcc_q15(stream, config=config))
    reference = features[0][100 : 100 + n_frames].astype(np.float64)
    scored: dict[bytes, float] = {}

    def score(windows: np.ndarray) -> np.ndarray:
        distance = np.abs(windows.astype(np.float64) - reference).mean(axis=(1, 2))
        values = np.exp(-distance / 200.0)
        scored.update((w.tobytes(), float(v)) for w, v in zip(windows, values))
        return values

    cuts = mine_hard_negatives(score, [stream], features, mfcc=config, clip_samples=16000, hop_frames=1,
                               min_score=0.3, limit=3, batch=64)
    assert len(scored) == len(features[0]) - n_frames + 1, "every hop-1 window was scored"
    assert 2 <= len(cuts) <= 3 and all(c.shape == (16000,) and c.dtype == np.int16 for c in cuts)
    np.testing.assert_array_equal(cuts[0], stream[100 * config.hop_length : 100 * config.hop_length + 16000])
    values = []
    for cut in cuts:
        value = scored[mfcc_q15(cut, config=config)[:n_frames].tobytes()]
        assert value >= 0.3
        values.append(value)
    assert values == sorted(values, reverse=True) and values[0] == 1.0
    windows = np.lib.stride_tricks.sliding_window_view(stream, 16000)[:: config.hop_length]
    starts = [int(np.flatnonzero((windows == c).all(axis=1))[0]) for c in cuts]
    assert all(abs(a - b) >= n_frames // 2 for i, a in enumerate(starts) for b in starts[i + 1:]), starts
    assert mine_hard_negatives(score, [stream], features, mfcc=config, clip_samples=16000, hop_frames=1,
                               min_score=1.01, limit=3) == []


def test_epoch_windows_draw_a_share_of_speech_from_hard_negatives():
    from kws.wakeword.dataset import LABEL_UNKNOWN, WindowConfig, epoch_windows
    from kws.wakeword.room import RoomConfig

    material = _material()
    marker = np.full(16000, 12345, dtype=np.int16)
    material.hard_negatives = [marker]
    config = WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5, hard_negative_share=0.5,
                          speech_background_probability=0.0, speed_probability=0.0)
    no_room = RoomConfig(reverb_probability=0.0, noise_probability=0.0, band_limit_probability=0.0,
                         gain_db=(0.0, 0.0))
    windows, labels = epoch_windows(material, config, no_room, seed=0, epoch=0)
    is_marker = (windows == 12345).all(axis=1)
    n_speech = 20 - round(0.35 * 20) - round(0.15 * 20)
    assert int(is_marker.sum()) == round(0.5 * n_speech)
    assert (labels[is_marker] == LABEL_UNKNOWN).all()


def test_default_backbone_is_the_float_twin_of_its_int8_model():
    """--backbone default: kws/models/wakeword_backbone/ is a kws model (the shipped 12-class
    model of 2026-11-24) whose float_weights section names the Keras weights it was converted
    from. Those float weights, run on 30 seeded int8 inputs, give the probabilities LiteRT's
    reference kernels give for the int8 model to a mean of 0.01 (measured 0.003 when it was
    shipped; another run's student of the same recipe differs by 0.059), so wrong weights, a
    wrong input rule or a wrong architecture fail."""
    pytest.importorskip("tensorflow")
    import keras

    from kws.inference import Classifier
    from kws.wakeword.backbone import shipped_backbone
    from kws.wakeword.train import WakewordConfig, _backbone_model

    about, _ = shipped_backbone()
    base, rule = _backbone_model("default", WakewordConfig(wake_word="hey nova"))
    assert rule == about.input_rule
    inputs = np.random.default_rng(0).integers(-60, 60, size=(30, 49, 10)).astype(np.int8)
    logits = base.predict(inputs[..., None].astype(np.float32) * rule.input_scale, verbose=0)
    floats = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    scale, zero = about.output_quantization.scale, about.output_quantization.zero_point
    reference = Classifier(about)  # LiteRT BUILTIN_REF
    int8 = (np.stack([reference.scores_from_int8(x) for x in inputs]).astype(np.float64) - zero) * scale
    assert floats.shape == int8.shape == (30, 12)
    difference = np.abs(floats - int8)
    assert difference.mean() < 0.01, f"mean {difference.mean():.4f}, worst at input {np.unravel_index(difference.argmax(), difference.shape)}"
    assert (floats.argmax(axis=1) == int8.argmax(axis=1)).mean() >= 0.9


def test_frozen_backbone_blocks_do_not_move_in_training():
    """freeze_blocks: the first convolution and the first N DS blocks (weights and batch-norm
    statistics) end training exactly as the backbone had them; the later blocks learn."""
    pytest.importorskip("tensorflow")
    import kws.wakeword.train as recipe
    from kws.wakeword.dataset import WindowConfig

    config = recipe.WakewordConfig(wake_word="hey nova", epochs=2, backbone="default", freeze_blocks=2, mine_every=0,
                                   window=WindowConfig(positive_repeats=2, unknown_ratio=2.0, silence_ratio=0.5))
    base, _ = recipe._backbone_model("default", config)
    student, _, _, _ = recipe.fit_model(config, _material(), progress=False, log=print)
    for name in ("conv_1", "conv_1_bn", "dw_1", "dw_1_bn", "pw_1", "pw_1_bn", "dw_2", "dw_2_bn", "pw_2", "pw_2_bn"):
        for mine, theirs in zip(student.get_layer(name).get_weights(), base.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs, err_msg=f"{name} moved")
    for name in ("pw_3", "pw_4_bn"):
        moved = [not np.array_equal(a, b) for a, b in
                 zip(student.get_layer(name).get_weights(), base.get_layer(name).get_weights())]
        assert any(moved), f"{name} did not learn"
    with pytest.raises(recipe.KwsError, match="backbone"):
        recipe.fit_model(replace(config, backbone=""), _material(), progress=False, log=print)
