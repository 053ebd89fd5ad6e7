"""`kws firmware infer`: the network on the firmware's kernels in QEMU, from the command line."""

from __future__ import annotations

import json

import numpy as np
from conftest import assert_bit_exact, assert_one_error_line

from firmware_helpers import needs_toolchain
from kws.cli import main
from kws.inference import Classifier
from kws.model_file import load_model


@needs_toolchain
def test_infer_prints_reference_outputs_and_instructions(tmp_path, capsys):
    model = load_model()
    inputs = np.random.default_rng(3).integers(-128, 128, (3, model.n_frames, model.mfcc.n_mfcc, 1), dtype=np.int8)
    np.save(tmp_path / "x.npy", inputs)
    assert main(["firmware", "infer", "--model", str(model.json_path), "--inputs", str(tmp_path / "x.npy"),
                 "--json", "--build-dir", str(tmp_path / "build")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    reference = Classifier(model)
    for line, x in zip(lines, inputs):
        assert_bit_exact(np.array(line["output"], dtype=np.int8), reference.scores_from_int8(x[..., 0]), "firmware")
        assert 2_000_000 < line["instructions"] < 200_000_000  # DSP kernels (the default): about 7.3 M


def test_bad_inputs_are_one_line(tmp_path, capsys):
    model = load_model()
    np.save(tmp_path / "float.npy", np.zeros((1, 49, 10, 1), dtype=np.float32))
    (tmp_path / "junk.npy").write_text("not numpy")
    for argv in (["--inputs", str(tmp_path / "float.npy")], ["--inputs", str(tmp_path / "junk.npy")],
                 ["--inputs", str(tmp_path / "missing.npy")]):
        status = main(["firmware", "infer", "--model", str(model.json_path), *argv])
        assert_one_error_line(status, capsys.readouterr().err)
    np.save(tmp_path / "ok.npy", np.zeros((1, 49, 10, 1), dtype=np.int8))
    assert_one_error_line(main(["firmware", "infer", "--model", str(tmp_path / "nope.tflite"),
                                "--inputs", str(tmp_path / "ok.npy")]), capsys.readouterr().err)


def test_cycles_refused_on_a_core_the_estimate_does_not_model(tmp_path, capsys):
    """The estimate weighs with the Cortex-M4's timings: on the M55 board --cycles is an error,
    before anything is built (no toolchain needed)."""
    model = load_model()
    np.save(tmp_path / "ok.npy", np.zeros((1, 49, 10, 1), dtype=np.int8))
    status = main(["firmware", "infer", "--board", "qemu-mps3-an547", "--cycles", "--model", str(model.json_path),
                   "--inputs", str(tmp_path / "ok.npy")])
    err = capsys.readouterr().err
    assert_one_error_line(status, err)
    assert "cortex-m55" in err
    (tmp_path / "a.wav").write_bytes(b"")
    status = main(["firmware", "run", "--board", "qemu-mps3-an547", "--cycles", str(tmp_path / "a.wav")])
    err = capsys.readouterr().err
    assert_one_error_line(status, err)
    assert "cortex-m55" in err
