"""Every int8 operator the firmware supports, on random single-operator models
(tests/random_models.py: random shapes, kernels, strides, dilations, paddings, activations,
depth multipliers, biases, per-channel and per-tensor scales, softmax betas; RESHAPE first, in
the middle and last), equals LiteRT's BUILTIN_REF kernels to 0 LSB on every element:

* in QEMU (Cortex-M4F): C generated from the model (kws.firmware.generate), built with
  firmware/apps/infer.c and run through kws.firmware.infer, one build per model and kernel set
  (the plain reference kernels, and the DSP-extension ones where the generator offers
  ``kernels="dsp"``), the models sharing one build folder per kernel set (only the model's C
  is recompiled);
* on the host: the same kernels compiled with gcc and called through ctypes
  (kws.firmware.int8_host), operator by operator on the reference's own intermediate tensors
  and chained;
* once through the command line, ``kws firmware infer --json``.

The generator's refusals (an unsupported operator, a graph that is not a chain, an unsupported
fused activation) are one clear KwsError each.

The firmware tests skip where arm-none-eabi-gcc or qemu-system-arm is missing (bash
scripts/setup.sh installs both); the host tests where there is no host C compiler.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_bit_exact, assert_one_error_line
from random_models import OPS, convert_keras, random_model, random_single_op_models

from firmware_helpers import TOOLCHAIN_MISSING, litert_reference, needs_toolchain
from kws.errors import KwsError
from kws.firmware import int8_host
from kws.firmware.generate import generate_model
from kws.firmware.sources import KERNELS  # the plain kernels and the DSP-extension ones: the same integers
from kws.firmware.tflite_graph import reference_interpreter

SEED = 2026
COUNT_PER_OP = 6
NAMES = [f"{op.lower()}_{i}" for op in OPS for i in range(COUNT_PER_OP)]

_MISSING = TOOLCHAIN_MISSING
needs_host_compiler = pytest.mark.skipif(int8_host.host_compiler() is None, reason="no host C compiler (gcc)")


@pytest.fixture(scope="module")
def models():
    return {m.name: m for m in random_single_op_models(SEED, COUNT_PER_OP)}


@pytest.fixture(scope="module")
def build_dirs(tmp_path_factory):
    """One build folder per kernel set, shared by the models (only the model's C recompiles)."""
    return {kernels: tmp_path_factory.mktemp(f"firmware_ops_{kernels}") for kernels in KERNELS}


@pytest.fixture(scope="module")
def host_ops(tmp_path_factory):
    return int8_host.Int8Ops(int8_host.build_library(tmp_path_factory.mktemp("int8_ops")))



# --- the random models themselves ----------------------------------------------------------------


def test_random_models_cover_every_operator(models):
    assert sorted(models) == sorted(NAMES)
    for model in models.values():
        assert model.op in model.ops, model.name
        assert model.inputs.dtype == np.int8 and model.inputs.shape[0] >= 5
    emitted = {op for model in models.values() for op in model.ops}
    assert emitted == set(OPS)
    # RESHAPE first, in the middle, last (after FULLY_CONNECTED and after CONV_2D) and alone.
    chains = [m.ops for m in models.values() if m.op == "RESHAPE"]
    assert any(len(c) > 1 and c[0] == "RESHAPE" for c in chains)
    assert any("RESHAPE" in c[1:-1] for c in chains)
    assert {c[-2] for c in chains if len(c) > 1 and c[-1] == "RESHAPE"} == {"FULLY_CONNECTED", "CONV_2D"}
    assert ("RESHAPE",) in chains


def test_random_models_are_deterministic(models):
    again = random_model("DEPTHWISE_CONV_2D", 1, SEED)
    first = models[again.name]
    assert (again.tflite, again.description) == (first.tflite, first.description)
    assert np.array_equal(again.inputs, first.inputs)


def test_patched_softmax_beta_is_honoured(models):
    """The betas written into the flatbuffer change LiteRT's outputs (so they are tested)."""
    from random_models import patch_softmax_beta

    patched = [m for m in models.values() if m.op == "SOFTMAX" and "patched" in m.description]
    assert patched
    for model in patched:
        beta_one = patch_softmax_beta(model.tflite, 0, 1.0)
        assert np.any(litert_reference(beta_one, model.inputs) != litert_reference(model.tflite, model.inputs)), model.name


# --- on the host (ctypes) ------------------------------------------------------------------------


@needs_host_compiler
@pytest.mark.parametrize("name", NAMES)
def test_host_kernels_bit_exact(name, models, host_ops):
    model = models[name]
    interpreter = reference_interpreter(model.tflite)
    specs = int8_host.model_ops(interpreter, model.tflite, host_ops)
    assert tuple(s.name for s in specs) == model.ops
    for n, x in enumerate(model.inputs):
        tensors = int8_host.capture_reference(interpreter, x, specs)
        for spec in specs:
            got = spec.run(tensors[spec.input]).reshape(spec.output_shape)
            assert_bit_exact(got, tensors[spec.output], f"{name} input {n} op {spec.index} {spec.name} "
                                                        f"({model.description})")
        assert_bit_exact(int8_host.run_model(specs, x), tensors[specs[-1].output],
                         f"{name} input {n} chained ({model.description})")


# --- in QEMU ---------------------------------------------------------------------------------------


@needs_toolchain
@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("name", NAMES)
def test_firmware_bit_exact(name, kernels, models, build_dirs):
    from kws.firmware.infer import build_infer, run_infer

    model = models[name]
    image = build_infer(model.tflite, build_dirs[kernels], kernels=kernels)
    assert tuple(image.model.ops) == model.ops
    assert image.warnings == {}
    outputs, instructions = run_infer(image, model.inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, model.inputs),
                     f"{name}, {kernels} kernels ({model.description})")
    assert np.all(instructions > 0)
    print(f"{name} [{kernels}]: {model.description}; {int(np.median(instructions)):,} instructions")


@needs_toolchain
def test_cli_infer_json_on_a_random_model(models, build_dirs, tmp_path, capsys):
    from kws.cli import main

    model = models["max_pool_2d_2"]
    (tmp_path / "model.tflite").write_bytes(model.tflite)
    np.save(tmp_path / "inputs.npy", model.inputs)
    assert main(["firmware", "infer", "--model", str(tmp_path / "model.tflite"), "--inputs",
                 str(tmp_path / "inputs.npy"), "--json", "--build-dir", str(build_dirs["plain"])]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(model.inputs)
    expected = litert_reference(model.tflite, model.inputs)
    got = np.array([line["output"] for line in lines], dtype=np.int8).reshape(expected.shape)
    assert_bit_exact(got, expected, f"kws firmware infer --json, {model.name}")
    assert all(line["instructions"] > 0 for line in lines)


# --- what the generator refuses --------------------------------------------------------------------


def test_generator_rejects_an_unsupported_operator():
    content = convert_keras(lambda keras, x: keras.layers.Softmax()(x * 2.0), (6,), seed=1)
    with pytest.raises(KwsError, match=r"operator 0 \(MUL\) has no int8 kernel"):
        generate_model(content)


def test_generator_rejects_a_graph_that_is_not_a_chain():
    def branches(keras, x):
        return keras.layers.Concatenate()([keras.layers.Conv2D(2, 1)(x), keras.layers.Conv2D(3, 1)(x)])

    content = convert_keras(branches, (4, 4, 2), seed=2)
    with pytest.raises(KwsError, match=r"operator 1 \(CONV_2D\) does not read the previous operator's output"):
        generate_model(content)


def test_generator_rejects_an_unsupported_fused_activation(models):
    # conv_2d_1 has a fused ReLU; written over with TANH (4), which the int8 kernels lack.
    from random_models import patch_fused_activation

    content = patch_fused_activation(models["conv_2d_1"].tflite, 0, "CONV_2D", 4)
    with pytest.raises(KwsError, match=r"operator 0 \(CONV_2D\): fused activation 4 is not supported"):
        generate_model(content)


def test_cli_reports_an_unsupported_model_in_one_line(tmp_path, capsys):
    from kws.cli import main

    content = convert_keras(lambda keras, x: keras.layers.Softmax()(x * 2.0), (6,), seed=1)
    (tmp_path / "mul.tflite").write_bytes(content)
    np.save(tmp_path / "inputs.npy", np.zeros((1, 1, 6), np.int8))
    status = main(["firmware", "infer", "--model", str(tmp_path / "mul.tflite"), "--inputs",
                   str(tmp_path / "inputs.npy"), "--build-dir", str(tmp_path / "build")])
    line = assert_one_error_line(status, capsys.readouterr().err)
    if not _MISSING:  # (without the toolchain, that is what the one line may say)
        assert "operator 0 (MUL) has no int8 kernel" in line, line
