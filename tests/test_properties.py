"""Property-based checks of the bad-input contract (Hypothesis): whatever values a user gives
to an option, or however model.json is mangled, a command ends with exit 0, or with exit 2 and
one ``kws: error:`` line; never a traceback, and its inputs stay byte-identical.

Each property asserts how many cases it drew, so a run that drew none cannot pass quietly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kws.audio import write_wav  # noqa: E402
from kws.cli import main  # noqa: E402
from kws.model_file import DEFAULT_MODEL  # noqa: E402

CASES = 40
SETTINGS = settings(max_examples=CASES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("properties")
    wav = folder / "speech.wav"
    write_wav(wav, np.random.default_rng(0).integers(-8000, 8000, 16000, dtype=np.int16), 16000)
    for suffix in (".json", ".tflite"):
        shutil.copy(DEFAULT_MODEL.with_suffix(suffix), folder / f"model{suffix}")
    return {"wav": wav, "model": folder / "model.json", "tflite": folder / "model.tflite"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(argv: list[str], inputs: list[Path]) -> tuple[int, str]:
    """``kws argv``: (exit status, stderr), having asserted the contract."""
    before = [_digest(p) for p in inputs]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's own exit on --help-like input
            code = stop.code if isinstance(stop.code, int) else 2
    text = err.getvalue()
    assert "Traceback" not in text, (argv, text)
    assert code in (0, 2), (argv, code, text)
    if code == 2:
        lines = text.splitlines()
        assert len(lines) == 1 and lines[0].startswith("kws: error: "), (argv, text)
    assert [_digest(p) for p in inputs] == before, argv
    return code, text


def _number_text() -> st.SearchStrategy[str]:
    """What a user might type where a number goes."""
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-10**12, max_value=10**12).map(str),
        st.sampled_from(["nan", "-inf", "1e308", "1e-320", "0", "-0", "", " ", "0x10", "1_000", "½", "3.", ".5"]),
    ).filter(lambda text: not text.startswith("-") or len(text) > 1)


DETECT_OPTIONS = ("--threshold", "--every", "--smoothing", "--refractory")


def test_detect_options_drawn_at_random_end_cleanly(files):
    drawn = []

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(DETECT_OPTIONS), _number_text(), min_size=1, max_size=4))
    def check(options):
        # "=" keeps a value that starts with "-" a value, as a user would have to write it.
        argv = ["detect", str(files["wav"]), "--model", str(files["model"]),
                *[f"{name}={value}" for name, value in options.items()]]
        drawn.append(_run(argv, [files["wav"], files["model"], files["tflite"]])[0])

    check()
    assert len(drawn) == CASES and 2 in drawn and 0 in drawn, drawn


def _json_values() -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                        st.text(max_size=12))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                              max_size=3), max_leaves=6)


def _paths(document, prefix=()) -> list[tuple]:
    """Every place in the JSON tree: (key, key, ...)."""
    places = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            places += _paths(value, prefix + (key,))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            places += _paths(value, prefix + (index,))
    return places


def test_model_json_mangled_at_random_is_refused_or_works(files, tmp_path_factory):
    original = json.loads(files["model"].read_text())
    places = _paths(original)
    folder = tmp_path_factory.mktemp("mangled")
    shutil.copy(files["tflite"], folder / "model.tflite")
    model = folder / "model.json"
    drawn = []

    @SETTINGS
    @given(st.sampled_from(places), _json_values(), st.booleans())
    def check(place, value, delete):
        document = json.loads(json.dumps(original))
        parent = document
        for key in place[:-1]:
            parent = parent[key]
        if delete and isinstance(parent, dict):
            del parent[place[-1]]
        else:
            parent[place[-1]] = value
        model.write_text(json.dumps(document))
        drawn.append(_run(["classify", "--model", str(model), str(files["wav"])],
                          [files["wav"], model, folder / "model.tflite"])[0])

    check()
    assert len(drawn) == CASES and 2 in drawn, drawn


TRAIN_OPTIONS = ("--epochs", "--batch-size", "--learning-rate", "--seed", "--validation-percent", "--folds", "--fold",
                 "--temperature", "--alpha", "--mixup", "--teacher-cross-fit")


def test_training_numbers_drawn_at_random_are_refused_or_sane(tmp_path_factory):
    """`kws distill` stops at its checks (before any data is read) or takes a config every
    field of which is usable; the run folder is never made by a refusal."""
    pytest.importorskip("tensorflow")
    from kws.cli import build_parser
    from kws.commands.train import build_config
    from kws.errors import KwsError

    run = tmp_path_factory.mktemp("train") / "run"
    drawn = []

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(TRAIN_OPTIONS), _number_text(), min_size=1, max_size=5))
    def check(options):
        argv = ["distill", "--teacher", "embedding", "--data", "d", "--run", str(run),
                *[f"{name}={value}" for name, value in options.items()]]
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                config = build_config(build_parser().parse_args(argv))
        except SystemExit as stop:
            assert stop.code == 2 and err.getvalue().count("\n") >= 1 and "Traceback" not in err.getvalue()
            drawn.append("refused")
            return
        except KwsError:
            drawn.append("refused")
            return
        assert config.epochs >= 1 and config.batch_size >= 1 and config.seed >= 0
        assert 0 < config.learning_rate < float("inf") and 0 <= config.validation_percent < 100
        assert 0 < config.temperature < float("inf") and 0 <= config.alpha <= 1 and 0 <= config.mixup < float("inf")
        assert config.folds == 0 or 0 <= config.fold < config.folds
        assert config.teacher_cross_fit == 0 or config.teacher_cross_fit >= 2
        drawn.append("taken")
        assert not run.exists()

    check()
    assert len(drawn) == CASES and "refused" in drawn, drawn
