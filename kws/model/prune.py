"""Structured (channel) pruning of a trained DS-CNN to a narrower one.

:func:`prune_dscnn` keeps ``channels`` channels of every stage of the DS-CNN chain and returns
a model built by :func:`kws.model.dscnn.build_dscnn` with that width, so export, int8, the
firmware generator and MAC counting see an ordinary DS-CNN.

A *stage* is the channels one convolution makes and the chain carries to the next one that
mixes channels: stage 0 is ``conv_1`` -> ``conv_1_bn`` -> ReLU -> ``dw_1`` -> ``dw_1_bn`` ->
ReLU (a depthwise convolution keeps each channel apart) and feeds ``pw_1``; stage b is
``pw_b`` -> ``pw_b_bn`` -> ReLU -> ``dw_{b+1}`` -> ... and feeds ``pw_{b+1}``; the last stage
feeds ``logits``. The chain has no residual connections, so each stage keeps its own subset.

Criterion (Network Slimming, Liu et al. 2017): a channel's importance is ``|gamma|`` of the
batch norm right after the convolution that makes it (``conv_1_bn`` or ``pw_b_bn``): the
convolution's output is normalised there, so ``|gamma|`` is how much of it the channel passes
on, whatever the scale of the convolution's weights (which Adam lets grow freely ahead of a
norm). Each stage keeps its ``channels`` largest (a stable sort: the lower index wins a tie),
in their original order.

A removed channel does not vanish without trace: after the ReLU and the next depthwise batch
norm a channel that is zero still gives the constant ``relu(beta - gamma * mean / sqrt(var +
eps))`` of that norm, which the next pointwise convolution adds to its outputs. That constant
is folded into the pointwise convolution's batch-norm moving mean, so removing a channel that
is zero after its ReLU (``gamma`` = 0 and ``beta`` <= 0, as L1-regularised slimming leaves
them) changes no output; any other removed channel is replaced by that zero-input response,
and fine-tuning (``kws train --prune-to``) recovers the rest.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import KwsError
from .dscnn import DsCnnConfig, build_dscnn


def stage_producers(config: DsCnnConfig) -> list[str]:
    """The convolution that makes each stage's channels: conv_1, pw_1, ..., pw_B."""
    return ["conv_1"] + [f"pw_{block}" for block in range(1, config.blocks + 1)]


def channel_importance(model, config: DsCnnConfig) -> list[np.ndarray]:
    """Per stage, each channel's |gamma| of the batch norm after its convolution."""
    return [np.abs(model.get_layer(f"{name}_bn").get_weights()[0]) for name in stage_producers(config)]


def kept_channels(model, config: DsCnnConfig, channels: int) -> list[np.ndarray]:
    """Per stage, the indices (ascending) of the ``channels`` most important channels."""
    return [np.sort(np.argsort(-importance, kind="stable")[:channels])
            for importance in channel_importance(model, config)]


def _zero_response(bn_weights: list[np.ndarray], epsilon: float) -> np.ndarray:
    """relu(batch norm(0)) per channel: what a channel that is zero before the norm becomes."""
    gamma, beta, mean, variance = bn_weights
    return np.maximum(beta - gamma * mean / np.sqrt(variance + epsilon), 0.0)


def prune_dscnn(model, config: DsCnnConfig, channels: int, *, name: str | None = None):
    """A new DS-CNN of width ``channels`` holding ``model``'s most important channels (see the
    module's docstring); ``model`` (built by ``build_dscnn`` with ``config``) is not changed."""
    if not 1 <= channels <= config.channels:
        raise KwsError(f"cannot prune a {config.channels}-channel DS-CNN to {channels} channels")
    input_shape = tuple(model.input_shape[1:3])
    n_classes = model.get_layer("logits").units
    pruned = build_dscnn(input_shape, n_classes, replace(config, channels=channels), name=name or model.name)
    keep = kept_channels(model, config, channels)

    def copy_bn(layer_name: str, rows: np.ndarray, mean_shift: np.ndarray | None = None) -> None:
        gamma, beta, mean, variance = (w[rows] for w in model.get_layer(layer_name).get_weights())
        if mean_shift is not None:
            mean = mean - mean_shift
        pruned.get_layer(layer_name).set_weights([gamma, beta, mean, variance])

    pruned.get_layer("conv_1").set_weights([model.get_layer("conv_1").get_weights()[0][..., keep[0]]])
    copy_bn("conv_1_bn", keep[0])
    for block in range(1, config.blocks + 1):
        incoming, outgoing = keep[block - 1], keep[block]
        depthwise = model.get_layer(f"dw_{block}")
        pruned.get_layer(f"dw_{block}").set_weights([depthwise.get_weights()[0][:, :, incoming, :]])
        copy_bn(f"dw_{block}_bn", incoming)
        dw_bn = model.get_layer(f"dw_{block}_bn")
        removed = np.setdiff1d(np.arange(config.channels), incoming)
        pointwise = model.get_layer(f"pw_{block}").get_weights()[0]  # (1, 1, in, out)
        # The removed inputs' constant contribution (their zero response), folded into the norm.
        constant = _zero_response(dw_bn.get_weights(), dw_bn.epsilon)[removed]
        shift = constant @ pointwise[0, 0][removed]
        pruned.get_layer(f"pw_{block}").set_weights([pointwise[:, :, incoming][..., outgoing]])
        copy_bn(f"pw_{block}_bn", outgoing, shift[outgoing])
    kernel, bias = model.get_layer("logits").get_weights()
    # The last stage goes to the dense layer through pooling alone: a removed channel that is
    # zero after its ReLU contributes nothing, so the bias stays.
    pruned.get_layer("logits").set_weights([kernel[keep[-1]], bias])
    return pruned
