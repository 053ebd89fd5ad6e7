"""The firmware frontend (CMSIS-DSP's arm_mfcc_q15 on a Cortex-M4F, in QEMU) is bit-exact
(0 LSB, every coefficient of every frame) with dsp.mfcc_q15.

The tests that build and run firmware skip where arm-none-eabi-gcc or qemu-system-arm is not
on PATH (scripts/setup.sh installs both); the table generator and the CMSIS-DSP fetcher are
checked everywhere. Each config is built once per session (into a temporary directory); the
CMSIS-DSP sources come from the user's cache (~/.cache/kws/cmsisdsp, or $KWS_CACHE), which
scripts/setup.sh fills (`python -m kws.firmware.cmsis_dsp`): the tests themselves never download.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_bit_exact, shared_data
from signals import named_signals

from dsp import MfccConfig, mfcc_q15
from dsp.tables import q15_tables
from firmware_helpers import FRONTEND_MISSING, needs_frontend_toolchain
from kws.errors import KwsError
from kws.firmware import cmsis_dsp
from kws.firmware.tables import generate_tables

_MISSING = FRONTEND_MISSING
needs_toolchain = needs_frontend_toolchain

DEFAULT = MfccConfig()
# Beyond the default: a 1024-point FFT (radix-4-by-2), a small radix-4 one with another
# window, and hop > frame at 8 kHz (the streaming app skips samples between frames).
OTHER_CONFIGS = {
    "hello_edge_40ms_fft1024": MfccConfig(frame_length=640, fft_length=1024),
    "fft256_20mels_hamming": MfccConfig(frame_length=256, fft_length=256, hop_length=128, n_mels=20, n_mfcc=13, window="hamming"),
    "fft128_8khz_hop_gt_frame": MfccConfig(sample_rate=8000, frame_length=100, fft_length=128, hop_length=160, n_mels=16, n_mfcc=8, fmin=60, fmax=3800),
}

SIGNALS = named_signals()


# --- the generated tables (no toolchain needed) -------------------------------------------


def _c_array(source: str, name: str) -> np.ndarray:
    match = re.search(rf"{name}\[[^\]]*\] = \{{([^}}]*)\}};", source)
    assert match, f"{name} not found"
    return np.array([int(v) for v in match.group(1).replace("\n", " ").split(",") if v.strip()])


@pytest.mark.parametrize("config", [DEFAULT, *OTHER_CONFIGS.values()], ids=["default", *OTHER_CONFIGS])
def test_tables_are_q15_tables(config):
    """The C arrays hold exactly dsp.tables.q15_tables(config); the header states the config."""
    generated = generate_tables(config)
    tables = q15_tables(config)
    np.testing.assert_array_equal(_c_array(generated.source, "kws_mfcc_window"), tables.window)
    np.testing.assert_array_equal(_c_array(generated.source, "kws_mfcc_mel_positions"), tables.mel_positions)
    np.testing.assert_array_equal(_c_array(generated.source, "kws_mfcc_mel_lengths"), tables.mel_lengths)
    np.testing.assert_array_equal(_c_array(generated.source, "kws_mfcc_mel_coefs"), tables.mel_weights)
    np.testing.assert_array_equal(_c_array(generated.source, "kws_mfcc_dct"), tables.dct.ravel())
    defines = dict(re.findall(r"#define KWS_MFCC_(\w+) (.+)", generated.header))
    assert int(defines["SAMPLE_RATE"]) == config.sample_rate
    assert int(defines["FRAME_LENGTH"]) == config.frame_length
    assert int(defines["HOP_LENGTH"]) == config.hop_length
    assert int(defines["FFT_LENGTH"]) == config.fft_length
    assert int(defines["N_MELS"]) == config.n_mels
    assert int(defines["N_MFCC"]) == config.n_mfcc
    assert int(defines["MEL_COEFS_LENGTH"]) == len(tables.mel_weights)
    assert MfccConfig.from_dict(json.loads(json.loads(defines["CONFIG_JSON"]))) == config
    assert f'"window": "{config.window}"' in generated.header  # the commented config


def test_table_name_must_be_a_c_identifier():
    with pytest.raises(ValueError):
        generate_tables(DEFAULT, name="kws-mfcc")


# --- fetching CMSIS-DSP (no toolchain needed) ---------------------------------------------


def test_corrupt_cached_sdist_is_refused(tmp_path):
    (tmp_path / cmsis_dsp.SDIST_NAME).write_bytes(b"not the sdist")
    with pytest.raises(KwsError, match="sha256"):
        cmsis_dsp.cmsis_dsp_sources(tmp_path, download=True)


def test_unreachable_registry_is_one_clear_error(tmp_path, monkeypatch):
    # No index and no local links: pip fails the way it does offline.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    with pytest.raises(KwsError, match=r"cannot fetch CMSIS-DSP: .*PyPI is reachable.*cmsisdsp-1\.10\.3\.tar\.gz"):
        cmsis_dsp.cmsis_dsp_sources(tmp_path / "cache", download=True)
    assert not list((tmp_path / "cache").glob(".download-*"))  # no half-done download left


def test_a_build_never_downloads_but_names_the_setup_command(tmp_path, monkeypatch):
    def no_pip(_destination: Path) -> None:
        raise AssertionError("a build must not download")

    monkeypatch.setattr(cmsis_dsp, "_pip_download", no_pip)
    with pytest.raises(KwsError, match=r"not yet on this machine: fetch them once with `kws firmware setup`"):
        cmsis_dsp.cmsis_dsp_sources(tmp_path / "empty")


# --- the firmware in QEMU -----------------------------------------------------------------


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    """mfcc_dump.elf for the default config, built once for the module."""
    from kws.firmware.mfcc_dump import build_mfcc_dump

    return build_mfcc_dump(DEFAULT, tmp_path_factory.mktemp("firmware-default"))


@pytest.fixture(scope="module", params=list(OTHER_CONFIGS))
def other_firmware(request, tmp_path_factory):
    from kws.firmware.mfcc_dump import build_mfcc_dump

    return build_mfcc_dump(OTHER_CONFIGS[request.param], tmp_path_factory.mktemp(f"firmware-{request.param}"))


def _run(build, samples, **kwargs):
    from kws.firmware.mfcc_dump import run_mfcc_dump

    return run_mfcc_dump(build, samples, **kwargs)


@needs_toolchain
@pytest.mark.parametrize("name", list(SIGNALS))
def test_named_signals_bit_exact(firmware, name):
    samples = SIGNALS[name]
    dump = _run(firmware, samples)
    assert_bit_exact(dump.frames, mfcc_q15(samples), name)


@needs_toolchain
def test_real_speech_bit_exact(firmware):
    """Two clips of every Speech Commands word and 5 s of a background-noise recording."""
    root = shared_data("speech_commands_v2_test_dev")
    clips = []
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "_background_noise_"):
        clips += sorted(word_dir.glob("*.wav"))[:2]
    noise = sorted((root / "_background_noise_").glob("*.wav"))[:1]
    frames = 0
    for path in clips + noise:
        samples, rate = sf.read(path, dtype="int16")
        assert rate == DEFAULT.sample_rate and samples.ndim == 1
        samples = samples[: 5 * rate]
        dump = _run(firmware, samples)
        assert_bit_exact(dump.frames, mfcc_q15(samples), path.name)
        frames += len(dump.frames)
    assert len(clips) >= 20 and frames > 1000


@needs_toolchain
def test_whole_buffer_api_bit_exact(firmware):
    """kws_frontend_process over a buffer in memory gives the frames the streaming path gives."""
    samples = SIGNALS["vowel_a_synthetic"]
    dump = _run(firmware, samples, whole=True)
    assert_bit_exact(dump.frames, mfcc_q15(samples), "whole")
    assert dump.whole_instructions > 0


@needs_toolchain
def test_other_configs_bit_exact(other_firmware):
    """The tables, sizes and FFT follow the config the firmware is built with."""
    config = other_firmware.config
    header = (other_firmware.out_dir / "generated" / "kws_mfcc_tables.h").read_text()
    assert f"#define KWS_MFCC_FFT_LENGTH {config.fft_length}\n" in header
    for name, samples in SIGNALS.items():
        dump = _run(other_firmware, samples)  # also checks the image reports this config
        assert_bit_exact(dump.frames, mfcc_q15(samples, config=config), name)


@needs_toolchain
def test_instruction_counts(firmware):
    """Per-frame counts are deterministic, and plausible for a 512-point MFCC on an M4 (the speed
    itself is measured by benchmarks/bench_firmware.py, not checked here)."""
    samples = SIGNALS["noise_white_full_scale"]
    first = _run(firmware, samples).instructions
    second = _run(firmware, samples).instructions
    np.testing.assert_array_equal(first, second)
    assert len(first) == DEFAULT.n_frames(len(samples))
    assert np.all(first % 40 == 0)  # SysTick at 25 MHz: one tick is 40 instructions
    assert 10_000 < np.median(first) < 300_000


@needs_toolchain
def test_build_is_incremental_and_clean(firmware):
    """A second build recompiles nothing, and our own C compiles without a warning."""
    from kws.firmware.mfcc_dump import build_mfcc_dump

    assert not {src: text for src, text in firmware.warnings.items() if "cmsisdsp-1.10.3" not in src}
    again = build_mfcc_dump(DEFAULT, firmware.out_dir)
    assert again.compiled == 0
    assert again.size == firmware.size
    assert 0 < firmware.size.text < 256 * 1024
    # With the FFT length fixed at build time only its tables are linked: the frontend's
    # CMSIS-DSP share stays small (the 4096-point real-FFT split tables are 32 KiB of it).
    assert firmware.parts["CMSIS-DSP"].text < 64 * 1024
    assert firmware.parts["CMSIS-DSP"].bss == 0 and firmware.parts["kws_frontend"].bss == 0
    record = json.loads((firmware.out_dir / "build.json").read_text())
    assert record["config"] == DEFAULT.to_dict()
    assert "-D__GNUC_PYTHON__" in record["cmsis_dsp_command"]
    assert not any(flag.startswith("-DARM_MATH_DSP") for flag in record["cmsis_dsp_command"])


@needs_toolchain
def test_device_errors_are_reported(firmware, tmp_path):
    """A failing run is a KwsError with the program's message, not garbage frames."""
    from kws.firmware.qemu import run_elf

    result = run_elf(firmware.elf, ["mfcc_dump", "missing.raw"], machine=firmware.board.qemu_machine, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot open missing.raw" in result.stderr


def test_prefetched_sdist_needs_no_network(tmp_path, monkeypatch):
    """With the sdist in the cache (the offline route), extraction works without pip."""
    cached = cmsis_dsp.cache_dir() / cmsis_dsp.SDIST_NAME
    if not cached.is_file():
        pytest.skip(f"{cached} not fetched yet")
    shutil.copy(cached, tmp_path / cmsis_dsp.SDIST_NAME)

    def no_pip(_destination: Path) -> None:
        raise AssertionError("pip must not run")

    monkeypatch.setattr(cmsis_dsp, "_pip_download", no_pip)
    sources = cmsis_dsp.cmsis_dsp_sources(tmp_path)
    assert (sources.source / "TransformFunctions" / "arm_mfcc_q15.c").is_file()
    assert "Apache License" in sources.license.read_text()
    assert cmsis_dsp.cmsis_dsp_sources(tmp_path) == sources  # extracted once, then reused
