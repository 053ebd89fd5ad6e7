"""Running a kws model with LiteRT: q8.7 MFCC in, int8 scores out.

The reference kernels (``OpResolverType.BUILTIN_REF``) are the ground truth for int8 outputs:
they follow the TFLite quantisation spec exactly, as the firmware's kernels do; the default
XNNPACK delegate can differ by 1 LSB, and so can the optimised builtin kernels without
delegates (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``, about 7x faster): on the default model their
FULLY_CONNECTED differs on about 2 % of inputs while every convolution and the pooling match.

So there are two ways to run a model, with the same integers:

* ``Classifier(model)``: the reference kernels for everything;
* ``Classifier(model, fast=True)``: the optimised kernels up to the last pooling, then the
  reference FULLY_CONNECTED and SOFTMAX arithmetic in numpy (:mod:`kws.int8_reference`). The
  tests check it against the reference kernels on random and real inputs.
"""

from __future__ import annotations

import numpy as np

from .errors import KwsError
from .model_file import KwsModel


class Classifier:
    """One interpreter for one model; call :meth:`scores` per window of features."""

    def __init__(self, model: KwsModel, *, fast: bool = False) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.model = model
        resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if fast else OpResolverType.BUILTIN_REF
        try:
            self.interpreter = Interpreter(model_content=model.tflite, experimental_op_resolver_type=resolver,
                                           num_threads=1, experimental_preserve_all_tensors=fast)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise KwsError(f"{model.tflite_path} cannot be loaded by LiteRT ({error})") from None
        input_detail = self.interpreter.get_input_details()[0]
        output_detail = self.interpreter.get_output_details()[0]
        expected_shape = (1, model.n_frames, model.mfcc.n_mfcc, 1)
        if tuple(input_detail["shape"]) != expected_shape or input_detail["dtype"] != np.int8:
            raise KwsError(f"{model.tflite_path}: input {tuple(input_detail['shape'])} {input_detail['dtype']} "
                           f"does not match its description ({expected_shape} int8)")
        if output_detail["shape"][-1] != len(model.labels) or output_detail["dtype"] != np.int8:
            raise KwsError(f"{model.tflite_path}: output does not match its {len(model.labels)} labels")
        self._input = input_detail["index"]
        self._output = output_detail["index"]
        self._head = _ReferenceHead(self.interpreter, model) if fast else None

    def scores_from_int8(self, inputs: np.ndarray) -> np.ndarray:
        """(frames, n_mfcc) int8 model input -> (n_labels,) int8 scores."""
        self.interpreter.set_tensor(self._input, inputs.reshape(1, *inputs.shape, 1).astype(np.int8))
        self.interpreter.invoke()
        if self._head is not None:
            return self._head(self.interpreter)
        return self.interpreter.get_tensor(self._output).reshape(-1).copy()

    def scores(self, q8_7: np.ndarray) -> np.ndarray:
        """(frames, n_mfcc) int16 q8.7 MFCC -> (n_labels,) int8 scores."""
        return self.scores_from_int8(self.model.input_rule.apply(q8_7))

    def scores_batch(self, windows: np.ndarray) -> np.ndarray:
        """(n, frames, n_mfcc) int16 q8.7 windows -> (n, n_labels) int8 scores.

        One invocation per window (the model has a fixed batch of 1); on the fast path the
        numpy head then runs once for all of them, which is where batching pays.
        """
        inputs = self.model.input_rule.apply(windows)
        if self._head is None:
            return np.stack([self.scores_from_int8(w) for w in inputs]) if len(inputs) else \
                np.zeros((0, len(self.model.labels)), np.int8)
        pooled = []
        for window in inputs:
            self.interpreter.set_tensor(self._input, window.reshape(1, *window.shape, 1))
            self.interpreter.invoke()
            pooled.append(self._head.pooled(self.interpreter))
        return self._head.from_pooled(np.concatenate(pooled)) if pooled else \
            np.zeros((0, len(self.model.labels)), np.int8)

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """int8 scores -> float probabilities (the output quantisation undone)."""
        q = self.model.output_quantization
        return (scores.astype(np.float64) - q.zero_point) * q.scale


class _ReferenceHead:
    """FULLY_CONNECTED + SOFTMAX of a model, with the reference kernels' integer arithmetic."""

    def __init__(self, interpreter, model: KwsModel) -> None:
        from . import int8_reference as ref

        # LiteRT has no public API for the op list; the private one is checked by the tests.
        ops = interpreter._get_ops_details()
        if [op["op_name"] for op in ops[-2:]] != ["FULLY_CONNECTED", "SOFTMAX"]:
            raise KwsError(f"{model.tflite_path}: the fast path needs a model ending in FULLY_CONNECTED, SOFTMAX")
        fc = ops[-2]
        details = {d["index"]: d for d in interpreter.get_tensor_details()}
        self._pooled, weights, bias = fc["inputs"][:3]
        q_in = details[self._pooled]["quantization_parameters"]
        q_w = details[weights]["quantization_parameters"]
        q_out = details[fc["outputs"][0]]["quantization_parameters"]
        in_scale, out_scale = float(q_in["scales"][0]), float(q_out["scales"][0])
        multipliers = [ref.quantize_multiplier(in_scale * float(s) / out_scale) for s in np.atleast_1d(q_w["scales"])]
        self._weights = interpreter.get_tensor(weights).astype(np.int64)
        # The converter drops an all-zero bias: tensor index -1.
        self._bias = (interpreter.get_tensor(bias).astype(np.int64) if bias >= 0
                      else np.zeros(len(self._weights), dtype=np.int64))
        self._fc = dict(input_zero_point=int(q_in["zero_points"][0]),
                        multipliers=np.array([m for m, _ in multipliers]), shifts=np.array([s for _, s in multipliers]),
                        output_zero_point=int(q_out["zero_points"][0]))
        multiplier, left_shift, diff_min = ref.softmax_parameters(out_scale)
        self._softmax = dict(multiplier=multiplier, left_shift=left_shift, diff_min=diff_min,
                             output_zero_point=model.output_quantization.zero_point)
        self._ref = ref

    def pooled(self, interpreter) -> np.ndarray:
        """(1, depth) int8: the input of the FULLY_CONNECTED after an invocation."""
        return interpreter.get_tensor(self._pooled).reshape(1, -1).copy()

    def from_pooled(self, pooled: np.ndarray) -> np.ndarray:
        """(n, depth) int8 pooled features -> (n, n_labels) int8 scores."""
        logits = self._ref.fully_connected(pooled, self._weights, self._bias, **self._fc)
        return self._ref.softmax(logits, **self._softmax).astype(np.int8)

    def __call__(self, interpreter) -> np.ndarray:
        return self.from_pooled(self.pooled(interpreter))[0]
