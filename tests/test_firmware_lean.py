"""`kws firmware build`, `run` and `infer` on a lean install: without TensorFlow, Keras or
tflite_runtime (the runtime dependencies only). They are hidden in a subprocess by an import
hook, so nothing has to be uninstalled; the commands must succeed and never import them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from dsp.config import SAMPLE_RATE
from firmware_helpers import needs_frontend_toolchain
from kws.model_file import load_model

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter: each argv of the JSON list on stdin through kws.cli.main, with the
#: extras' packages unimportable; prints the exit statuses and the hidden packages that got imported.
_LEAN_RUNNER = r"""
import json, sys

HIDDEN = ("tensorflow", "keras", "tflite_runtime")

class HideExtras:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: a lean install)", name=name)
        return None

sys.meta_path.insert(0, HideExtras())
from kws.cli import main

statuses = [main(argv) for argv in json.loads(sys.stdin.read())]
imported = sorted(m for m in sys.modules if m.partition(".")[0] in HIDDEN)
print(json.dumps({"statuses": statuses, "imported": imported}))
"""


def _run_lean(commands: list[list[str]]) -> tuple[dict, str]:
    result = subprocess.run([sys.executable, "-c", _LEAN_RUNNER], input=json.dumps(commands), cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stdout


@needs_frontend_toolchain
def test_firmware_build_run_and_infer_without_tensorflow(tmp_path):
    # One second of quiet noise: enough for a few inferences, no shared data needed.
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "noise.wav", rng.normal(0, 300, SAMPLE_RATE).astype(np.int16), SAMPLE_RATE)
    model = load_model()
    np.save(tmp_path / "x.npy", np.zeros((1, model.n_frames, model.mfcc.n_mfcc, 1), np.int8))
    image = tmp_path / "image"
    report, stdout = _run_lean([
        ["firmware", "build", "--board", "qemu-mps2-an386", "--out", str(image)],
        ["firmware", "run", "--json", "--build-dir", str(image), str(tmp_path / "noise.wav")],
        ["firmware", "infer", "--model", str(model.json_path), "--inputs", str(tmp_path / "x.npy"),
         "--build-dir", str(tmp_path / "infer")],
    ])
    assert report == {"statuses": [0, 0, 0], "imported": []}, stdout
    assert (image / "kws.elf").is_file() and json.loads((image / "size.json").read_text())["flash"] > 0
    summary = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"summary"')]
    assert summary and summary[0]["summary"]["inferences"] > 0
