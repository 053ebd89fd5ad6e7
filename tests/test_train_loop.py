"""The one training loop (kws.train_loop): weight averaging, with and without distillation,
resuming from a checkpoint, keeping the best weights. Tiny Keras models, a few seconds."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from kws.train_loop import BestWeights, Distillation, Loop, Schedule, load_weights  # noqa: E402

SCHEDULE = Schedule(epochs=3, batch_size=8, steps_per_epoch=4, learning_rate=0.05, final_learning_rate=0.01)


def _tiny(seed: int = 0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])


def _epochs(count: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((32, 4, 2)).astype(np.float32), rng.integers(0, 3, 32)) for _ in range(count)]


@pytest.mark.parametrize("distilled", [False, True], ids=["plain", "distilled"])
def test_average_epochs_ends_on_the_mean_of_the_last_epochs_weights(distilled):
    """average_epochs=2 of 3: the student ends as the mean of its weights after epochs 2 and 3,
    through the Distiller too (which once ignored it)."""
    from kws.model.distill import Distiller

    student = _tiny()
    loop = Loop(student, SCHEDULE, teacher=_tiny(1) if distilled else None,
                distillation=Distillation(temperature=2.0, alpha=0.5) if distilled else None, shuffle=True)
    assert isinstance(loop.model, Distiller) == distilled
    after: list[list[np.ndarray]] = []
    real_fit_epoch = loop.fit_epoch

    def fit_epoch(*args):
        row = real_fit_epoch(*args)
        after.append(student.get_weights())
        return row

    loop.fit_epoch = fit_epoch
    epochs = _epochs()
    history = loop.run(lambda epoch: epochs[epoch], average_epochs=2, progress=False)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert len(after) == 3 and not np.allclose(after[1][0], after[2][0])
    for weight, first, second in zip(student.get_weights(), after[1], after[2]):
        np.testing.assert_allclose(weight, (first + second) / 2, rtol=1e-6, atol=1e-7)


def test_a_resumed_run_ends_as_the_uninterrupted_one(tmp_path):
    """Stopped after epoch 1 and resumed from its checkpoint in a fresh model and optimizer, the
    run ends with the same weights, optimizer step and history as one that ran through."""
    epochs = _epochs()
    through = Loop(_tiny(), SCHEDULE)
    expected = through.run(lambda epoch: epochs[epoch], progress=False)

    first = Loop(_tiny(), SCHEDULE)
    history = first.run(lambda epoch: epochs[epoch], progress=False,
                        after_epoch=lambda epoch, rows: epoch == 0 and first.save_checkpoint(
                            tmp_path / "checkpoint.npz", rows, best_accuracy=0.25))
    assert len(history) == 3
    resumed = Loop(_tiny(7), SCHEDULE)
    done, history, scalars = resumed.resume(tmp_path / "checkpoint.npz")
    assert (done, scalars, int(resumed.optimizer.iterations)) == (1, {"best_accuracy": 0.25}, SCHEDULE.steps_per_epoch)
    history = resumed.run(lambda epoch: epochs[epoch], start=done, history=history, progress=False)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in history]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in expected]
    assert int(resumed.optimizer.iterations) == int(through.optimizer.iterations)
    for mine, theirs in zip(resumed.student.get_weights(), through.student.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_best_weights_keep_the_best_epoch_a_later_one_winning_a_tie(tmp_path):
    class Student:
        value = 0.0

        def get_weights(self):
            return [np.full(2, self.value, np.float32)]

    student, best = Student(), BestWeights(tmp_path / "best.npz")
    kept = []
    for value, score in ((1.0, 0.5), (2.0, 0.4), (3.0, 0.5), (4.0, float("nan"))):
        student.value = value
        kept.append(best.offer(student, score))
        if value == 3.0:
            assert load_weights(tmp_path / "best.npz")[0][0] == 3.0
    # NaN: nothing to validate on, so every epoch is the best so far, and the score stays.
    assert kept == [True, False, True, True] and best.best == 0.5
    assert load_weights(tmp_path / "best.npz")[0][0] == 4.0


def test_given_teacher_logits_teach_the_student():
    """With teacher_logits the epoch source brings the teacher's logits third, and the Distiller
    learns from them: at alpha = 0 a student whose hard labels all say class 0 follows logits
    that all say class 2 (the shuffled path permutes the three arrays together)."""
    from kws.model.distill import Distiller

    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((32, 4, 2)).astype(np.float32)
    labels = np.zeros(32, int)
    logits = np.tile(np.array([[0.0, 0.0, 6.0]], np.float32), (32, 1))
    for shuffle in (False, True):
        student = _tiny()
        loop = Loop(student, Schedule(epochs=6, batch_size=8, steps_per_epoch=4, learning_rate=0.05,
                                      final_learning_rate=0.01),
                    distillation=Distillation(temperature=1.0, alpha=0.0), teacher_logits=True, shuffle=shuffle)
        assert isinstance(loop.model, Distiller) and loop.model.teacher is None
        history = loop.run(lambda epoch: (inputs, labels, logits), progress=False)
        assert np.all(np.isfinite([row["loss"] for row in history]))
        predicted = np.argmax(student.predict(inputs[..., None], verbose=0), axis=1)
        assert np.mean(predicted == 2) > 0.9, shuffle


def test_given_logits_take_no_teacher_model_nor_mixup():
    from kws.model.distill import Distiller

    with pytest.raises(ValueError):
        Distiller(_tiny(), given_logits=True, mixup=0.4)
    with pytest.raises(ValueError):
        Distiller(_tiny(), _tiny(1), given_logits=True)


def test_a_diverging_run_stops_in_one_line_before_the_epoch_is_kept():
    """Inputs that overflow the loss to NaN: KwsError naming the epoch and the learning rate; the
    epoch after which it diverged reaches no after_epoch hook (no checkpoint, no best weights)."""
    from kws.errors import KwsError

    epochs = _epochs()
    epochs[1] = (np.full((32, 4, 2), np.nan, np.float32), epochs[1][1])
    kept: list[int] = []
    loop = Loop(_tiny(), SCHEDULE)
    with pytest.raises(KwsError, match=r"diverged in epoch 2: the loss is nan; lower the learning rate \(peak 0.05"):
        loop.run(lambda epoch: epochs[epoch], progress=False, after_epoch=lambda epoch, rows: kept.append(epoch))
    assert kept == [0]
