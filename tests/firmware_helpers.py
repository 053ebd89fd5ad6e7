"""What the firmware tests share: the toolchain check, LiteRT's reference outputs and test inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import shared_data

from dsp import mfcc_q15

from kws.firmware import cmsis_dsp
from kws.firmware.tflite_graph import reference_interpreter

#: The tools the firmware tests need and this machine lacks.
TOOLCHAIN_MISSING = [tool for tool in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(tool) is None]
needs_toolchain = pytest.mark.skipif(
    bool(TOOLCHAIN_MISSING),
    reason=f"{' and '.join(TOOLCHAIN_MISSING)} missing (bash scripts/setup.sh installs the Arm toolchain and QEMU)",
)

#: What building the frontend needs besides the toolchain: the CMSIS-DSP sdist, which
#: scripts/setup.sh fetches into the cache beforehand (tests never download).
FRONTEND_MISSING = list(TOOLCHAIN_MISSING)
if not (cmsis_dsp.cache_dir() / cmsis_dsp.SDIST_NAME).exists():
    FRONTEND_MISSING.append(f"the CMSIS-DSP sources ({cmsis_dsp.cache_dir()})")
needs_frontend_toolchain = pytest.mark.skipif(
    bool(FRONTEND_MISSING),
    reason=f"{' and '.join(FRONTEND_MISSING)} missing (bash scripts/setup.sh installs the Arm toolchain and QEMU "
           "and fetches CMSIS-DSP)",
)

#: TensorFlow Lite Micro's micro_speech model: a model this project did not train.
MICRO_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "models" / "tflm_micro_speech_quantized.tflite"

#: Multiply-accumulates of one inference of the default model: CONV_2D 10x4 stride 2 (320,000),
#: 4 x DEPTHWISE_CONV_2D 3x3 (288,000), 4 x pointwise CONV_2D 64->64 (2,048,000), FULLY_CONNECTED
#: 64->12 (768).
DEFAULT_MACS = 2_656_768


def litert_reference(content: bytes, inputs: np.ndarray) -> np.ndarray:
    """LiteRT's BUILTIN_REF outputs of the model ``content`` for each of ``inputs``."""
    interpreter = reference_interpreter(content)
    inp, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    results = []
    for x in inputs:
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        results.append(interpreter.get_tensor(out).copy())
    return np.stack(results)


def random_inputs(shape, n: int, seed: int) -> np.ndarray:
    """``n`` uniform int8 tensors of ``shape``, then all -128, all 0 and all 127."""
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(n)]
    inputs += [np.full(shape, v, np.int8) for v in (-128, 0, 127)]
    return np.stack(inputs)


def real_speech(count: int) -> np.ndarray:
    """``count`` Speech Commands clips from across the folders, back to back, int16 (the ones the
    pipeline tests use: they make detections); skips where the shared data is absent."""
    root = shared_data("speech_commands_v2_test_dev")
    files = sorted(root.glob("[a-z]*/*.wav"))[:: 2000 // count][:count]
    return np.concatenate([sf.read(f, dtype="int16")[0] for f in files])


def real_windows(model, input_shape, count: int) -> np.ndarray:
    """The int8 model inputs of the first clip of each of the first ``count`` word folders (one
    second, zero-padded), shaped ``input_shape`` each; skips where the shared data is absent."""
    root = shared_data("speech_commands_v2_test_dev")
    words = sorted(p for p in root.iterdir() if p.is_dir() and p.name != "_background_noise_")
    windows = []
    for word_dir in words[:count]:
        samples, _ = sf.read(sorted(word_dir.glob("*.wav"))[0], dtype="int16")
        samples = np.pad(samples, (0, max(0, 16000 - len(samples))))[:16000]
        windows.append(model.input_rule.apply(mfcc_q15(samples, config=model.mfcc)).reshape(input_shape))
    return np.stack(windows).astype(np.int8)
