"""The model file: one typed contract, old files still load, lying files are refused.

Every case edits a copy of the shipped model's description (today's format) in one place and
expects the one-line error that names what is wrong, from the reader itself and through the
commands that take ``--model``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line

from kws.cli import main
from kws.detector_config import DetectorConfig, resolve_detector
from kws.errors import KwsError
from kws.model_file import DEFAULT_MODEL, load_model, write_model

#: model.json as kws wakeword train wrote it before the typed contract (kws-model/1): the
#: detector section mixes settings with how they were calibrated, credits under training.data.
WAKEWORD_DETECTOR_SECTION = {"inference_every": 10, "smoothing": 3, "threshold": 0.47, "refractory_ms": 1500.0,
                             "keywords": [], "calibrated_for_fa_per_hour": 0.5, "target_met_on_calibration": True}


#: A change that deletes the key.
DELETE = object()


def copy_model(folder: Path, **changes) -> Path:
    """The shipped model copied into ``folder``, its JSON with ``changes`` (DELETE deletes a key)."""
    shutil.copy(DEFAULT_MODEL.with_suffix(".tflite"), folder / "model.tflite")
    document = json.loads(DEFAULT_MODEL.read_text())
    for key, value in changes.items():
        if value is DELETE:
            document.pop(key, None)
        else:
            document[key] = value
    path = folder / "model.json"
    path.write_text(json.dumps(document))
    return path


def test_the_shipped_model_reads_into_typed_sections():
    model = load_model()
    assert model.input.window_shape == (49, 10) == model.mfcc.window_shape(model.clip_samples)
    assert model.input.frame_end_seconds(48) == pytest.approx(0.99)  # 48 hops of 20 ms, then a 30 ms frame
    assert model.detector is None and set(model.accuracy) >= {"validation_clips", "tflite_int8_reference_kernels"}
    assert model.output_quantization.scale == pytest.approx(1 / 256)


def test_writing_a_loaded_model_gives_back_the_same_description(tmp_path):
    model = load_model()
    copy = replace(model, json_path=tmp_path / "model.json", tflite_path=tmp_path / "model.tflite")
    write_model(copy)
    original = json.loads(DEFAULT_MODEL.read_text())
    written = json.loads((tmp_path / "model.json").read_text())
    # The credits move out of training.data into their own section; nothing else changes.
    assert written.pop("credits") == original["training"]["data"]
    assert written == original
    assert load_model(tmp_path) == replace(copy, json_path=tmp_path / "model.json")


def test_a_wake_word_description_of_todays_format_still_loads(tmp_path):
    path = copy_model(tmp_path, detector=WAKEWORD_DETECTOR_SECTION)
    model = load_model(path)
    assert model.detector == DetectorConfig(threshold=0.47, refractory_ms=1500.0)
    assert model.calibration == {"calibrated_for_fa_per_hour": 0.5, "target_met_on_calibration": True}
    assert model.to_document()["detector"] == WAKEWORD_DETECTOR_SECTION
    # Resolved in one place: the command line over the model over the defaults.
    assert resolve_detector(model.detector) == model.detector
    assert resolve_detector(model.detector, threshold=0.7).threshold == 0.7
    assert resolve_detector(None) == DetectorConfig()


LIES = {
    "tflite is null": ({"tflite": None}, "'tflite' must be a string"),
    "tflite leaves the folder": ({"tflite": "../model.tflite"}, "a file name beside it"),
    "output scale 0": ({"quantization": {"input": {"scale": 0.0625, "zero_point": 0},
                                         "output": {"scale": 0, "zero_point": -128}}}, "scale must be a positive"),
    "quantization that is not the flatbuffer's": (
        {"quantization": {"input": {"scale": 0.5, "zero_point": 0}, "output": {"scale": 1 / 256, "zero_point": -128}}},
        "disagrees with the flatbuffer"),
    "detector is a string": ({"detector": "bogus"}, "detector section must be an object"),
    "detector with an unknown key": ({"detector": {"threshhold": 0.5}}, "unknown detector settings: threshhold"),
    "detector threshold 3": ({"detector": {"threshold": 3}}, "threshold must be in"),
    "detector refractory nan": ({"detector": {"refractory_ms": float("nan")}}, "refractory time"),
    "detector refractory a word": ({"detector": {"refractory_ms": "soon"}}, "detector.refractory_ms must be a number"),
    "labels a string": ({"labels": "yes"}, "'labels' must be a list"),
    "labels too few for the network": ({"labels": ["_silence_", "yes"]}, "12 scores for 2 labels"),
    "repeated labels": ({"labels": ["yes"] * 12}, "distinct"),
    "clip_samples that is not the network's": ({"clip_samples": 24000}, "the network takes"),
    "clip_samples a string": ({"clip_samples": "16000"}, "'clip_samples' must be a whole number"),
    "no mfcc": ({"mfcc": DELETE}, "no 'mfcc' field"),
}


@pytest.mark.parametrize("changes, fragment", LIES.values(), ids=LIES.keys())
def test_a_lying_description_is_refused_naming_the_lie(tmp_path, changes, fragment):
    path = copy_model(tmp_path, **changes)
    with pytest.raises(KwsError, match=None) as raised:
        load_model(path)
    assert fragment in str(raised.value), str(raised.value)


@pytest.mark.parametrize("command", [["classify", "WAV"], ["detect", "WAV"],
                                     ["evaluate-stream", "--keywords-from", "DIR", "--negatives", "WAV"],
                                     ["firmware", "build", "--out", "DIR/fw"]], ids=lambda c: c[0])
def test_commands_refuse_a_lying_model_in_one_line(tmp_path, capsys, command):
    path = copy_model(tmp_path, quantization={"input": {"scale": 0.0625, "zero_point": 0},
                                              "output": {"scale": 0, "zero_point": -128}})
    wav = tmp_path / "quiet.wav"
    import soundfile as sf

    sf.write(wav, np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    argv = [str(wav) if a == "WAV" else a.replace("DIR", str(tmp_path)) for a in command]
    code = main([*argv, "--model", str(path)])
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert "scale must be a positive" in line
    assert not (tmp_path / "fw").exists()


def test_a_truncated_flatbuffer_with_a_matching_checksum_is_refused(tmp_path):
    import hashlib

    truncated = DEFAULT_MODEL.with_suffix(".tflite").read_bytes()[:4000]
    (tmp_path / "model.tflite").write_bytes(truncated)
    document = json.loads(DEFAULT_MODEL.read_text())
    document["tflite_sha256"] = hashlib.sha256(truncated).hexdigest()
    (tmp_path / "model.json").write_text(json.dumps(document))
    with pytest.raises(KwsError, match="not a valid TFLite model"):
        load_model(tmp_path)


@pytest.mark.parametrize("flag, value, fragment", [
    ("--refractory", "nan", "--refractory: the refractory time"),
    ("--refractory", "inf", "--refractory: the refractory time"),
    ("--refractory", "-1", "--refractory: the refractory time"),
    ("--refractory", "1e12", "--refractory: the refractory time"),
    ("--threshold", "nan", "--threshold: the threshold"),
    ("--every", "0", "--every: inference_every"),
    ("--smoothing", "-2", "--smoothing: smoothing"),
])
def test_detector_options_out_of_range_are_one_line(tmp_path, capsys, flag, value, fragment):
    wav = tmp_path / "quiet.wav"
    import soundfile as sf

    sf.write(wav, np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    line = assert_one_error_line(main(["detect", str(wav), flag, value]), capsys.readouterr().err)
    assert fragment in line
