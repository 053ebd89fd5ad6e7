"""The lean install (``pip install kws``, no extras) runs what users run.

Each check runs ``kws`` in a fresh Python where TensorFlow, Keras, matplotlib and the test-only
references cannot be imported: an import hook refuses them, as a machine without the extras
would (nothing is uninstalled). The runtime commands must work there and never reach for them;
the commands that need an extra must say which one in one line, exit 2 and write nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import assert_one_error_line

#: What the extras (and the dev-only references) install, refused in the subprocess.
HIDDEN = ("tensorflow", "keras", "tf_keras", "matplotlib", "cmsisdsp", "librosa", "piper", "tflite_runtime")

_RUNNER = textwrap.dedent("""
    import importlib.abc, json, sys
    hidden = set(json.loads(sys.argv[1]))
    refused = []

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in hidden:
                refused.append(name)
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    from kws.cli import main
    code = main(json.loads(sys.argv[2]))
    sys.stdout.flush()
    print("\\nREFUSED " + json.dumps(sorted(set(refused))), file=sys.stderr)
    sys.exit(code)
""")


def run_lean(argv: list[str], cwd: Path) -> tuple[int, str, str, list[str]]:
    """``kws argv`` without the extras: exit status, stdout, stderr (without our report) and
    the hidden modules something tried to import."""
    result = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(HIDDEN), json.dumps(argv)],
                            cwd=cwd, capture_output=True, text=True, timeout=600)
    err, _, report = result.stderr.rpartition("\nREFUSED ")
    refused = json.loads(report) if report.strip() else []
    return result.returncode, result.stdout, err.strip("\n") + ("\n" if err.strip() else ""), refused


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """A folder with a 3 s 16 kHz WAV (noise with a tone burst): audio the runtime commands take."""
    folder = tmp_path_factory.mktemp("lean")
    rng = np.random.default_rng(7)
    samples = rng.normal(0, 800, 48000)
    samples[16000:24000] += 6000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)
    sf.write(folder / "speech.wav", samples.clip(-32768, 32767).astype(np.int16), 16000, subtype="PCM_16")
    return folder


def test_the_hook_really_hides_the_extras(speech):
    probe = subprocess.run([sys.executable, "-c", _RUNNER.replace("from kws.cli import main", "import tensorflow"),
                            json.dumps(HIDDEN), "[]"], cwd=speech, capture_output=True, text=True)
    assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr


@pytest.mark.parametrize("argv", [
    ["features", "speech.wav"],
    ["features", "speech.wav", "--npy", "speech_mfcc.npy"],
    ["classify", "--json", "speech.wav"],
    ["detect", "speech.wav"],
    ["detect", "--scores", "speech.wav"],
], ids=lambda argv: " ".join(argv))
def test_runtime_commands_work_without_any_extra(speech, argv):
    code, out, err, refused = run_lean(argv, speech)
    assert code == 0, err
    assert "Traceback" not in err
    assert out.strip(), f"kws {' '.join(argv)} printed nothing"
    # Importing nothing from an extra, not just surviving without it.
    assert refused == [], f"kws {' '.join(argv)} tried to import {refused}"


def test_evaluate_works_without_any_extra(speech, tmp_path):
    corpus = tmp_path / "corpus"
    for word in ("yes", "no"):
        (corpus / word).mkdir(parents=True)
        sf.write(corpus / word / "0a1b2c3d_nohash_0.wav", np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    code, out, err, refused = run_lean(["evaluate", str(corpus)], speech)
    assert code == 0, err
    assert "accuracy" in out.lower()
    assert refused == []


def test_evaluate_stream_works_without_any_extra(speech, tmp_path):
    clips = tmp_path / "go"
    clips.mkdir()
    rng = np.random.default_rng(3)
    for n in range(2):
        burst = np.zeros(16000)
        burst[4000:10000] = 5000 * np.sin(2 * np.pi * (300 + 50 * n) * np.arange(6000) / 16000)
        sf.write(clips / f"go{n}.wav", burst.astype(np.int16), 16000, subtype="PCM_16")
    sf.write(tmp_path / "noise.wav", rng.normal(0, 300, 16000 * 8).astype(np.int16), 16000, subtype="PCM_16")
    code, out, err, refused = run_lean(["evaluate-stream", "--keywords-from", str(clips), "--word", "go",
                                        "--negatives", str(tmp_path / "noise.wav"), "--minutes", "0.1",
                                        "--json", "--no-progress"], speech)
    assert code == 0, err
    assert json.loads(out)["thresholds"]
    assert refused == []


def test_listen_gets_past_its_imports_without_any_extra(speech):
    # No microphone in CI: the command must still reach its device check (one line), not an ImportError.
    code, _, err, refused = run_lean(["listen", "--list-devices"], speech)
    assert "Traceback" not in err
    assert refused == []
    assert code in (0, 2)


@pytest.mark.parametrize("argv, job", [
    (["train", "--quick", "--run", "run_here"], "kws train"),
    (["distill", "--teacher", "teacher_run", "--run", "run_here"], "kws distill"),
    (["export", "teacher_run", "--out", "run_here/model.json"], "kws export"),
    (["wakeword", "train", "hey nova", "--quick", "--out", "run_here"], "kws wakeword train"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_training_commands_name_the_extra_they_need(tmp_path, argv, job):
    (tmp_path / "teacher_run").mkdir()
    code, out, err, _ = run_lean(argv, tmp_path)
    line = assert_one_error_line(code, err)
    assert line.startswith(f"kws: error: {job} needs the train extra")
    assert "pip install 'kws[train]'" in line
    assert not (tmp_path / "run_here").exists(), "a failed start left its output behind"
    assert out == ""
