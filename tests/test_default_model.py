"""The shipped default model: present, verified, self-consistent, and used without --model."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from signals import named_signals

from dsp import MfccConfig
from kws.cli import main
from kws.data.speech_commands import LABELS
from kws.model_file import DEFAULT_MODEL, load_model, sha256_hex


def test_default_model_loads_and_verifies():
    model = load_model()
    assert model.json_path == DEFAULT_MODEL
    document = model.to_document()
    assert sha256_hex(model.tflite) == document["tflite_sha256"]
    assert model.labels == LABELS
    assert model.mfcc == MfccConfig() and model.clip_samples == 16000
    assert model.architecture["name"] == "ds-cnn-s"
    assert model.training["distilled_from"]
    assert model.detector is None and "Speech Commands" in model.credits
    assert len(model.tflite) < 64 * 1024  # "a few tens of KB"
    assert (DEFAULT_MODEL.parent / "MODEL_CARD.md").read_text().count(document["tflite_sha256"]) == 1


def test_classify_uses_the_default_model(tmp_path, capsys):
    path = tmp_path / "vowel.wav"
    sf.write(path, named_signals(16000)["vowel_a_synthetic"], 16000, subtype="PCM_16")
    assert main(["classify", "--json", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] in LABELS and set(record["scores"]) == set(LABELS)


def test_silence_is_classified_as_silence(tmp_path, capsys):
    """A quiet room (low noise) is _silence_, not a keyword."""
    path = tmp_path / "room.wav"
    noise = np.random.default_rng(0).normal(0, 30, 16000).round().astype(np.int16)
    sf.write(path, noise, 16000, subtype="PCM_16")
    assert main(["classify", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "_silence_"
