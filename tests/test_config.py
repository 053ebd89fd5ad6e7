from __future__ import annotations

import dataclasses
import json

import pytest

from dsp import MfccConfig


def test_defaults_give_the_hello_edge_input():
    config = MfccConfig()
    assert config.sample_rate == 16000 and config.hop_length == 320  # 20 ms hop
    assert (config.n_frames(16000), config.n_mfcc) == (49, 10)


def test_frozen_and_round_trips_through_json():
    config = MfccConfig(n_mels=32, fmax=3500.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_mels = 10  # type: ignore[misc]
    assert MfccConfig.from_dict(json.loads(config.to_json())) == config
    assert hash(config) == hash(MfccConfig.from_dict(config.to_dict()))


@pytest.mark.parametrize(
    "values,message",
    [
        ({"fft_length": 500}, "fft_length"),
        ({"frame_length": 600}, "frame_length"),
        ({"hop_length": 0}, "hop_length"),
        ({"fmax": 9000.0}, "fmax"),
        ({"n_mfcc": 50}, "n_mfcc"),
    ],
)
def test_invalid_values_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        MfccConfig(**values)


def test_unknown_fields_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        MfccConfig.from_dict({"sample_rate": 16000, "bogus": 1})


def test_frame_arithmetic():
    config = MfccConfig()
    for n_frames in range(1, 60):
        samples = config.samples_for_frames(n_frames)
        assert config.n_frames(samples) == n_frames and config.n_frames(samples - 1) == n_frames - 1
