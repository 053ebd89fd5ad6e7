"""dsp.mfcc_f32 equals cmsisdsp.arm_mfcc_f32, and the documented librosa mapping holds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import require_cmsisdsp, shared_data
from signals import named_signals

from dsp import MfccConfig, mfcc_f32, mfcc_q15
from dsp.mfcc_f32 import LOG_FLOOR, _f32_tables
from dsp.mfcc_f32 import frame_float_signal
from dsp.tables import mel_filters

CONFIGS = [MfccConfig(), MfccConfig(frame_length=640, fft_length=1024)]

# Within one frame these are single tones or DC: most mel bands hold only window sidelobes,
# which CMSIS-DSP's float32 FFT buries in rounding noise (~1e-7 of the peak) while float64
# resolves them, and log(energy + 1e-6) magnifies the gap there.
TONAL = {"dc_half", "dc_full_positive", "dc_full_negative", "sine_1khz_full_scale", "sweep_100_7900hz", "vowel_a_synthetic"}


def _float_signals() -> dict[str, np.ndarray]:
    return {name: x.astype(np.float64) / 32768 for name, x in named_signals(n_samples=6000).items()}


def _cmsis_f32_error(x: np.ndarray, config: MfccConfig, reference) -> float:
    expected = reference.frames_f32(frame_float_signal(x, config=config))
    return float(np.abs(mfcc_f32(x, config=config) - expected).max())


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "fft1024"])
def test_equals_cmsisdsp_f32(config):
    """Within 1e-4 on broadband signals; tonal ones only to float32's noise floor (see TONAL).

    Measured: broadband <= 2e-5; tonal up to 1.0e-2 (the sweep), bounded here by 2e-2.
    """
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc

    reference = CmsisMfcc(config)
    for name, x in _float_signals().items():
        error = _cmsis_f32_error(x, config, reference)
        bound = 2e-2 if name in TONAL else 1e-4
        assert error <= bound, f"{name}: max |difference| {error:.2e} > {bound}"


def test_equals_cmsisdsp_f32_on_real_speech():
    """Measured on 117 Speech Commands clips: max 5.5e-5."""
    require_cmsisdsp()
    from dsp.cmsis_reference import CmsisMfcc

    reference = CmsisMfcc()
    root = shared_data("speech_commands_v2_test_dev")
    for path in sorted(root.glob("*/*.wav"))[::40]:
        x, _ = sf.read(path)
        error = _cmsis_f32_error(x[: 16000 * 10], reference.config, reference)
        assert error <= 1e-4, f"{path.name}: max |difference| {error:.2e} > 1e-4"


def _librosa_mfcc(x: np.ndarray, config: MfccConfig, mel_basis: np.ndarray | None = None) -> np.ndarray:
    """The documented mapping (see dsp/mfcc_f32.py), in librosa's (n_mfcc, frames) layout transposed."""
    librosa = pytest.importorskip("librosa")
    import scipy.fft

    lead = (config.fft_length - config.frame_length) // 2  # librosa centres the short window
    y = np.concatenate([np.zeros(lead), x, np.zeros(config.fft_length - config.frame_length - lead)])
    if mel_basis is None:
        mel = librosa.feature.melspectrogram(
            y=y, sr=config.sample_rate, n_fft=config.fft_length, hop_length=config.hop_length,
            win_length=config.frame_length, window=config.window, center=False, power=1.0,
            n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax, htk=True, norm=None,
        )
    else:
        # Our float32-rounded window too, so that only FFT rounding separates the two.
        window = _f32_tables(config)[0][: config.frame_length]
        spectrum = np.abs(librosa.stft(
            y, n_fft=config.fft_length, hop_length=config.hop_length, win_length=config.frame_length,
            window=window, center=False,
        ))
        mel = mel_basis @ spectrum
    coefficients = scipy.fft.dct(np.log(mel + LOG_FLOOR), type=2, norm="ortho", axis=0)[: config.n_mfcc]
    coefficients[0] *= np.sqrt(2.0)  # CMSIS-DSP scales row 0 by sqrt(2/M) too, not sqrt(1/M)
    return coefficients.T


def _mapping_signals() -> dict[str, np.ndarray]:
    signals = _float_signals()
    del signals["silence"]  # log(1e-6) everywhere: trivially equal
    return signals


def test_librosa_parameters_reproduce_it():
    """Plain librosa parameters: triangles linear in Hz instead of mel are the only difference.

    Measured with both configs on the named signals: largest difference 0.019 (the clipped
    sine), mean at most 0.0067; on Speech Commands clips about 0.011 and 0.002. Coefficients
    span roughly -40..+20. Bounds: 0.025 and 0.008.
    """
    for config in CONFIGS:
        for name, x in _mapping_signals().items():
            difference = np.abs(mfcc_f32(x, config=config) - _librosa_mfcc(x, config))
            assert difference.max() < 0.025 and difference.mean() < 0.008, f"{name}: {difference.max():.4f}"


def test_librosa_with_our_mel_basis_is_equal():
    """With the mel basis swapped for ours, librosa's STFT and scipy's DCT agree to 1e-4."""
    for config in CONFIGS:
        filters = mel_filters(config.fmin, config.fmax, config.n_mels, config.sample_rate, config.fft_length)
        basis = filters.dense(config.fft_length // 2 + 1, filters.weights.astype(np.float32))
        for name, x in _mapping_signals().items():
            error = np.abs(mfcc_f32(x, config=config) - _librosa_mfcc(x, config, basis)).max()
            assert error <= 1e-4, f"{name}: {error:.2e}"


def test_librosa_mapping_on_real_speech():
    config = MfccConfig()
    root = shared_data("speech_commands_v2_test_dev")
    for path in sorted(root.glob("*/*.wav"))[::200][:10]:
        x, _ = sf.read(path)
        difference = np.abs(mfcc_f32(x, config=config) - _librosa_mfcc(x, config))
        assert difference.max() < 0.025 and difference.mean() < 0.008, f"{path.name}: {difference.max():.4f}"


def test_q15_tracks_float_reference_on_speech():
    """q8.7 / 128 approximates the float MFCC: a characterisation, not a contract.

    Measured on 117 Speech Commands clips: c1..c9 differ by 0.19 on average (0.51 on the
    worst clip); c0 by 2.7 (much more on near-silent clips, where the q15 log floor rules).
    """
    root = shared_data("speech_commands_v2_test_dev")
    per_clip = []
    for path in sorted(root.glob("*/*.wav"))[::50]:
        x, _ = sf.read(path, dtype="int16")
        q = mfcc_q15(x).astype(np.float64) / 128
        f = mfcc_f32(x.astype(np.float64) / 32768)
        per_clip.append(np.abs(q[:, 1:] - f[:, 1:]).mean())
    assert np.mean(per_clip) < 0.3 and np.max(per_clip) < 0.8
