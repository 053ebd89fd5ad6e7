"""Training, distillation, int8 export and the model file: --quick runs on a synthetic corpus."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line
from corpus import make_corpus

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytest.importorskip("tensorflow")

from kws.cli import main  # noqa: E402
from kws.data.speech_commands import LABELS  # noqa: E402
from kws.teachers.embedding import available as embedding_available  # noqa: E402

# The firmware's op set: the exported graph must stay inside it, with no SHAPE or RESHAPE.
FIRMWARE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "speech_commands")


@pytest.fixture(scope="module")
def quick_run(corpus, tmp_path_factory) -> tuple[Path, Path]:
    """One `kws train --quick --export` run shared by the tests that inspect its outputs."""
    work = tmp_path_factory.mktemp("run")
    run_dir, model = work / "run", work / "quick.json"
    status = main(["train", "--quick", "--data", str(corpus), "--run", str(run_dir), "--export", str(model),
                   "--validation-percent", "34", "--cache", str(work / "cache"), "--no-progress"])
    assert status == 0
    return run_dir, model


def test_run_directory_holds_everything(quick_run):
    run_dir, _ = quick_run
    for name in ("config.json", "labels.json", "split.json", "history.csv", "checkpoint.npz", "best.weights.npz",
                 "metrics.json", "curves.png", "confusion.png"):
        assert (run_dir / name).stat().st_size > 0, name
    assert json.loads((run_dir / "labels.json").read_text()) == list(LABELS)
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 3  # header + 3 quick epochs
    split = json.loads((run_dir / "split.json").read_text())
    assert split["validation_speakers"] and split["validation_clips"] > 0
    assert split["method"].startswith("speaker hash")


def test_validation_speakers_are_held_out(quick_run):
    run_dir, _ = quick_run
    split = json.loads((run_dir / "split.json").read_text())
    held = set(split["validation_speakers"])
    for path in split["validation_files"]:
        assert Path(path).stem.split("_nohash_")[0] in held
    config = json.loads((run_dir / "config.json").read_text())
    from kws.data.speech_commands import scan, speaker_holdout

    clips, _ = scan(config["data"][0])
    train, _ = speaker_holdout(clips, percent=config["validation_percent"])
    assert not held & {c.speaker for c in train}


def test_a_run_without_folds_records_no_folds(quick_run):
    """The fold settings appear only in k-fold runs: other runs and models read as before."""
    run_dir, model_path = quick_run
    assert "folds" not in json.loads((run_dir / "config.json").read_text())
    assert "test_fold" not in json.loads(model_path.read_text())["accuracy"]
    assert not (run_dir / "test.npz").exists()


def test_fold_run_tests_on_a_fold_it_never_saw(corpus, tmp_path, capsys):
    """--folds K --fold I: fold I is tested apart, the epoch is chosen on other speakers."""
    from kws.data.speech_commands import scan, speaker_fold

    clips, _ = scan(corpus)
    fold = speaker_fold(clips[0].group, folds=3)  # a fold that has speakers
    run_dir, model = tmp_path / "run", tmp_path / "fold.json"
    assert main(["train", "--quick", "--data", str(corpus), "--run", str(run_dir), "--export", str(model),
                 "--folds", "3", "--fold", str(fold), "--validation-percent", "34", "--cache", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"test fold {fold} of 3" in out
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["folds"], config["fold"]) == (3, fold)
    split = json.loads((run_dir / "split.json").read_text())
    assert (split["folds"], split["fold"], split["inner_validation_percent"]) == (3, fold, 34)
    test_speakers = set(split["test_speakers"])
    assert test_speakers and split["test_files"]
    assert {speaker_fold(s, folds=3) for s in test_speakers} == {fold}
    assert not test_speakers & set(split["validation_speakers"])
    assert all(Path(p).stem.split("_nohash_")[0] in test_speakers for p in split["test_files"])
    assert not {Path(p) for p in split["test_files"]} & {Path(p) for p in split["validation_files"]}
    test = json.loads(model.read_text())["accuracy"]["test_fold"]
    clips = split["test_clips"] + split["generated_test_silence"]
    assert (test["fold"], test["folds"], test["clips"]) == (fold, 3, clips)
    assert 0 <= test["tflite_int8_reference_kernels"] <= 1 and set(test["int8_recall"]) == set(LABELS)


@pytest.mark.parametrize("folds", [0, 3])
def test_synthetic_speakers_only_ever_train(corpus, tmp_path, folds):
    """A folder `kws data synthesize` wrote is trained on, never validated or tested on: its
    fake speakers would otherwise land in a test fold or the hold-out by hash."""
    from kws.data.synthetic import MARKER
    from kws.training import TrainConfig, prepare_data

    fake = make_corpus(tmp_path / "tts", speakers=8, takes=1)
    (fake / MARKER).write_text('{"made_by": "kws data synthesize"}')
    for fold in range(max(1, folds)):
        config = TrainConfig(data=(str(corpus), str(fake)), folds=folds, fold=fold, validation_percent=34)
        data = prepare_data(config, cache_dir=tmp_path / "cache")
        held = data.val_paths + (data.test_paths if folds else [])
        assert held and not [p for p in held if Path(p).is_relative_to(fake)], held
        without = prepare_data(TrainConfig(data=(str(corpus),), folds=folds, fold=fold, validation_percent=34),
                               cache_dir=tmp_path / "cache")
        n_fake = sum(1 for p in fake.rglob("*.wav") if p.parent.name != "_background_noise_")
        assert data.split["training_clips"] == without.split["training_clips"] + n_fake
        assert data.val_paths == without.val_paths


def test_refused_data_leaves_no_run_that_blocks_the_retry(corpus, tmp_path, capsys):
    """Data without background noise is refused before the run directory exists; the retry
    with other settings and good data then trains there."""
    bare = tmp_path / "bare"
    shutil.copytree(corpus, bare, ignore=shutil.ignore_patterns("_background_noise_"))
    run_dir = tmp_path / "run"
    code = main(["train", "--quick", "--data", str(bare), "--run", str(run_dir), "--no-progress"])
    assert "_background_noise_" in assert_one_error_line(code, capsys.readouterr().err)
    assert not run_dir.exists()
    assert main(["train", "--quick", "--epochs", "1", "--data", str(corpus), "--run", str(run_dir),
                 "--validation-percent", "34", "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0


@pytest.mark.parametrize("command, flags, says", [
    ("train", ["--epochs", "0"], "--epochs must be at least 1"),
    ("train", ["--batch-size", "-8"], "--batch-size must be at least 1"),
    ("train", ["--seed", "-1"], "--seed must be 0 or more"),
    ("train", ["--learning-rate", "nan"], "--learning-rate must be positive"),
    ("train", ["--validation-percent", "100"], "--validation-percent must be"),
    ("distill", ["--teacher", "runs/t", "--alpha", "1.5"], "--alpha must be 0 to 1"),
    ("distill", ["--teacher", "runs/t", "--temperature", "0"], "--temperature must be positive"),
    ("distill", ["--teacher", "runs/t", "--mixup", "-1"], "--mixup must be 0 or more"),
    ("train", ["--prune-to", "0"], "--prune-to: must be at least 1, not 0"),
    ("train", ["--prune-to", "-8"], "--prune-to: must be at least 1, not -8"),
    ("train", ["--prune-to", "nan"], "--prune-to: not a whole number"),
    ("train", ["--prune-to", "64"], "--prune-to must be 1 to 63 (narrower than ds-cnn-s's 64 channels), not 64"),
    ("train", ["--prune-to", "96"], "--prune-to must be 1 to 63"),
    ("train", ["--prune-to", "32", "--prune-epochs", "0"], "--prune-epochs: must be at least 1, not 0"),
    ("train", ["--prune-epochs", "2"], "--prune-epochs needs --prune-to WIDTH"),
    ("distill", ["--teacher", "runs/t", "--prune-to", "64"], "--prune-to must be 1 to 63"),
])
def test_numbers_a_run_cannot_use_are_refused(corpus, tmp_path, capsys, command, flags, says):
    code = main([command, "--quick", *flags, "--data", str(corpus), "--run", str(tmp_path / "run")])
    assert says in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_a_wav_given_as_config_is_one_line(corpus, tmp_path, capsys):
    wav = sorted((corpus / "yes").glob("*.wav"))[0]
    code = main(["train", str(wav), "--quick", "--data", str(corpus), "--run", str(tmp_path / "run")])
    assert "not a config file" in assert_one_error_line(code, capsys.readouterr().err)


def test_numbers_from_a_config_file_are_checked_too(corpus, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("epochs = 25\nalpha = nan\n")
    code = main(["train", str(config), "--quick", "--data", str(corpus), "--run", str(tmp_path / "run")])
    assert "--alpha must be 0 to 1" in assert_one_error_line(code, capsys.readouterr().err)


@pytest.mark.parametrize("text, says", [
    ("prune_to = 64\n", "--prune-to must be 1 to 63"),
    ("prune_to = nan\n", "--prune-to must be a whole number, not nan"),
    ("prune_to = -4\n", "--prune-to must be 0 or more, not -4"),
    ("prune_epochs = 3\n", "--prune-epochs needs --prune-to WIDTH"),
])
def test_pruning_from_a_config_file_is_checked_too(corpus, tmp_path, capsys, text, says):
    config = tmp_path / "prune.toml"
    config.write_text(text)
    code = main(["train", str(config), "--quick", "--data", str(corpus), "--run", str(tmp_path / "run")])
    assert says in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags", [["--folds", "3", "--fold", "3"], ["--fold", "1"], ["--folds", "1"]])
def test_impossible_folds_are_refused(corpus, tmp_path, capsys, flags):
    code = main(["train", "--quick", "--data", str(corpus), "--run", str(tmp_path / "run"), "--no-progress", *flags])
    assert "fold" in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_exported_model_is_int8_batch1_in_the_firmware_op_set(quick_run):
    _check_int8_export(quick_run[1])


def _check_int8_export(model_path: Path):
    """The exported model's int8 contract: the firmware's ops, batch 1, the input rule's scale;
    returns the loaded model."""
    from kws.model_file import load_model

    model = load_model(model_path)
    assert set(model.architecture["ops"]) <= FIRMWARE_OPS
    assert model.input_quantization.zero_point == 0
    assert model.input_quantization.scale == pytest.approx(model.input_rule.input_scale, rel=1e-6)
    assert model.output_quantization.scale == pytest.approx(1 / 256) and model.output_quantization.zero_point == -128
    assert model.labels == LABELS and model.mfcc.to_dict() == model.to_document()["mfcc"]
    accuracy = model.accuracy
    for stage in ("keras_float", "tflite_float", "tflite_int8_reference_kernels"):
        assert 0.0 <= accuracy[stage] <= 1.0
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model.tflite)
    detail = interpreter.get_input_details()[0]
    assert tuple(detail["shape"]) == (1, 49, 10, 1) and detail["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    return model


def test_pruned_run_exports_the_narrower_model(corpus, tmp_path, capsys):
    """--prune-to: the full width trains, its best epoch is pruned and fine-tuned, and the run's
    model (exported to int8 like any) is the pruned one."""
    run_dir, model_path = tmp_path / "run", tmp_path / "pruned.json"
    assert main(["train", "--quick", "--prune-to", "24", "--data", str(corpus), "--run", str(run_dir),
                 "--export", str(model_path), "--validation-percent", "34", "--cache", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    assert "pruned to 24 channels" in capsys.readouterr().out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["prune_to"] == 24 and "prune_epochs" not in config
    assert len((run_dir / "wide.history.csv").read_text().splitlines()) == 1 + 3  # the quick epochs
    assert len((run_dir / "history.csv").read_text().splitlines()) == 1 + 1  # a third of them, fine-tuning
    metrics = json.loads((run_dir / "metrics.json").read_text())
    pruned = metrics["pruned"]
    assert (pruned["from_channels"], pruned["to_channels"], pruned["fine_tuning_epochs"]) == (64, 24, 1)
    assert metrics["macs"] < pruned["wide_macs"] and metrics["parameters"] < pruned["wide_parameters"]
    for accuracy in ("wide_keras_float_val_accuracy", "before_fine_tuning_keras_float_val_accuracy"):
        assert 0.0 <= pruned[accuracy] <= 1.0
    model = _check_int8_export(model_path)
    assert model.architecture["channels"] == 24 and model.architecture["macs"] == metrics["macs"]
    assert model.training["config"]["prune_to"] == 24
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model.tflite)
    interpreter.allocate_tensors()
    widths = {tuple(t["shape"])[-1] for t in interpreter.get_tensor_details() if len(t["shape"]) == 4}
    assert 24 in widths and 64 not in widths


def test_student_size_is_hello_edge_ds_cnn_s(quick_run):
    from kws.model_file import load_model

    _, model_path = quick_run
    architecture = load_model(model_path).architecture
    assert architecture["channels"] == 64 and architecture["blocks"] == 4
    # 22.6 k parameters once batch norms fold into the convolutions; Keras also counts their
    # moving statistics and scales.
    assert 2_600_000 <= architecture["macs"] <= 2_750_000


def test_recorded_int8_accuracy_is_what_evaluate_measures(quick_run, corpus, tmp_path):
    """The accuracy stored in the model equals a fresh LiteRT (reference kernels) run."""
    from kws.data.feature_cache import clip_features
    from kws.exporting import int8_accuracy
    from kws.model_file import load_model

    run_dir, model_path = quick_run
    split = json.loads((run_dir / "split.json").read_text())
    model = load_model(model_path)
    files = [Path(p) for p in split["validation_files"]]
    features = clip_features(files, config=model.mfcc, clip_samples=model.clip_samples, cache_dir=tmp_path)
    with np.load(run_dir / "validation.npz") as archive:
        # The files, then the generated background-noise clips standing in for _silence_.
        assert split["generated_validation_silence"] > 0
        assert np.array_equal(archive["features"][: len(files)], features)
        features, labels = archive["features"], archive["labels"]
    assert (labels[len(files):] == LABELS.index("_silence_")).all()
    accuracy, _ = int8_accuracy(model_path, features, labels)
    assert accuracy == model.accuracy["tflite_int8_reference_kernels"]


def test_classify_json_lines(quick_run, corpus, capsys):
    _, model_path = quick_run
    files = sorted((corpus / "yes").glob("*.wav"))[:2]
    assert main(["classify", "--model", str(model_path), "--json", *map(str, files)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, files):
        record = json.loads(line)
        assert record["path"] == str(path) and record["label"] in LABELS
        assert set(record["scores"]) == set(LABELS)
        assert record["score"] == max(record["scores"].values())
        assert abs(sum(record["scores"].values()) - 1.0) < 0.05  # int8 softmax, steps of 1/256


def test_evaluate_reports_accuracy_recall_and_confusion(quick_run, corpus, capsys, tmp_path):
    _, model_path = quick_run
    assert main(["evaluate", "--model", str(model_path), "--json", str(corpus), "--cache", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    matrix = np.array(report["confusion"])
    assert matrix.shape == (12, 12) and matrix.sum() == report["clips"]
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert set(report["recall"]) == set(LABELS)


def test_evaluate_says_when_it_scores_people_the_model_trained_on(quick_run, corpus, capsys, tmp_path):
    """The model records its training speakers; a folder holding them gets a note, and a
    folder of new speakers none. A model without the record is judged by its folders' names."""
    from kws.data.speech_commands import scan

    run_dir, model_path = quick_run
    recorded = set(json.loads(model_path.read_text())["training"]["speakers"])
    assert recorded == set(json.loads((run_dir / "split.json").read_text())["training_speaker_ids"])
    assert main(["evaluate", "--model", str(model_path), str(corpus), "--cache", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"of the {len({c.speaker for c in scan(corpus)[0] if c.speaker})} speakers scored" in err
    assert "not on new people" in err
    new_people = make_corpus(tmp_path / "others", speakers=2, takes=1)
    for path in list(new_people.rglob("a*_nohash_*.wav")):
        path.rename(path.with_name("f" + path.name[1:]))  # speaker ids no run has seen
    assert main(["evaluate", "--model", str(model_path), str(new_people), "--cache", str(tmp_path)]) == 0
    assert "not on new people" not in capsys.readouterr().err
    # An older model file, without the record: the folder name decides.
    document = json.loads(model_path.read_text())
    del document["training"]["speakers"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    shutil.copy(model_path.with_suffix(".tflite"), old.with_suffix(".tflite"))
    old_doc = json.loads(old.read_text())
    old_doc["tflite"] = "old.tflite"
    old.write_text(json.dumps(old_doc))
    assert main(["evaluate", "--model", str(old), str(corpus), "--cache", str(tmp_path)]) == 0
    assert f"trained on a folder named {corpus.name}" in capsys.readouterr().err


def test_evaluate_split_scores_only_that_split(quick_run, tmp_path, capsys):
    """With official lists, --split testing scores exactly the clips of testing_list.txt."""

    _, model_path = quick_run
    corpus = make_corpus(tmp_path / "listed", speakers=3, takes=1)
    tested = ["yes/a0000001_nohash_0.wav", "no/a0000002_nohash_0.wav", "bed/a0000000_nohash_0.wav"]
    (corpus / "testing_list.txt").write_text("\n".join(tested) + "\n")
    (corpus / "validation_list.txt").write_text("up/a0000000_nohash_0.wav\n")
    cache = str(tmp_path / "cache")
    assert main(["evaluate", "--model", str(model_path), "--json", "--split", "testing", str(corpus), "--cache", cache]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "testing" and report["clips"] == len(tested)
    assert np.array(report["confusion"]).sum(axis=1)[[LABELS.index("yes"), LABELS.index("no"), LABELS.index("_unknown_")]].tolist() == [1, 1, 1]
    assert main(["evaluate", "--model", str(model_path), "--json", str(corpus), "--cache", cache]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["clips"] == 12 * 3  # 10 keywords + 2 unknown words, 3 speakers each
    assert "--split testing" in captured.err  # the note that training clips are scored too


def test_corrupt_or_missing_model_is_refused(quick_run, tmp_path, capsys, corpus):
    _, model_path = quick_run
    bad = tmp_path / "bad.json"
    bad.write_text(model_path.read_text())
    weights = bytearray(model_path.with_suffix(".tflite").read_bytes())
    weights[len(weights) // 2] ^= 0xFF
    (tmp_path / "quick.tflite").write_bytes(bytes(weights))  # bad.json names quick.tflite
    wav = str(sorted((corpus / "yes").glob("*.wav"))[0])
    for model in (str(bad), str(tmp_path / "missing.json"), str(wav)):
        assert_one_error_line(main(["classify", "--model", model, wav]), capsys.readouterr().err)


@pytest.mark.parametrize("damage", ["truncated", "not an npz", "other arrays"])
def test_damaged_weights_are_one_line_and_leave_nothing(quick_run, tmp_path, capsys, corpus, damage):
    """A truncated or foreign best.weights.npz / checkpoint.npz: export and a resumed train each
    say so in one line naming the file; export writes nothing."""
    run_dir = tmp_path / "run"
    shutil.copytree(quick_run[0], run_dir)
    for name in ("best.weights.npz", "checkpoint.npz"):
        path = run_dir / name
        content = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(content[: len(content) // 2])
        elif damage == "not an npz":
            path.write_bytes(b"weights" * 100)
        else:
            np.savez(path, w0000=np.zeros(3), epoch=np.array(1), history=np.array("[]"))
    out = tmp_path / "out.json"
    err = assert_one_error_line(main(["export", str(run_dir), "--out", str(out)]), capsys.readouterr().err)
    assert "best.weights.npz" in err and not out.exists() and not out.with_suffix(".tflite").exists()
    (run_dir / "model.json").unlink(missing_ok=True)
    config = json.loads((run_dir / "config.json").read_text())
    code = main(["train", "--quick", "--data", *config["data"], "--run", str(run_dir), "--validation-percent", "34",
                 "--cache", str(tmp_path / "cache"), "--no-progress"])
    assert "checkpoint.npz" in assert_one_error_line(code, capsys.readouterr().err)


def test_export_never_writes_over_the_run_it_reads(quick_run, tmp_path, capsys, corpus):
    """--out onto the run's own config.json or labels.json, a .tflite path or a missing folder:
    one line, every run file unchanged; an earlier export in the run folder may be replaced."""
    run_dir = tmp_path / "run"
    shutil.copytree(quick_run[0], run_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    for out, says in ((run_dir / "config.json", "destroy"), (run_dir / "labels.json", "destroy"),
                      (tmp_path / "m.tflite", "name the model's .json"), (tmp_path / "no" / "m.json", "does not exist")):
        err = assert_one_error_line(main(["export", str(run_dir), "--out", str(out)]), capsys.readouterr().err)
        assert says in err, err
        assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "no").exists()
    for _ in range(2):  # the default place, then again over that export
        assert main(["export", str(run_dir)]) == 0
    size = (run_dir / "model.tflite").stat().st_size
    assert f"wrote {run_dir / 'model.json'} + model.tflite (int8 network {size} bytes)" in capsys.readouterr().out
    assert (run_dir / "model.json").exists() and (run_dir / "config.json").read_bytes() == before["config.json"]
    # kws train --export checks the path before it trains
    code = main(["train", "--quick", "--data", str(corpus), "--run", str(tmp_path / "new"),
                 "--export", str(tmp_path / "no" / "m.json"), "--no-progress"])
    assert "does not exist" in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "new").exists()


def test_interrupted_run_resumes(corpus, tmp_path, monkeypatch, capsys):
    """Stop after the first epoch; the same command continues from the checkpoint."""
    import kws.training as training

    real_epoch_data = training.epoch_data
    calls = {"n": 0}

    def interrupted(data, config, epoch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # epoch 0 trains, then stop at epoch 1
            raise KeyboardInterrupt
        return real_epoch_data(data, config, epoch, **kwargs)

    arguments = ["train", "--quick", "--data", str(corpus), "--run", str(tmp_path / "run"),
                 "--cache", str(tmp_path / "cache"), "--no-progress"]
    monkeypatch.setattr(training, "epoch_data", interrupted)
    assert main(arguments) == 130
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 2
    monkeypatch.setattr(training, "epoch_data", real_epoch_data)
    assert main(arguments) == 0
    assert "resuming" in capsys.readouterr().out
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3"]


def test_interrupted_fine_tuning_resumes_without_the_wide_phase(corpus, tmp_path, monkeypatch, capsys):
    """Stopped in fine-tuning, a pruned run goes straight back to it: the wide epochs are not
    drawn again, and fine-tuning draws epochs of its own after them."""
    import kws.training as training

    real_epoch_data = training.epoch_data
    drawn: list[int] = []

    def interrupted(data, config, epoch, **kwargs):
        if len(drawn) == 4:  # 3 wide epochs and fine-tuning's first, then stop
            raise KeyboardInterrupt
        drawn.append(epoch)
        return real_epoch_data(data, config, epoch, **kwargs)

    arguments = ["train", "--quick", "--prune-to", "16", "--prune-epochs", "2", "--data", str(corpus),
                 "--run", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--no-progress"]
    monkeypatch.setattr(training, "epoch_data", interrupted)
    assert main(arguments) == 130
    assert drawn == [0, 1, 2, 3]
    drawn.clear()
    monkeypatch.setattr(training, "epoch_data", lambda *a, **k: (drawn.append(a[2]), real_epoch_data(*a, **k))[1])
    assert main(arguments) == 0
    assert drawn == [4]
    assert "resuming" in capsys.readouterr().out
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2"]


def test_official_lists_decide_the_split(corpus, tmp_path):
    """With validation_list.txt/testing_list.txt, validation is the official list, and testing
    clips are never trained on."""
    import shutil

    from dataclasses import replace

    from kws.training import TrainConfig, prepare_data

    root = tmp_path / "sc"
    shutil.copytree(corpus, root)
    (root / "validation_list.txt").write_text("yes/a0000001_nohash_0.wav\nno/a0000001_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/a0000002_nohash_0.wav\n")
    data = prepare_data(TrainConfig(data=(str(root),)), cache_dir=tmp_path / "cache")
    assert [Path(p).relative_to(root).as_posix() for p in data.val_paths] == [
        "no/a0000001_nohash_0.wav", "yes/a0000001_nohash_0.wav"]
    assert data.split["method"] == "the corpus' official validation list"
    everything = prepare_data(replace(TrainConfig(data=(str(root),)), validation_percent=0), cache_dir=tmp_path / "cache")
    assert len(everything.train_audio) == len(data.train_audio) + 2  # validation joins; testing never


def test_distill_trains_a_student_from_a_teacher(quick_run, corpus, tmp_path):
    run_dir, _ = quick_run
    student = tmp_path / "student"
    assert main(["distill", "--quick", "--teacher", str(run_dir), "--data", str(corpus), "--run", str(student),
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    config = json.loads((student / "config.json").read_text())
    assert config["teacher"] == str(run_dir) and config["architecture"] == "ds-cnn-s"
    assert json.loads((student / "metrics.json").read_text())["distilled_from"] == str(run_dir)


def test_a_distilled_student_is_pruned_and_fine_tuned_from_the_same_teacher(quick_run, corpus, tmp_path):
    run_dir, _ = quick_run
    student = tmp_path / "student"
    assert main(["distill", "--quick", "--teacher", str(run_dir), "--prune-to", "32", "--data", str(corpus),
                 "--run", str(student), "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["distilled_from"] == str(run_dir) and metrics["pruned"]["to_channels"] == 32
    from kws.training import load_run_model

    model, _ = load_run_model(student)
    assert model.get_layer("pw_4").kernel.shape == (1, 1, 32, 32)


@pytest.mark.skipif(not embedding_available(), reason="pyopen-wakeword is not installed")
def test_distill_from_the_speech_embedding(corpus, tmp_path, capsys):
    """`--teacher embedding`: a head trained on the run's training clips labels each epoch's
    audio; the run, its metrics and the exported model say what taught the student."""
    from kws.model_file import load_model
    from kws.teachers import EMBEDDING, describe_teacher

    student, model = tmp_path / "student", tmp_path / "student.json"
    assert main(["distill", "--quick", "--teacher", "embedding", "--data", str(corpus), "--run", str(student),
                 "--validation-percent", "34", "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--export", str(model)]) == 0
    assert "embedding teacher: validation accuracy" in capsys.readouterr().out
    assert json.loads((student / "config.json").read_text())["teacher"] == EMBEDDING
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["distilled_from"] == describe_teacher(EMBEDDING) and 0 <= metrics["teacher_val_accuracy"] <= 1
    assert (student / "embedding_teacher.npz").exists() and any((tmp_path / "cache" / "speech-embedding").iterdir())
    assert load_model(model).training["distilled_from"] == describe_teacher(EMBEDDING)
    assert main(["distill", "--quick", "--teacher", "embedding", "--mixup", "0.4", "--data", str(corpus),
                 "--run", str(tmp_path / "mixed")]) == 2
    assert main(["distill", "--quick", "--teacher", "embedding", "runs/x", "--data", str(corpus),
                 "--run", str(tmp_path / "both")]) == 2


@pytest.mark.skipif(not embedding_available(), reason="pyopen-wakeword is not installed")
def test_cross_fitted_teacher_never_labels_a_speaker_it_learnt(corpus, tmp_path, monkeypatch):
    """--teacher-cross-fit 2: two heads, each trained without one part of the speakers; no
    training clip of a part is in the audio its head learnt from."""
    from kws import training
    from kws.teachers.cross_fit import part_path
    from kws.teachers.embedding import EmbeddingTeacher

    learnt: list[np.ndarray] = []
    real_fit = EmbeddingTeacher.fit.__func__

    def recording_fit(cls, audio, labels, *args, **kwargs):
        learnt.append(np.concatenate([part for part in audio if len(part)]))
        return real_fit(cls, audio, labels, *args, **kwargs)

    monkeypatch.setattr(EmbeddingTeacher, "fit", classmethod(recording_fit))
    seen = {}
    real_fit_teacher = training.fit_embedding_teacher

    def keep(data, config, path, **kwargs):
        teacher = real_fit_teacher(data, config, path, **kwargs)
        seen.update(data=data, teacher=teacher)
        return teacher

    monkeypatch.setattr(training, "fit_embedding_teacher", keep)
    student = tmp_path / "student"
    assert main(["distill", "--quick", "--teacher", "embedding", "--teacher-cross-fit", "2", "--data", str(corpus),
                 "--run", str(student), "--validation-percent", "34", "--cache", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    assert json.loads((student / "config.json").read_text())["teacher_cross_fit"] == 2
    assert all(part_path(student / "embedding_teacher.npz", j).exists() for j in range(2))
    data, teacher = seen["data"], seen["teacher"]
    assert len(learnt) == 2 and set(teacher.clip_parts) == {0, 1}
    for j, audio in enumerate(learnt):
        rows = {clip.tobytes() for clip in audio}
        own = data.train_audio[teacher.clip_parts == j]
        others = data.train_audio[teacher.clip_parts == 1 - j]
        assert not [k for k, clip in enumerate(own) if clip.tobytes() in rows], f"head {j} learnt its own part"
        assert all(clip.tobytes() in rows for clip in others)
    # Each clip's logits come from its own part's head; audio from no clip gets their mean.
    sources = np.arange(len(data.train_audio))
    logits = teacher.logits(data.train_audio, sources)
    for j, head in enumerate(teacher.heads):
        mine = teacher.clip_parts == j
        np.testing.assert_allclose(logits[mine], head.logits(data.train_audio[mine]), rtol=1e-5, atol=1e-5)
    mean = np.mean([head.logits(data.train_audio[:3]) for head in teacher.heads], axis=0)
    np.testing.assert_allclose(teacher.logits(data.train_audio[:3], np.full(3, -1)), mean, rtol=1e-5, atol=1e-5)


def test_a_clean_teacher_labels_each_clip_once_and_silence_as_drawn():
    """--teacher-hears clean: a drawn example gets its clean clip's logits whatever its
    augmentation; silence (source -1) is labelled as it is."""
    from kws.training import PreparedData, _clean_labeller

    calls = []

    def teacher(audio, sources):
        calls.append(len(audio))
        return np.stack([audio[:, :3].sum(axis=1), sources, -sources], axis=1).astype(np.float32)

    clips = np.arange(12, dtype=np.int16).reshape(4, 3)
    data = PreparedData(train_audio=clips, train_labels=np.zeros(4, int), silence_audio=clips[:0], noise=[],
                        val_features=clips, val_audio=clips, val_labels=np.zeros(4, int), val_paths=[], rule=None,
                        calibration=clips, calibration_paths=[], split={})
    label = _clean_labeller(teacher, data)
    assert calls == [4]
    drawn = np.full((3, 3), 100, np.int16)  # augmented audio: not what the clean clips hold
    out = label(drawn, np.array([2, -1, 0]))
    np.testing.assert_array_equal(out[0], [sum(clips[2]), 2, -2])
    np.testing.assert_array_equal(out[2], [sum(clips[0]), 0, 0])
    np.testing.assert_array_equal(out[1], [300, -1, 1])  # silence: heard as drawn
    assert calls == [4, 1]


@pytest.mark.skipif(not embedding_available(), reason="pyopen-wakeword is not installed")
def test_filter_drops_the_synthetic_clips_the_teacher_does_not_hear_as_their_word(corpus, tmp_path):
    """--filter-synthetic: a synthetic folder whose `yes` clips say another word loses them;
    the real clips all stay."""
    from kws.data.synthetic import MARKER

    fake = make_corpus(tmp_path / "tts", speakers=6, takes=1)
    (fake / MARKER).write_text('{"made_by": "kws data synthesize"}')
    for path in (fake / "yes").glob("*.wav"):  # "yes" clips that say "stop"
        shutil.copy(fake / "stop" / path.name, path)
    run_dir = tmp_path / "run"
    assert main(["train", "--quick", "--filter-synthetic", "--data", str(corpus), "--data", str(fake),
                 "--run", str(run_dir), "--validation-percent", "34", "--cache", str(tmp_path / "cache"),
                 "--no-progress"]) == 0
    kept = json.loads((run_dir / "metrics.json").read_text())["synthetic_filter"]
    assert kept["yes"]["of"] == 6 and kept["yes"]["kept"] == 0, kept
    right = sum(r["kept"] for label, r in kept.items() if label != "yes")
    assert right >= 0.8 * sum(r["of"] for label, r in kept.items() if label != "yes"), kept
    assert json.loads((run_dir / "config.json").read_text())["filter_synthetic"] is True


@pytest.mark.parametrize("flags", [["--teacher-cross-fit", "1"], ["--teacher-cross-fit", "-2"]])
def test_impossible_cross_fits_are_refused(corpus, tmp_path, capsys, flags):
    code = main(["distill", "--quick", "--teacher", "embedding", *flags, "--data", str(corpus),
                 "--run", str(tmp_path / "run")])
    assert "--teacher-cross-fit" in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()
    code = main(["distill", "--quick", "--teacher", str(tmp_path), "--teacher-cross-fit", "2", "--data", str(corpus),
                 "--run", str(tmp_path / "run")])
    assert "--teacher-cross-fit" in assert_one_error_line(code, capsys.readouterr().err)


def test_teacher_runs_are_paths_and_embedding_is_a_word():
    from kws.cli import build_parser
    from kws.commands.train import build_config

    def teacher(*names: str) -> str:
        return build_config(build_parser().parse_args(["distill", "--teacher", *names, "--data", "d"])).teacher

    assert teacher("runs/t/") == "runs/t" and teacher("a", "b/") == "a,b"
    assert teacher("embedding") == "embedding" and teacher("./embedding") == "./embedding"


def test_several_teachers_make_an_ensemble_of_mean_logits(quick_run, tmp_path):
    import dataclasses

    from kws.training import load_run_model, load_teacher, read_run_config

    run_dir, _ = quick_run
    # A second "teacher": the same run, its weights scaled, so the two disagree.
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    single, _ = load_run_model(run_dir)
    with np.load(run_dir / "best.weights.npz") as archive:
        scaled = {key: archive[key] * (1.5 if archive[key].ndim > 1 else 1.0) for key in archive.files}
    np.savez(other / "best.weights.npz", **scaled)
    second, _ = load_run_model(other)
    config = dataclasses.replace(read_run_config(run_dir), teacher=f"{run_dir},{other}")
    ensemble = load_teacher(config)
    x = np.random.default_rng(0).normal(size=(4, *single.input_shape[1:])).astype("float32")
    expected = (single.predict(x, verbose=0) + second.predict(x, verbose=0)) / 2
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(single.predict(x, verbose=0), second.predict(x, verbose=0))


def test_distillation_loss_formula():
    """alpha * CE + (1 - alpha) * T^2 * KL(teacher_T || student_T), checked against numpy."""
    import keras

    from kws.model.distill import Distiller

    rng = np.random.default_rng(1)
    student_logits = rng.normal(size=(5, 12)).astype("float32")
    teacher_logits = rng.normal(size=(5, 12)).astype("float32")
    labels = rng.integers(0, 12, 5)
    distiller = Distiller(keras.Sequential([keras.layers.Identity()]), keras.Sequential([keras.layers.Identity()]),
                          temperature=3.0, alpha=0.25)
    got = float(distiller._loss(labels, student_logits, teacher_logits))

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    ce = -np.log(softmax(student_logits)[np.arange(5), labels]).mean()
    p, q = softmax(teacher_logits / 3.0), softmax(student_logits / 3.0)
    kl = (p * (np.log(p) - np.log(q))).sum(axis=1).mean()
    assert got == pytest.approx(0.25 * ce + 0.75 * 9.0 * kl, rel=1e-5)


def test_mixup_blends_inputs_and_the_hard_loss():
    """mix_batch blends inputs with a permuted copy by lam; the hard loss is then the same blend of
    the two cross-entropies (numpy reference); a Distiller with mixup trains to a finite loss."""
    import keras
    import tensorflow as tf

    from kws.model.distill import Distiller, mix_batch

    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(4, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1])
    order = np.array([2, 0, 3, 1])
    mixed, first, second, lam = mix_batch(tf.constant(inputs), tf.constant(labels), 0.4, lam=0.3,
                                          order=tf.constant(order))
    np.testing.assert_allclose(mixed.numpy(), 0.3 * inputs + 0.7 * inputs[order], rtol=1e-6)
    np.testing.assert_array_equal(second.numpy(), labels[order])
    np.testing.assert_array_equal(first.numpy(), labels)

    logits = rng.normal(size=(4, 3)).astype("float32")
    student = keras.Sequential([keras.layers.Identity()])
    distiller = Distiller(student, None, mixup=0.4)
    got = float(distiller._loss(labels, logits, None, tf.constant(labels[order]), tf.constant(0.3)))
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    want = -(0.3 * log_p[np.arange(4), labels] + 0.7 * log_p[np.arange(4), labels[order]]).mean()
    assert got == pytest.approx(want, rel=1e-5)

    keras.utils.set_random_seed(0)
    student = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    teacher = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model = Distiller(student, teacher, mixup=0.4)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [w.copy() for w in student.get_weights()]
    history = model.fit(np.tile(inputs, (8, 1)), np.tile(labels, 8), batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, student.get_weights()))


def test_config_file_and_flags(tmp_path, corpus):
    from kws.commands.train import build_config
    from kws.cli import build_parser

    config_file = tmp_path / "c.toml"
    config_file.write_text('epochs = 7\nseed = 3\n[augment]\nsnr_db = [5.0, 15.0]\n')
    args = build_parser().parse_args(["train", str(config_file), "--seed", "9", "--data", str(corpus)])
    config = build_config(args)
    assert (config.epochs, config.seed, config.augment.snr_db) == (7, 9, (5.0, 15.0))
    config_file.write_text("epochs = 7\nbogus = 1\n")
    assert main(["train", str(config_file), "--data", str(corpus)]) == 2


def test_mirrored_strategy_trains_on_two_replicas(corpus, tmp_path):
    """tf.distribute.MirroredStrategy over two logical CPU devices (a fresh process: devices
    must be configured before TensorFlow starts)."""
    import subprocess
    import sys

    script = f"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from kws.cli import main
sys.exit(main(["train", "--quick", "--data", {str(corpus)!r}, "--run", {str(tmp_path / 'run')!r},
               "--cache", {str(tmp_path / 'cache')!r}, "--no-progress", "--distribute", "mirrored"]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MirroredStrategy: 2 replicas" in result.stdout
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 4


def test_multi_worker_without_tf_config_is_refused(corpus, tmp_path, monkeypatch, capsys):
    """Without TF_CONFIG TensorFlow makes a cluster of one: each host would train alone."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = main(["train", "--quick", "--data", str(corpus), "--run", str(tmp_path / "run"), "--no-progress",
                 "--distribute", "multi-worker"])
    assert "TF_CONFIG" in assert_one_error_line(code, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_multi_worker_strategy_trains_on_two_local_workers(corpus, tmp_path):
    """tf.distribute.MultiWorkerMirroredStrategy: two worker processes on loopback, each with
    its TF_CONFIG, as two hosts would run the same command; gradients are all-reduced, so both
    end with the same weights."""
    import subprocess
    import sys

    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        argv = ["train", "--quick", "--data", str(corpus), "--run", str(tmp_path / f"run{index}"),
                "--cache", str(tmp_path / f"cache{index}"), "--no-progress", "--distribute", "multi-worker"]
        processes.append(subprocess.Popen([sys.executable, "-m", "kws", *argv], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=600))
    finally:
        for process in processes:
            process.kill()
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-2000:]
        assert "MultiWorkerMirroredStrategy: 2 replicas" in out + err
    from kws.model.dscnn import STUDENT, build_dscnn

    # Gradients are all-reduced, so the trained weights agree exactly; batch-norm moving
    # statistics are each worker's own (its share of the batches), which shows the data was split.
    paths = [w.path for w in build_dscnn((49, 10), 12, STUDENT).weights]
    weights = [np.load(tmp_path / f"run{i}" / "checkpoint.npz") for i in range(2)]
    keys = sorted((k for k in weights[0].files if k.startswith("w")), key=lambda k: int(k[1:]))
    assert len(keys) == len(paths)
    moving = [p for p in paths if "moving_" in p]
    differing = [p for k, p in zip(keys, paths) if not np.array_equal(weights[0][k], weights[1][k])]
    assert moving and set(differing) <= set(moving), f"trained weights differ between workers: {differing}"
    assert differing, "identical batch-norm statistics: both workers saw the same batches"

