"""MfccStream: the frames of any chunking concatenate to mfcc_q15 of the whole signal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_bit_exact
from signals import named_signals

from dsp import MfccConfig, MfccStream, mfcc_q15


def _stream_in_chunks(samples: np.ndarray, sizes, config: MfccConfig) -> np.ndarray:
    stream = MfccStream(config=config)
    outputs, start = [], 0
    for size in sizes:
        outputs.append(stream.process(samples[start : start + size]))
        start += size
    assert start >= len(samples)
    assert stream.frames_emitted == sum(len(o) for o in outputs)
    return np.concatenate(outputs)


def _random_chunk_sizes(rng: np.random.Generator, total: int, high: int) -> list[int]:
    sizes = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(0, high)))  # 0-sample chunks included
    return sizes


@pytest.mark.parametrize(
    "config",
    [MfccConfig(), MfccConfig(frame_length=100, fft_length=128, hop_length=160, sample_rate=8000, n_mels=16, n_mfcc=8, fmax=3800)],
    ids=["default", "hop_longer_than_frame"],
)
def test_random_chunkings_equal_batch(config):
    rng = np.random.default_rng(11)
    samples = np.concatenate(list(named_signals(n_samples=3000).values()))
    expected = mfcc_q15(samples, config=config)
    for high in (3, 50, 333, 1000, 5000):
        sizes = _random_chunk_sizes(rng, len(samples), high)
        assert_bit_exact(_stream_in_chunks(samples, sizes, config), expected, f"chunks < {high}")


def test_one_sample_at_a_time():
    samples = named_signals(n_samples=4000)["vowel_a_synthetic"]
    expected = mfcc_q15(samples)
    assert_bit_exact(_stream_in_chunks(samples, [1] * len(samples), MfccConfig()), expected, "1-sample chunks")


def test_whole_signal_at_once_and_reset():
    samples = named_signals(n_samples=5000)["sweep_100_7900hz"]
    stream = MfccStream()
    first = stream.process(samples)
    assert_bit_exact(first, mfcc_q15(samples), "one chunk")
    stream.reset()
    assert stream.frames_emitted == 0 and stream.samples_seen == 0
    assert_bit_exact(stream.process(samples), first, "after reset")


def test_frames_appear_as_soon_as_complete():
    config = MfccConfig()
    stream = MfccStream(config=config)
    assert stream.process(np.zeros(config.frame_length - 1, dtype=np.int16)).shape == (0, config.n_mfcc)
    assert stream.process(np.zeros(1, dtype=np.int16)).shape == (1, config.n_mfcc)
    assert stream.process(np.zeros(config.hop_length - 1, dtype=np.int16)).shape == (0, config.n_mfcc)
    assert stream.process(np.zeros(1, dtype=np.int16)).shape == (1, config.n_mfcc)


def test_rejects_non_int16():
    with pytest.raises(TypeError):
        MfccStream().process(np.zeros(10, dtype=np.float32))
