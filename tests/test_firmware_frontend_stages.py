"""Each of the frontend's own stages (firmware/src/frontend/), alone on a Cortex-M4F in QEMU, gives
the integers of its CMSIS-DSP reference: the cmsisdsp Python binding (plain-C build), function by
function, 0 LSB on every element. Both builds of the stages are checked: with the DSP extension
(the default on the M4) and their plain-C code (KWS_FRONTEND_NO_DSP).

Inputs: edge cases (silence, full scale, -32768, clipping, impulses, every power of two, peaks
that skip the normalisation) and many random ones. The whole frame is checked end to end by
tests/test_firmware_mfcc.py; this file checks every stage on inputs a frame would rarely reach.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import assert_bit_exact, require_cmsisdsp
from signals import named_signals

from dsp import MfccConfig
from dsp.tables import q15_tables
from firmware_helpers import needs_frontend_toolchain

pytestmark = needs_frontend_toolchain

DEFAULT = MfccConfig()
#: The real FFT's other paths: radix-4-by-2 (complex lengths 2 * 4^k) and radix 4 of other sizes.
FFT_CONFIGS = {
    "fft256": MfccConfig(frame_length=256, fft_length=256, hop_length=128, n_mels=20, n_mfcc=13),
    "fft1024": MfccConfig(frame_length=640, fft_length=1024),
    "fft128": MfccConfig(sample_rate=8000, frame_length=100, fft_length=128, hop_length=160, n_mels=16, n_mfcc=8,
                         fmin=60, fmax=3800),
    "fft64": MfccConfig(sample_rate=8000, frame_length=64, fft_length=64, hop_length=32, n_mels=8, n_mfcc=4,
                        fmin=100, fmax=3800),
}
LN2_Q26 = 0x02C5C860


def _build(config: MfccConfig, out_dir: Path, *, plain: bool):
    from kws.firmware.mfcc_dump import build_mfcc_dump

    return build_mfcc_dump(config, out_dir, app="frontend_stages", plain_stages=plain)


@pytest.fixture(scope="module", params=["dsp", "plain"])
def stages(request, tmp_path_factory):
    """frontend_stages.elf for the default config: DSP-extension stages, or their plain-C code."""
    return _build(DEFAULT, tmp_path_factory.mktemp(f"stages-{request.param}"), plain=request.param == "plain")


@pytest.fixture(scope="module", params=list(FFT_CONFIGS))
def other_stages(request, tmp_path_factory):
    return _build(FFT_CONFIGS[request.param], tmp_path_factory.mktemp(f"stages-{request.param}"), plain=False)


def _run(build, stage: str, records: np.ndarray, out_dtype, tmp_path: Path) -> np.ndarray:
    from kws.firmware.qemu import run_app

    records.astype(records.dtype.newbyteorder("<")).tofile(tmp_path / "in.raw")
    result = run_app(build.elf, ["frontend_stages", stage, "in.raw", "out.raw"], board=build.board, cwd=tmp_path,
                     timeout=300)
    assert f"frontend_stages {stage} records=" in result.stdout
    return np.fromfile(tmp_path / "out.raw", dtype=np.dtype(out_dtype).newbyteorder("<"))


def _frames(length: int, rng: np.random.Generator) -> np.ndarray:
    """int16 frames that reach every branch of the normalisation and stress the FFT."""
    frames = [np.zeros(length), np.full(length, 32767), np.full(length, -32768), np.full(length, 16384),
              np.where(np.arange(length) % 2, 32767, -32768), np.where(np.arange(length) % 4 < 2, 32767, -32768),
              rng.integers(-1, 2, length), rng.integers(-32768, 32768, length)]
    for position in (0, 1, length // 2, length - 1):
        for value in (-32768, 32767, 1, -1, 12345):
            impulse = np.zeros(length)
            impulse[position] = value
            frames.append(impulse)
    # peaks 1 .. 32766 (each a normalisation shift), negative and positive, and the saturating 32767
    for peak in np.unique(np.geomspace(1, 32767, 60).astype(int)):
        noise = rng.normal(0, 1, length)
        noise = np.round(noise / np.abs(noise).max() * peak)
        frames += [noise, -noise]
    for signal in named_signals(8 * length).values():
        frames += list(signal.reshape(8, length)[::3])
    frames += list(np.clip(rng.normal(0, 8000, (40, length)), -32768, 32767))
    return np.array(frames).astype(np.int16)


def _reference_window(frames: np.ndarray, config: MfccConfig, dsp) -> tuple[np.ndarray, np.ndarray]:
    """arm_absmax_q15, arm_divide_q15, arm_scale_q15 and arm_mult_q15 as arm_mfcc_q15 calls them."""
    window = q15_tables(config).window
    out, peaks = [], []
    for frame in frames:
        padded = np.zeros(config.fft_length, np.int16)
        padded[: config.frame_length] = frame
        peak, _ = dsp.arm_absmax_q15(padded)
        if peak not in (0, 0x7FFF):
            status, quotient, shift = dsp.arm_divide_q15(0x7FFF, peak)
            assert status == 0
            padded = dsp.arm_scale_q15(padded, quotient, shift)
        out.append(dsp.arm_mult_q15(padded, window))
        peaks.append(peak)
    return np.array(out, np.int16), np.array(peaks, np.int16)


def _reference_rfft(frames: np.ndarray, fft_length: int, dsp) -> np.ndarray:
    instance = dsp.arm_rfft_instance_q15()
    assert dsp.arm_rfft_init_q15(instance, fft_length, 0, 1) == 0
    return np.array([dsp.arm_rfft_q15(instance, frame)[: fft_length + 2] for frame in frames], np.int16)


def test_normalise_window(stages, tmp_path):
    dsp = require_cmsisdsp()
    frames = _frames(DEFAULT.frame_length, np.random.default_rng(1))
    out = _run(stages, "window", frames, np.int16, tmp_path).reshape(len(frames), DEFAULT.fft_length + 1)
    windowed, peaks = _reference_window(frames, DEFAULT, dsp)
    assert_bit_exact(out[:, -1], peaks, "peak (arm_absmax_q15)")
    assert_bit_exact(out[:, :-1], windowed, "normalised and windowed frame")


def _check_rfft(build, config: MfccConfig, tmp_path: Path) -> None:
    dsp = require_cmsisdsp()
    rng = np.random.default_rng(2)
    frames = _frames(config.fft_length, rng)
    # and windowed frames, as the frontend feeds the FFT
    windowed, _ = _reference_window(_frames(config.frame_length, rng), config, dsp)
    frames = np.concatenate([frames, windowed])
    bins = config.fft_length // 2 + 1
    out = _run(build, "rfft", frames, np.int16, tmp_path).reshape(len(frames), 2 * bins)
    assert_bit_exact(out, _reference_rfft(frames, config.fft_length, dsp), f"arm_rfft_q15, N={config.fft_length}")


def test_rfft(stages, tmp_path):
    _check_rfft(stages, DEFAULT, tmp_path)


def test_rfft_other_lengths(other_stages, tmp_path):
    _check_rfft(other_stages, other_stages.config, tmp_path)


def test_cmplx_mag(stages, tmp_path):
    dsp = require_cmsisdsp()
    rng = np.random.default_rng(3)
    edges = np.array([-32768, -32767, -16384, -181, -2, -1, 0, 1, 2, 3, 181, 16383, 16384, 32766, 32767])
    grid = np.stack(np.meshgrid(edges, edges), axis=-1).reshape(-1, 2)
    powers = np.array([[1 << k, 0] for k in range(15)] + [[(1 << k) - 1, 1] for k in range(1, 15)])
    uniform = rng.integers(-32768, 32768, (40_000, 2))
    small = np.round(rng.normal(0, 1, (20_000, 2)) * np.geomspace(1, 20_000, 20_000)[:, None])
    pairs = np.concatenate([grid, powers, -powers, uniform, small]).astype(np.int16)
    out = _run(stages, "mag", pairs, np.int16, tmp_path)
    assert_bit_exact(out, dsp.arm_cmplx_mag_q15(pairs.ravel()).astype(np.int16), "arm_cmplx_mag_q15")


def _q31_edges() -> np.ndarray:
    powers = np.array([1 << k for k in range(31)], np.int64)
    return np.concatenate([[0, 1, 2, 3, 2**31 - 1, -1, -(2**31), -(2**30)], powers, powers - 1, powers + 1,
                           powers + (powers >> 1)]).clip(-(2**31), 2**31 - 1)


def test_vlog(stages, tmp_path):
    dsp = require_cmsisdsp()
    rng = np.random.default_rng(4)
    values = np.concatenate([_q31_edges(), rng.integers(-(2**31), 2**31, 30_000),
                             np.exp(rng.uniform(0, np.log(2**31 - 1), 50_000)).astype(np.int64)]).astype(np.int32)
    out = _run(stages, "vlog", values, np.int32, tmp_path)
    assert_bit_exact(out, dsp.arm_vlog_q31(values).astype(np.int32), "arm_vlog_q31")


def test_log_mel(stages, tmp_path):
    """arm_scale_q31 (unless the peak is 0 or 32767), arm_vlog_q31, arm_offset_q31, arm_shift_q31, q15."""
    dsp = require_cmsisdsp()
    rng = np.random.default_rng(5)
    n = DEFAULT.n_mels
    records, peaks = [], []
    edges = _q31_edges()
    peak_choices = [0, 1, 2, 3, 100, 181, 16383, 16384, 32766, 32767, -1]
    for i in range(400):
        if i < len(edges) * len(peak_choices) // n:
            energies = np.resize(np.roll(edges, i), n)
        elif i % 2:
            energies = np.exp(rng.uniform(0, np.log(2**30), n)).astype(np.int64)
        else:
            energies = rng.integers(0, 2**31, n)
        records.append(energies)
        peaks.append(peak_choices[i % len(peak_choices)] if i % 3 else int(rng.integers(1, 32767)))
    energies = np.array(records).astype(np.int32)
    inputs = np.concatenate([energies, np.array(peaks, np.int32)[:, None]], axis=1)
    out = _run(stages, "logmel", inputs, np.int16, tmp_path).reshape(len(inputs), n)
    offset = (int(np.log2(DEFAULT.fft_length)) + 2 + 10) * LN2_Q26
    expected = []
    for row, peak in zip(energies, peaks):
        if peak not in (0, 0x7FFF):
            row = dsp.arm_scale_q31(row, peak << 16, 0)
        log = dsp.arm_shift_q31(dsp.arm_offset_q31(dsp.arm_vlog_q31(row), offset), -19)
        expected.append(np.asarray(log).astype(np.int16))
    assert_bit_exact(out, np.array(expected), "log stage")
