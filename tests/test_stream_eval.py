"""kws evaluate-stream: stream building, the offline threshold sweep, the arithmetic, the CLI.

Most tests drive the detector with a stand-in classifier (scores from the features, no model
file, no LiteRT) so that detections are plentiful and the sweep is checked on many of them; the
end-to-end tests use the shipped default model, or where it is missing a tiny untrained int8
model built here (mechanics only).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_one_error_line
from corpus import make_corpus

from dsp import MfccConfig
from kws.audio_files import audio_files, load_negatives
from kws.cli import main
from kws.data.speech_commands import KEYWORDS, LABELS
from kws.detector import Detection, Detector
from kws.detector_config import DetectorConfig
from kws.errors import KwsError
from kws.input_rule import InputRule
from kws.keyword_stream import Clip, PlacedKeyword, build_positive_stream, keyword_sources, load_clips
from kws.model_file import DEFAULT_MODEL, InputSpec, KwsModel, Quantization, load_model, write_model
from kws.stream_eval import (ThresholdResult, ThresholdSweep, evaluate_threshold, fa_per_hour, match,
                             parse_thresholds, pick_target, score_stream)
from kws.trim import trim

RATE = 16000


# ---------------------------------------------------------------------------------------------
# Fixtures: a tiny corpus, noise, a stand-in classifier, a real model file


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "speech_commands", speakers=2, takes=1)


@pytest.fixture(scope="module")
def noise(tmp_path_factory) -> Path:
    """Two files of generated noise (20 s in all) as the negatives."""
    folder = tmp_path_factory.mktemp("negatives")
    rng = np.random.default_rng(7)
    for i, seconds in enumerate((12, 8)):
        samples = rng.normal(0, 800 * (i + 1), seconds * RATE)
        sf.write(folder / f"noise_{i}.wav", np.clip(samples, -32768, 32767).astype(np.int16), RATE)
    return folder


class OnsetClassifier:
    """Stands in for the int8 model: sure of a keyword when the stretch 0.5 to 0.2 s before the
    window's end is louder than the window's oldest 0.3 s, i.e. just after a loud word ends.
    Which keyword: ``word`` if given, else one picked from the spectrum."""

    def __init__(self, model: KwsModel, word: str | None = None) -> None:
        self.model = model
        self.word = word

    def scores(self, q8_7: np.ndarray) -> np.ndarray:
        c0 = q8_7[:, 0].astype(np.float64) / 128
        rise = c0[-25:-10].mean() - c0[:15].mean()
        p = 1.0 / (1.0 + math.exp(-(rise - 2.0)))
        if self.word is not None:
            keyword = self.model.labels.index(self.word)
        else:
            keyword = 2 + int(abs(int(q8_7[-15:, 1:4].astype(np.int64).sum())) // 97) % 10
        out = np.full(len(self.model.labels), -128, dtype=np.int64)
        out[keyword] = -128 + round(p * 255)
        out[0] = -128 + (255 - round(p * 255))
        return out.astype(np.int8)

    def scores_batch(self, windows: np.ndarray) -> np.ndarray:
        return np.array([self.scores(w) for w in windows], dtype=np.int8).reshape(len(windows), -1)


def fake_model(tmp_path: Path | None = None) -> KwsModel:
    """A model description with the real labels, frontend and output quantisation, no weights."""
    here = Path(tmp_path or ".") / "fake.json"
    return KwsModel(json_path=here, tflite_path=here.with_suffix(".tflite"), tflite=b"", name="fake", labels=LABELS,
                    input=InputSpec(MfccConfig(), RATE), input_rule=InputRule((0,) * 10, (0,) * 10),
                    input_quantization=Quantization(1 / 16, 0), output_quantization=Quantization(1 / 256, -128),
                    detector=None, credits="")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    """The shipped default model; where it is missing, a tiny untrained int8 model (mechanics only)."""
    if DEFAULT_MODEL.exists():
        return DEFAULT_MODEL
    pytest.importorskip("tensorflow")
    from kws.extras import import_tensorflow

    import_tensorflow(what="this test")
    from kws.model.dscnn import DsCnnConfig, build_dscnn
    from kws.model.export import convert_int8, export_model
    from kws.model_file import InputSpec, new_model

    architecture = DsCnnConfig(channels=8, blocks=1, dropout=0.0)
    rule = InputRule((0,) * 10, (4,) * 10)
    keras_model = build_dscnn((49, 10), len(LABELS), architecture)
    logits = keras_model.get_layer("logits")  # a zero bias would be dropped by the converter
    logits.bias.assign(np.random.default_rng(1).normal(0, 0.1, len(LABELS)).astype(np.float32))
    exported = export_model(keras_model, architecture, (49, 10), len(LABELS))
    calibration = np.random.default_rng(0).normal(0, 2, (8, 49, 10)).astype(np.float32)
    tflite = convert_int8(exported, calibration, rule)
    return write_model(new_model(tmp_path_factory.mktemp("model") / "model.json", tflite, name="tiny", labels=LABELS,
                                 input=InputSpec(MfccConfig(), RATE), input_rule=rule, credits="none: untrained",
                                 architecture={}, training={}))


def corpus_stream(corpus: Path, noise: Path, *, seed: int = 0, snrs=(20.0, 10.0, 5.0), word: str | None = None):
    sources = keyword_sources(corpus, KEYWORDS)
    if word is not None:
        sources = [s for s in sources if s.word == word]
    clips, _ = load_clips(sources)
    negatives = load_negatives(audio_files([noise]), seconds=20, seed=seed)
    return build_positive_stream(clips, negatives.samples, snrs_db=snrs, gap_seconds=(1.5, 3.0), seed=seed), negatives


def live_detections(detector: Detector, samples: np.ndarray, chunk: int = 1600) -> list[Detection]:
    detector.reset()
    events = []
    for start in range(0, len(samples), chunk):
        events.extend(e for e in detector.process(samples[start : start + chunk]) if isinstance(e, Detection))
    return events


# ---------------------------------------------------------------------------------------------
# Sources and the stream


def test_sources_are_the_keyword_clips_or_one_words_folder(corpus, tmp_path):
    sources = keyword_sources(corpus, ("yes", "no"))
    assert {s.word for s in sources} == {"yes", "no"} and len(sources) == 4  # 2 speakers x 1 take
    assert all(s.path.parent.name == s.word for s in sources)
    everything = keyword_sources(corpus, KEYWORDS)
    assert {s.word for s in everything} == set(KEYWORDS)  # not bed/cat, not _background_noise_
    folder = tmp_path / "wake"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "sub/b.wav"):
        sf.write(folder / name, np.zeros(800, dtype=np.int16), RATE)
    (folder / "notes.txt").write_text("not audio")
    assert [s.path.name for s in keyword_sources(folder, KEYWORDS, word="go")] == ["a.wav", "b.wav"]
    with pytest.raises(KwsError, match="not a keyword"):
        keyword_sources(folder, KEYWORDS, word="banana")
    with pytest.raises(KwsError, match="no clips of the keywords"):
        keyword_sources(folder, KEYWORDS)


def test_trim_finds_the_word():
    clip = np.random.default_rng(0).normal(0, 20, RATE)
    t = np.arange(8000) / RATE
    clip[4000:12000] += 8000 * np.sin(2 * np.pi * 440 * t)
    start, end = trim(clip.astype(np.int16), RATE)
    assert abs(start - (4000 - 320)) <= 160 and abs(end - (12000 + 320)) <= 160
    assert trim(clip.astype(np.int16), RATE, below_peak_db=0) == (0, RATE)


def _ramp_background() -> np.ndarray:
    # Every value unique: the stream's first sample says where the background starts.
    return np.arange(-15000, 15000, dtype=np.int16)


def _tone_clips() -> list[Clip]:
    clips = []
    for i, (word, seconds) in enumerate((("yes", 0.5), ("no", 0.7), ("up", 0.4), ("go", 0.6))):
        t = np.arange(int(seconds * RATE)) / RATE
        samples = np.rint(3000 * np.sin(2 * np.pi * (300 + 100 * i) * t) * np.hanning(len(t))).astype(np.int16)
        clips.append(Clip(samples, word, f"{word}.wav"))
    return clips


def test_clips_are_placed_exactly_at_their_snr():
    clips, background = _tone_clips(), _ramp_background()
    snrs = (-6.0, -10.0)
    stream = build_positive_stream(clips, background, snrs_db=snrs, gap_seconds=(0.5, 1.5), seed=3)
    offset = int(np.flatnonzero(background == stream.samples[0])[0])
    under = np.take(background, np.arange(offset, offset + len(stream.samples)) % len(background))
    difference = stream.samples.astype(np.int64) - under
    previous_end = 0
    for i, (clip, placed) in enumerate(zip(clips, stream.keywords)):
        assert (placed.word, placed.source, placed.snr_db) == (clip.word, clip.source, snrs[i % 2])
        assert placed.end - placed.start == len(clip.samples)
        assert 0.5 * RATE <= placed.start - previous_end <= 1.5 * RATE
        assert placed.attenuation_db == 0.0
        # Inside: exactly the clip at the gain its SNR asks for; outside: the background untouched.
        local = np.sqrt(np.mean(under[placed.start : placed.end].astype(np.float64) ** 2))
        gain = local * 10 ** (placed.snr_db / 20) / np.sqrt(np.mean(clip.samples.astype(np.float64) ** 2))
        np.testing.assert_array_equal(difference[placed.start : placed.end], np.rint(clip.samples * gain))
        assert not difference[previous_end : placed.start].any()
        previous_end = placed.end
    assert 0.5 * RATE <= len(stream.samples) - previous_end <= 1.5 * RATE
    assert not difference[previous_end:].any()

    again = build_positive_stream(clips, background, snrs_db=snrs, gap_seconds=(0.5, 1.5), seed=3)
    np.testing.assert_array_equal(again.samples, stream.samples)
    assert again.keywords == stream.keywords
    other = build_positive_stream(clips, background, snrs_db=snrs, gap_seconds=(0.5, 1.5), seed=4)
    assert [k.start for k in other.keywords] != [k.start for k in stream.keywords]


def test_a_loud_keyword_turns_the_mix_down_instead_of_clipping():
    loud = np.random.default_rng(1).normal(0, 6000, 5 * RATE).astype(np.int16)
    stream = build_positive_stream(_tone_clips(), loud, snrs_db=(20.0,), gap_seconds=(1.0, 1.0), seed=0)
    assert all(k.attenuation_db > 0 for k in stream.keywords)
    assert np.abs(stream.samples.astype(np.int64)).max() <= 0.9 * 32768 + 1


def test_negatives_are_seeded_and_cut_to_length(noise):
    files = audio_files([noise])
    first = load_negatives(files, seconds=15, seed=0)
    assert len(first.samples) == 15 * RATE
    np.testing.assert_array_equal(first.samples, load_negatives(files, seconds=15, seed=0).samples)
    orders = {tuple(load_negatives(files, seconds=15, seed=s).files) for s in range(6)}
    assert len(orders) == 2  # both file orders occur
    assert len(load_negatives(files, seconds=60, seed=0).samples) == 20 * RATE  # all there is


# ---------------------------------------------------------------------------------------------
# The offline sweep equals the detector


@pytest.mark.parametrize("config", [DetectorConfig(), DetectorConfig(inference_every=5, smoothing=2, refractory_ms=500),
                                    DetectorConfig(smoothing=1, refractory_ms=0)])
def test_sweep_gives_exactly_the_detectors_detections(corpus, noise, config):
    model = fake_model()
    stream, _ = corpus_stream(corpus, noise)
    detector = Detector(model, config, classifier=OnsetClassifier(model))
    scores = score_stream(detector, stream.samples)
    sweep = ThresholdSweep(detector, scores)
    assert sweep.detections(config.threshold) == scores.detections
    counts = []
    for threshold in (0.3, 0.45, 0.55, 0.7, 0.85, 0.97):
        live = live_detections(Detector(model, replace(config, threshold=threshold),
                                        classifier=OnsetClassifier(model)), stream.samples)
        assert sweep.detections(threshold) == live, threshold
        counts.append(len(live))
    assert counts[0] > counts[-1] and counts[0] > 5  # a sweep over something


def test_sweep_equals_the_real_models_detector(corpus, noise, model_path):
    model = load_model(model_path)
    stream, _ = corpus_stream(corpus, noise)
    detector = Detector(model, DetectorConfig())
    sweep = ThresholdSweep(detector, score_stream(detector, stream.samples))
    for threshold in (0.3, 0.6, 0.9):
        live = live_detections(Detector(model, DetectorConfig(threshold=threshold)), stream.samples, chunk=4000)
        assert sweep.detections(threshold) == live


# ---------------------------------------------------------------------------------------------
# Matching and the arithmetic, by hand


def _placed(word: str, end_s: float, snr: float = 10.0, seconds: float = 0.5) -> PlacedKeyword:
    return PlacedKeyword(int((end_s - seconds) * RATE), int(end_s * RATE), word, snr, f"{word}.wav")


def _detection(time: float, keyword: str) -> Detection:
    return Detection(time, keyword, 0.9, 0)


class FixedSweep:
    def __init__(self, detections):
        self.list = detections

    def detections(self, threshold):
        return [d for d in self.list if d.score >= threshold]


def test_hits_false_accepts_and_fa_per_hour_by_hand():
    keywords = (_placed("yes", 2.0, 20.0), _placed("no", 6.0, 5.0, seconds=0.1), _placed("go", 10.0, 20.0),
                _placed("on", 14.0, 5.0), _placed("up", 26.0, 20.0, seconds=2.5))
    positive = [
        _detection(1.9, "yes"),    # hit: exactly 0.1 s early is inside the window
        _detection(3.0, "yes"),    # refired on the same clip: false accept
        _detection(5.85, "no"),    # 0.15 s early and before its 0.1 s clip starts: false accept, "no" missed
        _detection(10.5, "yes"),   # wrong word: false accept, "go" missed
        _detection(15.0, "on"),    # hit: exactly 1.0 s late is inside
        _detection(24.0, "up"),    # hit: 2 s before the end of a 2.5 s clip, while it plays
        _detection(40.0, "stop"),  # nothing placed there: false accept
    ]
    hits, false = match(positive, keywords, sample_rate=RATE, before=0.1)  # a 0.1 s early allowance
    assert [h.time if h else None for h in hits] == [1.9, None, None, 15.0, 24.0]
    assert [d.time for d in false] == [3.0, 5.85, 10.5, 40.0]
    early, _ = match([_detection(23.4, "up")], keywords, sample_rate=RATE, before=0.1)
    assert early[4] is None, "before the clip starts (and more than 0.1 s before its end) is no hit"

    stream = SimpleNamespace(keywords=keywords, sample_rate=RATE, duration=1800.0)  # half an hour
    negative = FixedSweep([_detection(t, "go") for t in (100.0, 700.0)])
    result = evaluate_threshold(0.5, FixedSweep(positive), negative, stream, seconds_negative=1800.0, before=0.1)
    assert (result.false_rejects, result.keywords, result.false_reject_rate) == (2, 5, 0.4)
    assert result.false_rejects_by_snr == {20.0: (1, 3), 5.0: (1, 2)}
    assert (result.false_accepts_positive, result.false_accepts_negative, result.false_accepts) == (4, 2, 6)
    assert result.fa_per_hour == pytest.approx(6.0)  # 6 false accepts in 1 h of both streams
    assert result.fa_per_hour_negative == pytest.approx(4.0)  # 2 in the negative half hour
    assert result.latencies == pytest.approx((-0.1, 1.0, -2.0))
    assert result.latency_ms()["median"] == pytest.approx(-100.0)
    record = result.to_dict()
    assert record["fa_per_hour"] == 6.0 and record["false_reject_rate_by_snr"] == {"20": round(1 / 3, 6), "5": 0.5}
    assert fa_per_hour(1, 7200.0) == 0.5


def test_target_is_the_fewest_false_rejects_within_the_rate():
    def result(threshold, false_rejects, false_accepts):
        return ThresholdResult(threshold, 10, false_rejects, {}, false_accepts, 0, 3600.0, 3600.0, ())

    results = [result(0.3, 0, 9), result(0.5, 2, 1), result(0.6, 2, 1), result(0.7, 3, 0), result(0.9, 6, 0)]
    assert pick_target(results, 0.5).threshold == 0.6  # 1 FA in 2 h = 0.5/h; ties: the higher threshold
    assert pick_target(results, 0.0).threshold == 0.7
    assert pick_target(results[:1], 1.0) is None


def test_thresholds_parse():
    values = parse_thresholds("0.3:0.95:0.05")
    assert len(values) == 14 and values[0] == 0.3 and values[-1] == 0.95
    assert parse_thresholds("0.7, 0.5,0.7") == [0.5, 0.7]
    for bad in ("0:1:0.5", "0.5:0.9:0", "a,b", "1.5", ""):
        with pytest.raises(KwsError):
            parse_thresholds(bad)


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_json_png_and_saved_stream(corpus, noise, model_path, tmp_path, capsys):
    png, wav = tmp_path / "det.png", tmp_path / "stream.wav"
    argv = ["evaluate-stream", "--model", str(model_path), "--keywords-from", str(corpus), "--negatives", str(noise),
            "--minutes", "0.25", "--clips", "12", "--gap", "1", "2", "--thresholds", "0.4:0.9:0.25", "--json"]
    assert main(argv + ["--png", str(png), "--save-stream", str(wav)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [row["threshold"] for row in report["thresholds"]] == [0.4, 0.6, 0.65, 0.9]  # + the default 0.6
    assert report["default"]["threshold"] == 0.6 and report["target"]["fa_per_hour"] == 0.5
    met = [row for row in report["thresholds"] if row["fa_per_hour"] <= 0.5]
    if met:
        assert report["target"]["result"] in met
        assert report["target"]["result"]["false_rejects"] == min(row["false_rejects"] for row in met)
    else:
        assert report["target"] == {"fa_per_hour": 0.5, "threshold": None, "result": None}
    assert report["positive_stream"]["keywords"] == 12 and report["negative_stream"]["seconds"] == 15.0
    labels = json.loads(wav.with_suffix(".json").read_text())
    samples, rate = sf.read(wav, dtype="int16")
    assert rate == RATE and len(samples) == labels["samples"]
    assert report["hours"] == pytest.approx((len(samples) / RATE + 15.0) / 3600, abs=1e-6)
    assert len(labels["keywords"]) == 12 and all(k["end"] > k["start"] for k in labels["keywords"])
    for row in report["thresholds"]:
        assert row["fa_per_hour"] == pytest.approx(row["false_accepts"] / report["hours"], rel=1e-4)

    assert main(argv) == 0  # same seed, same report
    assert json.loads(capsys.readouterr().out) == report


def test_cli_counts_hits_of_a_wake_word(corpus, noise, tmp_path, capsys, monkeypatch):
    """--word with a plain folder, a detector that fires on loud onsets: hits, latencies, a table."""
    # A real flatbuffer with the real labels (the scores come from the onset classifier below).
    model = replace(load_model(), json_path=tmp_path / "fake.json", tflite_path=tmp_path / "fake.tflite")
    write_model(model)
    monkeypatch.setattr("kws.inference.Classifier", lambda m, **_: OnsetClassifier(m, word="go"))
    argv = ["evaluate-stream", "--model", str(model.json_path), "--keywords-from", str(corpus / "go"),
            "--word", "go", "--negatives", str(noise), "--minutes", "0.2", "--snr", "10", "--gap", "1.5", "3"]
    assert main(argv + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    low = report["thresholds"][0]
    assert report["positive_stream"]["words"] == {"go": 2}
    assert low["false_rejects"] < 2 and low["latency_ms"] is not None
    assert -100 <= low["latency_ms"]["min"] <= low["latency_ms"]["max"] <= 1000
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "threshold" in table and "* default threshold 0.6" in table and "> target 0.5 FA/h" in table


@pytest.mark.parametrize("extra, message", [
    (["--keywords-from", "{tmp}/absent"], "no such folder"),
    (["--keywords-from", "{tmp}/empty"], "no clips of the keywords"),
    (["--keywords-from", "{tmp}/empty", "--word", "yes"], "no wav, flac or ogg clips"),
    (["--word", "banana"], "not a keyword"),
    (["--negatives", "{tmp}/absent.wav"], "no such file or folder"),
    (["--negatives", "{tmp}/empty"], "holds no wav, flac or ogg files"),
    (["--negatives", "{corpus}"], "includes 20 of the keyword clips"),
    (["--thresholds", "0.5:2:0.5"], "(0, 1]"),
    (["--snr", "nan"], "--snr"),
    (["--snr", "10", "inf"], "argument --snr: must be -100 to 100, not inf"),
    (["--snr", "1e308"], "argument --snr: must be -100 to 100, not 1e308"),
    (["--clips", "0"], "--clips"),
    (["--clips", "-3"], "argument --clips: must be at least 1, not -3"),
    (["--minutes", "nan"], "argument --minutes: must be positive, not nan"),
    (["--minutes", "inf"], "argument --minutes: must be positive, not inf"),
    (["--minutes", "-1"], "argument --minutes: must be positive, not -1"),
    (["--gap", "nan", "2"], "argument --gap: must be 0 to 600, not nan"),
    (["--gap", "1", "-2"], "argument --gap: must be 0 to 600, not -2"),
    (["--gap", "1", "1e9"], "argument --gap: must be 0 to 600, not 1e9"),
    (["--gap", "3", "2"], "need MIN <= MAX"),
    (["--target-fa-per-hour", "nan"], "argument --target-fa-per-hour: must be 0 or more, not nan"),
    (["--target-fa-per-hour", "-1"], "argument --target-fa-per-hour: must be 0 or more, not -1"),
    (["--hit-window", "0.5", "inf"], "argument --hit-window: must be 0 or more, not inf"),
    (["--seed", "-1"], "argument --seed: must be 0 or more, not -1"),
    (["--trim-db", "nan"], "argument --trim-db: must be 0 or more, not nan"),
    (["--save-stream", "{tmp}/stream.mp3"], ".wav"),
    (["--png", "{tmp}/absent/det.png"], "absent does not exist (create it first)"),
    (["--negatives", "{tmp}/empty", "--save-stream", "{tmp}/empty/s.wav"], "lies inside --negatives"),
    (["--keywords-from", "{corpus}", "--png", "{corpus}/det.png"], "lies inside --keywords-from"),
    (["--png", "{tmp}/s.json", "--save-stream", "{tmp}/s.wav"], "name the same place"),
])
def test_bad_input_is_one_error_line(corpus, noise, model_path, tmp_path, capsys, extra, message):
    (tmp_path / "empty").mkdir()
    defaults = {"--keywords-from": str(corpus), "--negatives": str(noise)}
    extra = [part.replace("{tmp}", str(tmp_path)).replace("{corpus}", str(corpus)) for part in extra]
    argv = ["evaluate-stream", "--model", str(model_path)]
    for option, value in defaults.items():
        if option not in extra:
            argv += [option, value]
    assert main(argv + extra + ["--minutes", "0.1"]) == 2
    line = assert_one_error_line(2, capsys.readouterr().err)
    assert message in line
    assert not list(tmp_path.glob("**/*.png")) and not list(tmp_path.glob("**/*.mp3"))


def test_undecodable_files_in_the_folders_are_skipped_with_a_note(corpus, noise, model_path, tmp_path, capsys):
    """An undecodable file found in --keywords-from or --negatives is one note; named, one error line."""
    from test_audio import corrupt_flac

    clips, negatives = tmp_path / "go", tmp_path / "negatives"
    for source, copy in ((corpus / "go", clips), (noise, negatives)):
        copy.mkdir()
        for path in source.iterdir():
            (copy / path.name).write_bytes(path.read_bytes())
    bad_clip, bad_negative = corrupt_flac(clips / "bad.flac"), corrupt_flac(negatives / "bad.flac")
    argv = ["evaluate-stream", "--model", str(model_path), "--keywords-from", str(clips), "--word", "go",
            "--minutes", "1", "--json", "--negatives"]
    assert main(argv + [str(negatives)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["positive_stream"]["keywords"] == 2 and report["negative_stream"]["files"] == 2
    notes = sorted(line for line in captured.err.splitlines() if "skipped" in line)
    assert len(notes) == 2
    for note, bad in zip(notes, (bad_clip, bad_negative)):
        assert note.startswith(f"kws: note: skipped {bad}: not a readable wav/flac/ogg file (")
    assert main(argv + [str(noise), str(bad_negative)]) == 2
    assert "bad.flac is not a readable" in assert_one_error_line(2, capsys.readouterr().err)


def test_missing_required_options_are_one_error_line(capsys):
    assert main(["evaluate-stream", "--negatives", "x"]) == 2
    assert "--keywords-from" in assert_one_error_line(2, capsys.readouterr().err)


@pytest.mark.parametrize("one, target", [(11.4, 0.5), (0.77, 0.5), (0.2, 0.5), (3.0, 0.0)])
def test_no_false_accept_is_drawn_left_of_the_target_and_of_one_false_accept(one, target):
    """The DET plot's "0 FA" position: below the rate of one false accept, and below the target
    line whenever there is one (a 0 FA calibration once showed right of 0.5/h)."""
    from kws.plots import zero_fa_position

    x = zero_fa_position(one, target)
    assert 0 < x < one and (target == 0 or x < target)
