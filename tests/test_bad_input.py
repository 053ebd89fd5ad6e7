"""What a user is owed on bad input: no output over an input, nothing left by a failed start,
and numbers that are not numbers refused in one line (kws.outputs, kws.validate)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line

from kws.atomic import write_file_atomically, write_files_into_folder
from kws.audio import write_wav
from kws.cli import main
from kws.errors import KwsError
from kws.model_file import DEFAULT_MODEL
from kws.outputs import check_outputs, restored_on_failure
from kws.validate import finite, whole


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) by relative path, with its content's hash."""
    return {str(p.relative_to(folder)): _digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "in" / "speech.wav"
    path.parent.mkdir()
    write_wav(path, np.random.default_rng(0).integers(-8000, 8000, 16000, dtype=np.int16), 16000)
    return path


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A copy of the shipped model in a folder of its own."""
    folder = tmp_path / "model"
    folder.mkdir()
    for suffix in (".json", ".tflite"):
        shutil.copy(DEFAULT_MODEL.with_suffix(suffix), folder / f"model{suffix}")
    return folder


def _refused(argv: list[str], capsys, *inputs: Path) -> str:
    """Run ``argv``; assert exit 2, one line, and every input byte-identical; return the line."""
    before = {path: _digests(path) if path.is_dir() else _digest(path) for path in inputs}
    line = assert_one_error_line(main([str(a) for a in argv]), capsys.readouterr().err)
    assert {path: _digests(path) if path.is_dir() else _digest(path) for path in inputs} == before
    return line


# --- outputs never over inputs --------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--npy", "--png"])
@pytest.mark.parametrize("how", ["itself", "symlink", "hard link"])
def test_features_output_onto_its_input_is_refused(wav, capsys, option, how):
    target = wav
    if how != "itself":
        target = wav.with_name("alias.wav")
        (target.symlink_to if how == "symlink" else target.hardlink_to)(wav.name if how == "symlink" else wav)
    line = _refused(["features", wav, option, target], capsys, wav)
    assert f"{option} {target} is the input {wav}" in line
    assert target.is_symlink() == (how == "symlink")


def test_features_refuses_a_missing_folder_and_makes_none(wav, tmp_path, capsys):
    line = _refused(["features", wav, "--npy", tmp_path / "absent" / "deeper" / "f.npy"], capsys, wav)
    assert line.endswith(f"the folder {tmp_path / 'absent' / 'deeper'} does not exist (create it first)")
    assert not (tmp_path / "absent").exists()


def test_features_writes_through_a_symlinked_output(wav, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "run1.npy").write_bytes(b"old")
    link = tmp_path / "latest.npy"
    link.symlink_to(results / "run1.npy")
    assert main(["features", str(wav), "--npy", str(link)]) == 0
    assert link.is_symlink() and np.load(results / "run1.npy").dtype == np.int16


def test_evaluate_stream_outputs_onto_inputs_are_refused(wav, model_dir, tmp_path, capsys):
    """Checked once the model is read, before any audio is: the clips folder need hold nothing."""
    clips, negatives = tmp_path / "clips", tmp_path / "negatives"
    clips.mkdir()
    negatives.mkdir()
    noise = negatives / "noise.wav"
    shutil.copy(wav, noise)
    base = ["evaluate-stream", "--model", model_dir, "--keywords-from", clips, "--negatives", negatives]
    cases = [
        (["--save-stream", noise], "lies inside --negatives"),
        (["--save-stream", negatives / "stream.wav"], "lies inside --negatives"),
        (["--save-stream", model_dir / "model.wav"], "--save-stream's labels"),  # its .json: the model's
        (["--png", model_dir / "model.json"], "is the model"),
        (["--png", clips / "det.png"], "lies inside --keywords-from"),
    ]
    for extra, fragment in cases:
        assert fragment in _refused(base + extra, capsys, negatives, model_dir, clips)


def test_evaluate_stream_negatives_named_as_a_file_are_protected(wav, model_dir, tmp_path, capsys):
    clips = tmp_path / "clips"
    clips.mkdir()
    line = _refused(["evaluate-stream", "--model", model_dir, "--keywords-from", clips, "--negatives", wav,
                     "--save-stream", wav], capsys, wav)
    assert f"--save-stream {wav} is --negatives {wav}" in line


def test_evaluate_png_onto_its_inputs_is_refused(model_dir, tmp_path, capsys):
    folder = tmp_path / "speech_commands"
    (folder / "yes").mkdir(parents=True)
    assert "lies inside DIR" in _refused(["evaluate", folder, "--model", model_dir, "--png", folder / "yes" / "m.png"],
                                         capsys, folder)
    assert "is the model" in _refused(["evaluate", folder, "--model", model_dir, "--png", model_dir / "model.tflite"],
                                      capsys, model_dir)


def test_firmware_build_out_must_not_be_the_models_folder(model_dir, tmp_path, capsys):
    for out in (model_dir, tmp_path):
        line = _refused(["firmware", "build", "--model", model_dir, "--out", out], capsys, model_dir)
        assert f"--out {out} holds the model" in line


def test_check_outputs_rules(tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a.wav").write_bytes(b"x")
    (tmp_path / "file").write_bytes(b"x")
    refused = [
        ({"files": {"--o": tmp_path / "file"}}, "is --file"),
        ({"files": {"--o": inputs / "new.npy"}}, "lies inside --in"),
        ({"folders": {"--out": tmp_path}}, "holds --in"),
        ({"folders": {"--out": tmp_path / "file"}}, "exists and is not a folder"),
        ({"files": {"--o": inputs}}, "it is a directory"),
        ({"files": {"--o": tmp_path / "file" / "x.npy"}}, "is not a folder (create it first)"),
        ({"files": {"--a": tmp_path / "x", "--b": tmp_path / "x"}}, "name the same place"),
    ]
    for outputs, fragment in refused:
        with pytest.raises(KwsError, match=re.escape(fragment)):
            check_outputs(**outputs, inputs={"--in": inputs, "--file": tmp_path / "file"})
    check_outputs(files={"--o": tmp_path / "new.npy", "--p": None}, folders={"--out": tmp_path / "new"},
                  inputs={"--in": inputs, "--none": None})


def test_atomic_write_keeps_a_symlink_a_symlink(tmp_path):
    (tmp_path / "target.txt").write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to("target.txt")
    write_file_atomically(link, b"new")
    assert link.is_symlink() and (tmp_path / "target.txt").read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "target.txt"]


# --- a failed start leaves nothing ----------------------------------------------------------------


def _failing_build(model, out_dir, **_):
    """Stands in for build_image: writes part of a build, then fails as a compiler would."""
    (Path(out_dir) / "generated").mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "generated" / "kws_model.c").write_text("half")
    (Path(out_dir) / "kws.elf").write_bytes(b"half an image")
    raise KwsError("compiling kws_model.c failed")


def test_a_failed_firmware_build_leaves_no_out_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("kws.firmware.image.build_image", _failing_build)
    out = tmp_path / "build"
    assert "compiling kws_model.c failed" in _refused(["firmware", "build", "--out", out], capsys)
    assert os.listdir(tmp_path) == []


def test_a_failed_firmware_rebuild_keeps_the_previous_build(monkeypatch, tmp_path, capsys):
    out = tmp_path / "build"
    (out / "generated").mkdir(parents=True)
    (out / "generated" / "kws_model.c").write_text("the previous model")
    (out / "kws.elf").write_bytes(b"the previous image")
    (out / "size.json").write_text("{}")
    before = _digests(out)
    monkeypatch.setattr("kws.firmware.image.build_image", _failing_build)
    _refused(["firmware", "build", "--out", out], capsys)
    assert _digests(out) == before and os.listdir(tmp_path) == ["build"]  # no backup left beside it


def test_a_firmware_build_does_not_take_other_files_along(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    line = _refused(["firmware", "build", "--out", tmp_path], capsys, tmp_path)
    assert "holds files that are not a firmware build (notes.txt)" in line


def test_restored_on_failure_then_success(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old").write_text("previous")
    with pytest.raises(KeyboardInterrupt), restored_on_failure(folder):  # Ctrl-C midway
        (folder / "old").write_text("half")
        raise KeyboardInterrupt
    assert (folder / "old").read_text() == "previous"
    with restored_on_failure(folder):
        (folder / "old").write_text("new")
    assert (folder / "old").read_text() == "new" and os.listdir(tmp_path) == ["out"]


def test_write_files_into_folder_removes_the_folder_it_made_on_failure(tmp_path):
    folder = tmp_path / "model"
    (tmp_path / "blocker").mkdir()
    with pytest.raises(KwsError, match="it is a directory"):
        write_files_into_folder(folder, {folder / "a.json": b"{}", tmp_path / "blocker": b"x"})
    assert not folder.exists()
    write_files_into_folder(folder, {folder / "a.json": b"{}"})
    assert (folder / "a.json").read_bytes() == b"{}"


@pytest.fixture
def wakeword_ready(monkeypatch):
    """kws wakeword train up to its data, which fails as a bad --negatives folder would."""
    pytest.importorskip("tensorflow")
    monkeypatch.setattr("kws.wakeword.tts.espeak_voices", lambda: ["en"])
    monkeypatch.setattr("kws.extras.import_tensorflow", lambda **_: None)
    calls = []

    def gather(*args, **kwargs):
        calls.append(1)
        raise KwsError("every file of --negatives was skipped")

    monkeypatch.setattr("kws.wakeword.train.gather", gather)
    return calls


def test_a_failed_wakeword_run_leaves_no_out_folder_and_the_retry_starts(wakeword_ready, tmp_path, capsys):
    argv = ["wakeword", "train", "hey nova", "--out", tmp_path / "hey_nova", "--quick", "--no-progress"]
    for attempt in (1, 2):
        assert "every file of --negatives was skipped" in _refused(argv, capsys)
        assert os.listdir(tmp_path) == [] and len(wakeword_ready) == attempt  # the retry got as far


@pytest.mark.parametrize("extra, fragment", [
    (["--out", "{tmp}/absent/hey_nova"], "absent does not exist (create it first)"),
    (["--out", "{tmp}/takes/hey_nova", "--recordings", "{tmp}/takes"], "lies inside --recordings"),
    (["--out", "{tmp}", "--negatives", "{tmp}/takes"], "holds --negatives"),
])
def test_wakeword_out_is_checked_before_anything(wakeword_ready, tmp_path, capsys, extra, fragment):
    (tmp_path / "takes").mkdir()
    argv = ["wakeword", "train", "hey nova", *[a.replace("{tmp}", str(tmp_path)) for a in extra]]
    assert fragment in _refused(argv, capsys, tmp_path / "takes")
    assert sorted(os.listdir(tmp_path)) == ["takes"] and not wakeword_ready


# --- numbers that aren't --------------------------------------------------------------------------


@pytest.mark.parametrize("option, value, fragment", [
    ("--seed", "-1", "argument --seed: must be 0 or more, not -1"),
    ("--seed", "1.5", "argument --seed: not a whole number: '1.5'"),
    ("--window", "nan", "argument --window: must be 1 to 2, not nan"),
    ("--window", "3", "argument --window: must be 1 to 2, not 3"),
    ("--target-fa-per-hour", "nan", "argument --target-fa-per-hour: must be positive, not nan"),
    ("--target-fa-per-hour", "inf", "argument --target-fa-per-hour: must be positive, not inf"),
    ("--learning-rate", "nan", "argument --learning-rate: must be more than 0 and less than 1, not nan"),
    ("--learning-rate", "-1", "argument --learning-rate: must be more than 0 and less than 1, not -1"),
    ("--voices", "0", "argument --voices: must be at least 1, not 0"),
    ("--epochs", "many", "argument --epochs: not a whole number: 'many'"),
    ("--freeze-blocks", "5", "argument --freeze-blocks: must be 0 to 4, not 5"),
    ("--mine-every", "-1", "argument --mine-every: must be 0 or more, not -1"),
])
def test_wakeword_numbers_that_arent(tmp_path, capsys, option, value, fragment):
    out = tmp_path / "x"
    assert fragment in _refused(["wakeword", "train", "hey nova", "--out", out, option, value], capsys)
    assert not out.exists()


@pytest.mark.parametrize("argv, fragment", [
    (["detect", "{wav}", "--refractory", "inf"], "argument --refractory: the refractory time"),
    (["detect", "{wav}", "--every", "1.5"], "argument --every: invalid int value: '1.5'"),
    (["detect", "{wav}", "--every", "51"], "argument --every: inference_every must be 1 to 50, not 51"),
    (["detect", "{wav}", "--smoothing", "17"], "argument --smoothing: smoothing must be 1 to 16, not 17"),
    (["firmware", "build", "--out", "x", "--smoothing", "1000"], "smoothing must be 1 to 16, not 1000"),
    (["listen", "--duration", "nan"], "argument --duration: must be positive, not nan"),
    (["listen", "--block-ms", "inf"], "argument --block-ms: must be 1 to 1000, not inf"),
    (["evaluate-stream", "--keywords-from", "k", "--negatives", "n", "--seed", "-1"], "argument --seed"),
    (["record", "hey nova", "--out", "takes", "--seconds", "nan"], "argument --seconds: must be 0.5 to 10, not nan"),
    (["record", "hey nova", "--out", "takes", "--count", "-2"], "argument --count: must be at least 1, not -2"),
])
def test_other_numbers_that_arent(wav, capsys, argv, fragment):
    assert fragment in _refused([a.replace("{wav}", str(wav)) for a in argv], capsys, wav)


def test_finite_and_whole():
    assert finite("--gain", 2) == 2.0 and whole("--count", 3, low=1) == 3
    for call, message in [
        (lambda: finite("--gain", float("nan"), above=0), "--gain must be positive, not nan"),
        (lambda: finite("--rate", 3.0, low=1, high=2), "--rate must be 1 to 2, not 3"),
        (lambda: finite("--x", float("inf")), "--x must be a finite number, not inf"),
        (lambda: whole("--count", 0, low=1), "--count must be at least 1, not 0"),
        (lambda: whole("--count", 1.5), "--count must be a whole number, not 1.5"),
        (lambda: whole("--count", True), "--count must be a whole number, not True"),
    ]:
        with pytest.raises(KwsError) as caught:
            call()
        assert str(caught.value) == message


def test_record_makes_no_tree_of_folders(tmp_path, capsys):
    line = _refused(["record", "hey nova", "--out", tmp_path / "typo" / "takes"], capsys)
    assert line.endswith("typo does not exist (create it first)") and os.listdir(tmp_path) == []


def test_firmware_build_dirs_keep_off_the_inputs(wav, model_dir, capsys):
    line = _refused(["firmware", "run", wav, "--model", model_dir, "--build-dir", wav.parent], capsys, model_dir, wav)
    assert line.endswith(f"--build-dir {wav.parent} holds FILE {wav}: name a folder apart from the inputs")
    inputs = wav.parent / "x.npy"
    np.save(inputs, np.zeros((1, 49, 10, 1), np.int8))
    assert "holds --inputs" in _refused(["firmware", "infer", "--model", model_dir, "--inputs", inputs,
                                         "--build-dir", wav.parent], capsys, model_dir, wav.parent)


# --- kws listen and kws firmware infer ------------------------------------------------------------


def test_listen_checks_its_options_before_the_microphone(monkeypatch, capsys, tmp_path):
    """On a machine without a microphone, a bad option is still reported as itself."""
    from test_cli import fake_sounddevice

    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([]))
    line = _refused(["listen", "--model", tmp_path / "absent.json"], capsys)
    assert "no such model" in line
    assert "banana" in _refused(["listen", "--keywords", "banana"], capsys)
    assert "no audio input device" in _refused(["listen"], capsys)


def test_firmware_infer_empty_inputs_and_broken_tflite(tmp_path, capsys):
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 49, 10, 1), np.int8))
    line = _refused(["firmware", "infer", "--model", DEFAULT_MODEL, "--inputs", empty], capsys)
    assert line.endswith("empty.npy holds no inputs (shape (0, 49, 10, 1)): nothing to run")
    ok = tmp_path / "ok.npy"
    np.save(ok, np.zeros((1, 49, 10, 1), np.int8))
    cut, nothing = tmp_path / "cut.tflite", tmp_path / "nothing.tflite"
    cut.write_bytes(DEFAULT_MODEL.with_suffix(".tflite").read_bytes()[:3000])
    nothing.write_bytes(b"")
    assert "cut.tflite is not a valid TFLite model" in _refused(
        ["firmware", "infer", "--model", cut, "--inputs", ok], capsys)
    assert _refused(["firmware", "infer", "--model", nothing, "--inputs", ok], capsys).endswith(
        "nothing.tflite is empty (0 bytes)")
