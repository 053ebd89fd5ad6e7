"""The kws command line: help, features outputs, and one `kws: error:` line for every user error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import assert_one_error_line

from dsp import MfccConfig, mfcc_q15
from kws import __version__
from kws.audio import write_wav
from kws.cli import main

REPO = Path(__file__).resolve().parents[1]


def speechlike(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """int16 test signal with structure in every MFCC coefficient: a chirp over noise."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    chirp = 0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t)
    noise = 0.02 * np.random.default_rng(seed).standard_normal(n)
    return np.round((chirp + noise) * 32767).astype(np.int16)


@pytest.fixture
def wav16k(tmp_path) -> tuple[Path, np.ndarray]:
    samples = speechlike()
    path = tmp_path / "in" / "speech.wav"
    path.parent.mkdir()
    write_wav(path, samples, 16000)
    return path, samples


@pytest.fixture
def out_dir(tmp_path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


# --- help and version ---------------------------------------------------------------------


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kws ")
    assert "features" in out and "devices" in out
    assert "CMSIS-DSP" in out


def test_features_help(capsys):
    assert main(["features", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: kws features" in out
    for option in ("--npy", "--json", "--png"):
        assert option in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"kws {__version__}\n"


# --- features: the three outputs ----------------------------------------------------------


def test_features_summary(wav16k, capsys):
    path, samples = wav16k
    assert main(["features", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"file:      {path}" in captured.out
    assert "1.000 s, 16000 samples at 16000 Hz" in captured.out
    assert "49 frames x 10 coefficients" in captured.out
    assert "q8.7" in captured.out
    # One statistics row per coefficient, and the min of c0 is the true minimum in q8.7 units.
    mfcc = mfcc_q15(samples)
    row0 = next(line for line in captured.out.splitlines() if line.split()[:1] == ["0"])
    assert float(row0.split()[1]) == pytest.approx(mfcc[:, 0].min() / 128, abs=5e-4)
    assert sum(1 for line in captured.out.splitlines() if line.split()[:1] in [[str(i)] for i in range(10)]) == 10


def test_features_json_holds_the_stored_integers(wav16k, capsys):
    path, samples = wav16k
    assert main(["features", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    document = json.loads(captured.out)
    expected = mfcc_q15(samples, config=MfccConfig())
    assert document["path"] == str(path)
    assert document["sample_rate"] == 16000
    assert (document["n_frames"], document["n_mfcc"]) == expected.shape == (49, 10)
    assert document["format"] == "q8.7"
    assert document["config"] == MfccConfig().to_dict()
    assert all(type(value) is int for row in document["mfcc"] for value in row)
    np.testing.assert_array_equal(np.array(document["mfcc"]), expected)


def test_features_npy_equals_mfcc_q15(wav16k, out_dir, capsys):
    path, samples = wav16k
    target = out_dir / "speech.npy"
    assert main(["features", str(path), "--npy", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 1 and str(target) in captured.out
    saved = np.load(target, allow_pickle=False)
    assert saved.dtype == np.int16
    np.testing.assert_array_equal(saved, mfcc_q15(samples))
    assert os.listdir(out_dir) == ["speech.npy"]  # no temporary file left


def test_features_png(wav16k, out_dir, capsys):
    pytest.importorskip("matplotlib")
    path, _ = wav16k
    target = out_dir / "speech.png"
    assert main(["features", str(path), "--npy", str(out_dir / "m.npy"), "--png", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(out_dir)) == ["m.npy", "speech.png"]
    assert str(target) in capsys.readouterr().out


def test_features_png_with_json_keeps_stdout_pure_json(wav16k, out_dir, capsys):
    pytest.importorskip("matplotlib")
    path, _ = wav16k
    assert main(["features", str(path), "--json", "--png", str(out_dir / "m.png")]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_frames"] == 49
    assert captured.err.startswith("kws: note: wrote ")


def test_png_without_matplotlib_is_an_error(wav16k, out_dir, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    path, _ = wav16k
    code = main(["features", str(path), "--npy", str(out_dir / "m.npy"), "--png", str(out_dir / "m.png")])
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert "pip install matplotlib" in line
    assert os.listdir(out_dir) == []


# --- features: conversions ----------------------------------------------------------------


@pytest.mark.parametrize("rate", [44100, 8000])
def test_other_rates_are_resampled_with_a_note(tmp_path, capsys, rate):
    path = tmp_path / f"speech{rate}.wav"
    write_wav(path, speechlike(rate=rate), rate)
    assert main(["features", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"kws: note: {path}: resampled {rate} Hz -> 16000 Hz\n"
    document = json.loads(captured.out)
    assert document["sample_rate"] == 16000
    assert document["n_frames"] == MfccConfig().n_frames(16000) == 49  # as for the same second at 16 kHz


def test_stereo_is_downmixed_with_a_note(tmp_path, out_dir, capsys):
    left, right = speechlike(seed=1), speechlike(seed=2)
    path = tmp_path / "stereo.wav"
    write_wav(path, np.stack([left, right], axis=1), 16000)
    target = out_dir / "s.npy"
    assert main(["features", str(path), "--npy", str(target)]) == 0
    assert capsys.readouterr().err == f"kws: note: {path}: downmixed 2 channels to mono\n"
    mono = np.rint((left.astype(np.int64) + right) / 2).astype(np.int16)
    np.testing.assert_array_equal(np.load(target), mfcc_q15(mono))


# --- errors: one line, exit 2, nothing written --------------------------------------------


def _valid_wav_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "valid.wav"
    write_wav(path, speechlike(0.1), 16000)
    data = path.read_bytes()
    path.unlink()
    return data


def _make_bad_input(kind: str, directory: Path) -> Path:
    path = directory / "bad.wav"
    if kind == "missing":
        pass
    elif kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("RIFF? no, just a text file renamed to .wav\n" * 10)
    elif kind == "truncated-30":
        path.write_bytes(_valid_wav_bytes(directory)[:30])
    elif kind == "truncated-mid-header":
        path.write_bytes(_valid_wav_bytes(directory)[:16])  # inside the 'fmt ' chunk header
    elif kind == "nan":
        samples = np.zeros(16000, np.float32)
        samples[100:200] = np.nan
        write_wav(path, samples, 16000)
    elif kind == "no-samples":
        write_wav(path, np.zeros(0, np.int16), 16000)
    elif kind == "too-short":
        write_wav(path, speechlike(0.02), 16000)  # 320 samples, a frame needs 480
    else:
        raise AssertionError(kind)
    return path


BAD_INPUTS = {
    "missing": "no such file: {path}",
    "directory": "{path} is a directory, not an audio file",
    "empty": "{path} is empty (0 bytes)",
    "text": "{path} is not a readable wav/flac/ogg file (",
    "truncated-30": "{path} is not a readable wav/flac/ogg file (",
    "truncated-mid-header": "{path} is not a readable wav/flac/ogg file (",
    "nan": "{path} contains NaN or infinite samples",
    "no-samples": "{path} contains no samples",
    "too-short": "{path} is too short for one frame: 320 samples",
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
@pytest.mark.parametrize("mode", ["--npy", "--json", "summary"])
def test_bad_input_is_one_error_line_and_writes_nothing(tmp_path, out_dir, capsys, kind, mode):
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = _make_bad_input(kind, inputs)
    target = out_dir / "features.npy"
    argv = ["features", str(path)] + {"--npy": ["--npy", str(target)], "--json": ["--json"], "summary": []}[mode]
    code = main(argv)
    captured = capsys.readouterr()
    line = assert_one_error_line(code, captured.err)
    assert line.startswith("kws: error: " + BAD_INPUTS[kind].format(path=path))
    assert captured.out == ""
    assert os.listdir(out_dir) == []


def test_failure_keeps_an_existing_output_untouched(tmp_path, out_dir, capsys):
    target = out_dir / "features.npy"
    target.write_bytes(b"previous result")
    code = main(["features", str(tmp_path / "missing.wav"), "--npy", str(target)])
    assert_one_error_line(code, capsys.readouterr().err)
    assert target.read_bytes() == b"previous result"
    assert os.listdir(out_dir) == ["features.npy"]


def test_npy_into_missing_directory(wav16k, tmp_path, capsys):
    path, _ = wav16k
    code = main(["features", str(path), "--npy", str(tmp_path / "nowhere" / "f.npy")])
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert line.endswith("nowhere does not exist (create it first)")  # the one rule of kws.outputs
    assert not (tmp_path / "nowhere").exists()


def test_npy_onto_a_directory(wav16k, out_dir, capsys):
    path, _ = wav16k
    code = main(["features", str(path), "--npy", str(out_dir)])
    assert "is a directory" in assert_one_error_line(code, capsys.readouterr().err)
    assert os.listdir(out_dir) == []


def test_npy_and_json_are_mutually_exclusive(wav16k, out_dir, capsys):
    path, _ = wav16k
    code = main(["features", str(path), "--npy", str(out_dir / "f.npy"), "--json"])
    captured = capsys.readouterr()
    line = assert_one_error_line(code, captured.err)
    assert "not allowed with argument" in line
    assert captured.out == ""
    assert os.listdir(out_dir) == []


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["transmogrify"], "invalid choice: 'transmogrify'"),
        ([], "required: COMMAND"),
        (["features"], "required: FILE"),
        (["features", "x.wav", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_usage_errors_are_one_line_without_usage_block(capsys, argv, fragment):
    code = main(argv)
    captured = capsys.readouterr()
    line = assert_one_error_line(code, captured.err)
    assert fragment in line
    assert "usage:" not in captured.err and captured.out == ""


def test_keyboard_interrupt_exits_130_quietly(wav16k, capsys, monkeypatch):
    import kws.audio

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kws.audio, "load_audio", interrupted)
    path, _ = wav16k
    assert main(["features", str(path)]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_closed_stdout_pipe_is_quiet(wav16k, capsys, monkeypatch):
    # `kws features x.wav --json | head -c 10`: the reader left, which is not an error to report.
    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    path, _ = wav16k
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["features", str(path), "--json"]) == 2
    assert capsys.readouterr().err == ""


# --- devices ------------------------------------------------------------------------------


def fake_sounddevice(devices: list[dict], default_input: int = -1) -> SimpleNamespace:
    return SimpleNamespace(
        query_devices=lambda: list(devices),
        query_hostapis=lambda index: {"name": "ALSA"},
        default=SimpleNamespace(device=[default_input, -1]),
        PortAudioError=type("PortAudioError", (Exception,), {}),
    )


def test_devices_without_any_input_device(monkeypatch, capsys):
    output_only = {"name": "HDMI", "max_input_channels": 0, "default_samplerate": 48000.0, "hostapi": 0}
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([output_only]))
    code = main(["devices"])
    captured = capsys.readouterr()
    line = assert_one_error_line(code, captured.err)
    assert line == (
        "kws: error: no audio input device found (PortAudio sees none). "
        "Connect a microphone, or check `arecord -l`."
    )
    assert captured.out == ""


def test_devices_lists_only_inputs_and_marks_the_default(monkeypatch, capsys):
    devices = [
        {"name": "HDMI out", "max_input_channels": 0, "default_samplerate": 48000.0, "hostapi": 0},
        {"name": "USB mic", "max_input_channels": 1, "default_samplerate": 16000.0, "hostapi": 0},
        {"name": "Built-in", "max_input_channels": 2, "default_samplerate": 44100.0, "hostapi": 0},
    ]
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(devices, default_input=2))
    assert main(["devices"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 2
    assert rows[0].startswith(" ") and rows[0].split()[:3] == ["1", "1", "16000"] and "USB mic" in rows[0]
    assert rows[1].startswith("*") and rows[1].split()[1:4] == ["2", "2", "44100"] and "Built-in" in rows[1]
    assert "HDMI" not in "\n".join(rows)


def test_devices_without_portaudio(without_portaudio, capsys):
    line = assert_one_error_line(main(["devices"]), capsys.readouterr().err)
    assert "PortAudio library is missing" in line and "libportaudio2" in line and "brew install portaudio" in line


# --- as a real process --------------------------------------------------------------------


def run_kws(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kws", *args], cwd=REPO, capture_output=True, text=True, timeout=120, **kwargs
    )


def test_subprocess_version_and_features(wav16k):
    assert run_kws("--version").stdout == f"kws {__version__}\n"
    path, samples = wav16k
    result = run_kws("features", str(path), "--json")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.array(json.loads(result.stdout)["mfcc"]), mfcc_q15(samples))


def test_subprocess_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    result = run_kws("features", str(bad), "--npy", str(tmp_path / "x.npy"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"kws: error: {bad} is not a readable wav/flac/ogg file (")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.wav"]


def test_evaluate_skips_undecodable_clips_with_a_note(tmp_path, capsys):
    """kws evaluate DIR walks a folder: an undecodable clip is one note naming it, and the rest are scored."""
    from corpus import make_corpus

    folder = make_corpus(tmp_path / "corpus", speakers=1, takes=1)
    (folder / "yes" / "bad_nohash_0.wav").write_text("not audio\n")
    (folder / "go" / "empty_nohash_0.wav").write_bytes(b"")
    argv = ["evaluate", str(folder), "--json", "--cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["clips"] == 12  # 10 keywords and 2 other words, one clip each
    empty, text = captured.err.splitlines()
    assert empty == f"kws: note: skipped {folder / 'go' / 'empty_nohash_0.wav'}: empty (0 bytes)"
    assert text.startswith(f"kws: note: skipped {folder / 'yes' / 'bad_nohash_0.wav'}: not a readable wav/flac/ogg")
