"""The streaming detector: chunk-size invariance, equality with the offline computation
(reference kernels throughout), non-keywords never firing, refractory time, kws detect."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_one_error_line
from signals import named_signals

from dsp import mfcc_q15
from kws.cli import main
from kws.detector import Detection, Detector, Inference
from kws.detector_config import DetectorConfig
from kws.inference import Classifier
from kws.model_file import load_model


@pytest.fixture(scope="module")
def model():
    return load_model()


def _speechlike_stream(seconds: float = 6.0) -> np.ndarray:
    """Synthetic but varied audio: the named signals, end to end, then noise."""
    audio = np.concatenate(list(named_signals(n_samples=6000).values()))
    total = int(seconds * 16000)
    rng = np.random.default_rng(5)
    tail = rng.normal(0, 800, max(0, total - len(audio))).round().astype(np.int16)
    return np.concatenate([audio, tail])[:total]


def _events(detector: Detector, samples: np.ndarray, sizes) -> list:
    events, start = [], 0
    for size in sizes:
        events += detector.process(samples[start : start + size])
        start += size
    return events


def _offline(model, samples: np.ndarray, config: DetectorConfig) -> tuple[list[Inference], list[Detection]]:
    """The detector's definition, written out directly on the batch MFCC with reference kernels."""
    classifier = Classifier(model)  # BUILTIN_REF
    features = mfcc_q15(samples, config=model.mfcc)
    n = model.n_frames
    quant = model.output_quantization
    keywords = [i for i, label in enumerate(model.labels) if label not in ("_silence_", "_unknown_")]
    hop_ms = 1000 * model.mfcc.hop_length / model.mfcc.sample_rate
    refractory = math.ceil(config.refractory_ms / (config.inference_every * hop_ms))
    inferences, detections, history, quiet_until = [], [], [], 0
    for k, frame in enumerate(range(n - 1, len(features), config.inference_every)):
        scores = classifier.scores(features[frame - n + 1 : frame + 1])
        inferences.append(Inference(frame, tuple(int(s) for s in scores)))
        history.append(scores.astype(int) - quant.zero_point)
        recent = history[-config.smoothing :]
        sums = np.sum(recent, axis=0)
        if k < quiet_until:
            continue
        best = max(keywords, key=lambda i: (sums[i], -i))
        if sums[best] >= math.ceil(config.threshold / quant.scale * len(recent) - 1e-9):
            time = (frame * model.mfcc.hop_length + model.mfcc.frame_length) / model.mfcc.sample_rate
            detections.append(Detection(time, model.labels[best], sums[best] * quant.scale / len(recent), frame))
            quiet_until = k + 1 + refractory
    return inferences, detections


def _split(events):
    return [e for e in events if isinstance(e, Inference)], [e for e in events if isinstance(e, Detection)]


@pytest.mark.parametrize("threshold", [0.6, 0.2])
def test_equals_the_offline_computation(model, threshold):
    samples = _speechlike_stream()
    config = DetectorConfig(threshold=threshold)
    inferences, detections = _split(Detector(model, config).process(samples))
    expected_inferences, expected_detections = _offline(model, samples, config)
    assert inferences == expected_inferences
    assert [(d.frame, d.keyword) for d in detections] == [(d.frame, d.keyword) for d in expected_detections]
    for got, want in zip(detections, expected_detections):
        assert got.time == pytest.approx(want.time) and got.score == pytest.approx(want.score)


def test_chunk_size_invariance(model):
    samples = _speechlike_stream(4.0)
    config = DetectorConfig(threshold=0.2, inference_every=3)
    reference = Detector(model, config).process(samples)
    assert any(isinstance(e, Inference) for e in reference)
    rng = np.random.default_rng(2)
    for high in (2, 160, 1000, 7000):
        sizes = []
        while sum(sizes) < len(samples):
            sizes.append(int(rng.integers(1, high)))
        assert _events(Detector(model, config), samples, sizes) == reference, f"chunks < {high}"


def test_first_inference_and_period(model):
    detector = Detector(model, DetectorConfig(inference_every=10))
    inferences, _ = _split(detector.process(np.zeros(16000 * 2, dtype=np.int16)))
    assert [i.frame for i in inferences] == list(range(48, 99, 10))  # 49 frames = 1 s, then every 200 ms


def test_silence_and_unknown_never_fire(model):
    """Even with a threshold every class passes, only keywords are reported."""
    samples = _speechlike_stream()
    _, detections = _split(Detector(model, DetectorConfig(threshold=0.001, refractory_ms=0)).process(samples))
    assert detections
    assert not {d.keyword for d in detections} & {"_silence_", "_unknown_"}


def test_refractory_time(model):
    samples = _speechlike_stream()
    config = DetectorConfig(threshold=0.001, refractory_ms=1000, inference_every=10)
    _, detections = _split(Detector(model, config).process(samples))
    gaps = np.diff([d.frame for d in detections])
    assert len(gaps) and gaps.min() >= 60  # 1 s = 5 inferences of 10 frames, so >= 6 inferences apart


def test_keyword_subset_and_bad_keyword(model):
    from kws.errors import KwsError

    samples = _speechlike_stream()
    _, detections = _split(Detector(model, DetectorConfig(threshold=0.001, keywords=("yes",))).process(samples))
    assert {d.keyword for d in detections} <= {"yes"}
    with pytest.raises(KwsError, match="not keywords"):
        Detector(model, DetectorConfig(keywords=("_silence_",)))


def test_detect_command_prints_detections_and_scores(tmp_path, capsys, model):
    path = tmp_path / "stream.wav"
    samples = _speechlike_stream()
    sf.write(path, samples, 16000, subtype="PCM_16")
    assert main(["detect", "--json", "--scores", "--threshold", "0.2", str(path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    inferences, detections = _offline(model, samples, DetectorConfig(threshold=0.2))
    assert [line for line in lines if "frame" in line] == [i.to_dict() for i in inferences]
    assert [line for line in lines if "keyword" in line] == [d.to_dict() for d in detections]


def test_detect_bad_input(tmp_path, capsys):
    assert_one_error_line(main(["detect", str(tmp_path / "missing.wav")]), capsys.readouterr().err)
    path = tmp_path / "ok.wav"
    sf.write(path, np.zeros(16000, np.int16), 16000)
    assert_one_error_line(main(["detect", "--threshold", "2", str(path)]), capsys.readouterr().err)
    assert_one_error_line(main(["detect", "--keywords", "banana", str(path)]), capsys.readouterr().err)
    assert_one_error_line(main(["detect", "--model", str(tmp_path / "nope.json"), str(path)]), capsys.readouterr().err)
