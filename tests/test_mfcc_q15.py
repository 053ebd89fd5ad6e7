"""dsp.mfcc_q15 is bit-exact (0 LSB, every coefficient of every frame) with CMSIS-DSP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_bit_exact, require_cmsisdsp, shared_data
from signals import named_signals

from dsp import MfccConfig, mfcc_q15
from dsp.mfcc_q15 import frame_signal

GOLDEN = Path(__file__).resolve().parent / "golden" / "mfcc_q15.npz"

# Configs beyond the default that exercise other code paths: radix-4-by-2 FFTs (1024, 128),
# a small radix-4 one (256), other windows, band edges and counts, hop > frame.
CONFIGS = {
    "default": MfccConfig(),
    "hello_edge_40ms_fft1024": MfccConfig(frame_length=640, fft_length=1024),
    "fft256_20mels_hamming": MfccConfig(frame_length=256, fft_length=256, hop_length=128, n_mels=20, n_mfcc=13, window="hamming"),
    "fft128_8khz_hop_gt_frame": MfccConfig(sample_rate=8000, frame_length=100, fft_length=128, hop_length=160, n_mels=16, n_mfcc=8, fmin=60, fmax=3800),
    "fft2048_64mels": MfccConfig(frame_length=1600, fft_length=2048, hop_length=400, n_mels=64, n_mfcc=20, fmin=0, fmax=7600),
}


def _golden():
    with np.load(GOLDEN) as data:
        configs = json.loads(str(data["configs_json"]))
        for config_name, values in configs.items():
            config = MfccConfig.from_dict(values)
            for key in data.files:
                if key.startswith(f"mfcc/{config_name}/"):
                    name = key.split("/", 2)[2]
                    yield pytest.param(config, data[f"signal/{name}"], data[key], id=f"{config_name}-{name}")


@pytest.mark.parametrize("config,samples,expected", list(_golden()))
def test_golden_vectors(config, samples, expected):
    """Committed outputs of cmsisdsp.arm_mfcc_q15: run even where cmsisdsp is not installed."""
    assert_bit_exact(mfcc_q15(samples, config=config), expected, "golden")


@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_named_signals_against_cmsisdsp(config_name):
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc

    config = CONFIGS[config_name]
    reference = CmsisMfcc(config)
    for name, samples in named_signals(n_samples=6000).items():
        expected = reference.frames_q15(frame_signal(samples, config=config))
        assert_bit_exact(mfcc_q15(samples, config=config), expected, f"{config_name}/{name}")


def _speech_files(limit_per_word: int) -> list[Path]:
    root = shared_data("speech_commands_v2_test_dev")
    files = []
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "_background_noise_"):
        files += sorted(word_dir.glob("*.wav"))[:limit_per_word]
    return files


def test_real_speech_against_cmsisdsp():
    """Every frame of real Speech Commands clips (all words) and two background-noise files."""
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc

    files = _speech_files(limit_per_word=6)
    noise = sorted(shared_data("speech_commands_v2_test_dev", "_background_noise_").glob("*.wav"))[:2]
    reference = CmsisMfcc()
    frames_checked = 0
    for path in files + noise:
        samples, rate = sf.read(path, dtype="int16")
        samples = samples[: 16000 * 20]  # 20 s of each long noise file is ample
        expected = reference.frames_q15(frame_signal(samples, config=reference.config))
        assert_bit_exact(mfcc_q15(samples), expected, str(path.name))
        frames_checked += len(expected)
    assert len(files) >= 60 and frames_checked > 3000


def test_real_speech_other_config_against_cmsisdsp():
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc

    config = CONFIGS["hello_edge_40ms_fft1024"]
    reference = CmsisMfcc(config)
    for path in _speech_files(limit_per_word=1):
        samples, _ = sf.read(path, dtype="int16")
        expected = reference.frames_q15(frame_signal(samples, config=config))
        assert_bit_exact(mfcc_q15(samples, config=config), expected, str(path.name))


def test_tables_equal_cmsisdsp_helpers():
    """Window, mel filters and DCT equal those the contract initialises arm_mfcc_q15 with."""
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc
    from dsp.tables import q15_tables

    for name, config in CONFIGS.items():
        reference = CmsisMfcc(config)
        ours = q15_tables(config)
        assert_bit_exact(ours.window, reference.window_q15, f"{name} window")
        assert_bit_exact(ours.dct.reshape(-1), np.asarray(reference.dct_q15, dtype=np.int16), f"{name} dct")
        assert_bit_exact(ours.mel_positions, np.asarray(reference.mel_positions), f"{name} mel positions")
        assert_bit_exact(ours.mel_lengths, np.asarray(reference.mel_lengths), f"{name} mel lengths")
        assert_bit_exact(ours.mel_weights, np.asarray(reference.mel_coefs_q15, dtype=np.int16), f"{name} mel weights")


@pytest.mark.parametrize("fft_length", [32, 64, 128, 256, 512, 1024, 2048, 4096])
def test_rfft_against_cmsisdsp(fft_length):
    """The real FFT alone, all supported lengths (radix-4 and radix-4-by-2 paths)."""
    cmsisdsp = require_cmsisdsp()
    from dsp.fft_q15 import rfft_q15

    rng = np.random.default_rng(fft_length)
    frames = np.concatenate(
        [
            rng.integers(-32768, 32768, (6, fft_length)),
            np.full((1, fft_length), 32767),
            np.full((1, fft_length), -32768),
            (rng.normal(0, 30, (4, fft_length))).round().clip(-32768, 32767),
        ]
    ).astype(np.int16)
    instance = cmsisdsp.arm_rfft_instance_q15()
    cmsisdsp.arm_rfft_init_q15(instance, fft_length, 0, 1)
    re, im = rfft_q15(frames)
    for i, frame in enumerate(frames):
        expected = np.asarray(cmsisdsp.arm_rfft_q15(instance, frame.copy()), dtype=np.int32)
        assert_bit_exact(re[i], expected[0 : fft_length + 2 : 2], f"N={fft_length} frame {i} real")
        assert_bit_exact(im[i], expected[1 : fft_length + 2 : 2], f"N={fft_length} frame {i} imag")


def test_sqrt_and_log_against_cmsisdsp():
    cmsisdsp = require_cmsisdsp()
    from dsp.fixedpoint import sqrt_q31, vlog_q31
    from dsp.tables import sqrt_seed_q31

    rng = np.random.default_rng(7)
    edges = np.array([0, 1, 2, 3, 4, 255, 256, 65535, 1 << 30, (1 << 31) - 1, (1 << 31) - 2], dtype=np.int64)
    values = np.concatenate([edges, rng.integers(0, 1 << 31, 3000), 2 ** rng.integers(0, 31, 200)])
    roots = sqrt_q31(values, sqrt_seed_q31())
    expected_roots = np.array([cmsisdsp.arm_sqrt_q31(int(v))[1] for v in values], dtype=np.int64)
    assert_bit_exact(roots, expected_roots, "sqrt_q31")
    expected_logs = np.asarray(cmsisdsp.arm_vlog_q31(values.astype(np.int32)), dtype=np.int64)
    assert_bit_exact(vlog_q31(values), expected_logs, "vlog_q31")


def test_output_shape_dtype_and_framing():
    config = MfccConfig()
    one_second = np.zeros(16000, dtype=np.int16)
    out = mfcc_q15(one_second)
    assert out.shape == (49, 10) and out.dtype == np.int16  # the Hello Edge / MLPerf Tiny input
    assert mfcc_q15(np.zeros(config.frame_length - 1, dtype=np.int16)).shape == (0, 10)
    assert mfcc_q15(np.zeros(config.frame_length, dtype=np.int16)).shape == (1, 10)
    # A frame depends only on its own samples: changing samples after frame 0 leaves it alone.
    rng = np.random.default_rng(0)
    x = rng.integers(-2000, 2000, 4000).astype(np.int16)
    y = x.copy()
    y[config.frame_length :] = 0
    assert_bit_exact(mfcc_q15(y)[0], mfcc_q15(x)[0], "frame 0")


def test_rejects_wrong_input():
    with pytest.raises(TypeError, match="int16"):
        mfcc_q15(np.zeros(1000, dtype=np.float32))
    with pytest.raises(ValueError, match="mono"):
        mfcc_q15(np.zeros((1000, 2), dtype=np.int16))


def test_bit_exact_assertion_reports_positions():
    """The comparison used everywhere prints where and by how much arrays differ."""
    expected = np.zeros((3, 4), dtype=np.int16)
    actual = expected.copy()
    actual[1, 2] = 5
    with pytest.raises(pytest.fail.Exception, match=r"(?s)1 of 12 elements differ.*at \(1, 2\): got 5, expected 0"):
        assert_bit_exact(actual, expected, "demo")
