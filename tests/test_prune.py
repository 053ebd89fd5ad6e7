"""Channel pruning of a DS-CNN (kws.model.prune): the narrower model computes what the wide one did."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytest.importorskip("tensorflow")

from kws.errors import KwsError  # noqa: E402
from kws.model.dscnn import DsCnnConfig, build_dscnn, count_macs  # noqa: E402
from kws.model.prune import kept_channels, prune_dscnn  # noqa: E402

SMALL = DsCnnConfig(channels=12, blocks=3)
SHAPE = (49, 10)
CLASSES = 5


def _trained_like(config: DsCnnConfig, seed: int = 1):
    """A DS-CNN with random weights and batch-norm statistics, as training leaves them (not
    Keras' identity initial norms, which would hide a channel copied from the wrong place)."""
    model = build_dscnn(SHAPE, CLASSES, config)
    rng = np.random.default_rng(seed)
    weights = []
    for layer in model.layers:
        for variable in layer.weights:
            shape = tuple(variable.shape)
            if variable.path.endswith("moving_variance"):
                weights.append(rng.uniform(0.5, 2.0, shape))
            elif variable.path.endswith("gamma"):
                weights.append(rng.uniform(0.2, 1.5, shape) * rng.choice([-1, 1], shape))
            else:
                weights.append(rng.normal(0, 0.5, shape))
    model.set_weights([w.astype(np.float32) for w in weights])
    return model


def _inputs(count: int = 8) -> np.ndarray:
    return np.random.default_rng(7).normal(0, 1, (count, *SHAPE, 1)).astype(np.float32)


def _outputs(model) -> np.ndarray:
    return model.predict(_inputs(), verbose=0)


def test_pruning_to_the_same_width_changes_nothing():
    model = _trained_like(SMALL)
    pruned = prune_dscnn(model, SMALL, SMALL.channels)
    assert pruned is not model
    np.testing.assert_array_equal(_outputs(pruned), _outputs(model))


def _kill(model, config: DsCnnConfig, dead: list[np.ndarray]) -> None:
    """Zero the given channels of each stage: their convolution's weights and their batch
    norm's gamma and beta, so that they are zero after the ReLU."""
    producers = ["conv_1"] + [f"pw_{b}" for b in range(1, config.blocks + 1)]
    for name, channels in zip(producers, dead):
        kernel = model.get_layer(name).get_weights()[0]
        kernel[..., channels] = 0
        model.get_layer(name).set_weights([kernel])
        gamma, beta, mean, variance = model.get_layer(f"{name}_bn").get_weights()
        gamma[channels], beta[channels] = 0, 0
        model.get_layer(f"{name}_bn").set_weights([gamma, beta, mean, variance])


def test_removing_dead_channels_leaves_the_outputs_unchanged():
    """Other channels in each stage: each stage keeps its own subset."""
    model = _trained_like(SMALL)
    rng = np.random.default_rng(3)
    dead = [np.sort(rng.choice(SMALL.channels, 4, replace=False)) for _ in range(SMALL.blocks + 1)]
    assert len({tuple(d) for d in dead}) > 1
    _kill(model, SMALL, dead)
    before = _outputs(model)
    pruned = prune_dscnn(model, SMALL, SMALL.channels - 4)
    for stage, kept in enumerate(kept_channels(model, SMALL, SMALL.channels - 4)):
        assert not set(kept) & set(dead[stage]), stage
    # Float32 sums in another order (fewer terms, a mean moved): equal to rounding, not bit for bit.
    np.testing.assert_allclose(_outputs(pruned), before, rtol=1e-5, atol=1e-5)


def test_removing_live_channels_changes_the_outputs():
    """The exactness above is the dead channels', not a pruning that copies nothing."""
    model = _trained_like(SMALL)
    pruned = prune_dscnn(model, SMALL, SMALL.channels - 4)
    assert np.max(np.abs(_outputs(pruned) - _outputs(model))) > 1e-3


def test_the_pruned_model_is_the_narrower_ds_cnn():
    config = replace(SMALL, channels=16)
    model = _trained_like(config)
    pruned = prune_dscnn(model, config, 6)
    reference = build_dscnn(SHAPE, CLASSES, replace(config, channels=6))
    assert [w.shape for w in pruned.get_weights()] == [w.shape for w in reference.get_weights()]
    assert [layer.name for layer in pruned.layers] == [layer.name for layer in reference.layers]
    assert count_macs(pruned) == count_macs(reference) < count_macs(model)
    assert pruned.count_params() < model.count_params()
    assert pruned.output_shape == model.output_shape == (None, CLASSES)


def test_channels_are_ranked_by_the_batch_norm_scale():
    model = _trained_like(SMALL)
    gamma, beta, mean, variance = model.get_layer("pw_2_bn").get_weights()
    gamma[:] = np.arange(SMALL.channels, dtype=np.float32)[::-1] * np.where(np.arange(SMALL.channels) % 2, -1, 1)
    model.get_layer("pw_2_bn").set_weights([gamma, beta, mean, variance])
    assert list(kept_channels(model, SMALL, 5)[2]) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("channels", [0, -1, 13])
def test_impossible_widths_are_refused(channels):
    with pytest.raises(KwsError, match="cannot prune"):
        prune_dscnn(_trained_like(SMALL), SMALL, channels)
