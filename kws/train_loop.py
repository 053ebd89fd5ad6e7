"""The one training loop: the 12-class and the wake-word recipes only supply their data and hooks.

Every model of kws is trained the same way: Adam with a learning rate that decays on a cosine
from its peak to a floor over all the run's steps, one Keras ``fit`` epoch at a time on inputs
the recipe draws afresh for that epoch (augmented, through the device's q15 MFCC and the integer
input rule). Around that :class:`Loop` offers what the recipes need:

- distillation from any teacher that maps a batch of model inputs to logits
  (:class:`kws.model.distill.Distiller`), mixup with it; or from a teacher that hears something
  else (the audio itself): its logits then come from the epoch source with the inputs;
- a checkpoint to resume an interrupted run from (weights, optimizer state, history);
- hooks: before an epoch (hard-negative mining with the model being trained), after it
  (evaluation, keeping the best weights, saving);
- the student's weights averaged over the last N epochs;
- one progress bar (:func:`kws.progress.progress_bar`).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .atomic import write_file_atomically
from .errors import KwsError
from .progress import progress_bar

#: An epoch source: the epoch's number -> (float model inputs (n, frames, n_mfcc), labels (n,)),
#: and with ``Loop(teacher_logits=True)`` the teacher's logits (n, classes) third.
EpochSource = Callable[[int], tuple[np.ndarray, ...]]
#: A history row: the epoch's number (from 1), its loss and accuracy, what the hooks add, seconds.
Row = dict[str, Any]


@dataclass(frozen=True)
class Schedule:
    """How long and how fast: ``epochs`` of ``steps_per_epoch`` batches of ``batch_size``;
    the learning rate decays on a cosine from ``learning_rate`` to ``final_learning_rate``."""

    epochs: int
    batch_size: int
    steps_per_epoch: int
    learning_rate: float
    final_learning_rate: float

    @classmethod
    def of(cls, config: Any, steps_per_epoch: int) -> "Schedule":
        """From a recipe's config, which names ``epochs``, ``batch_size``, ``learning_rate`` and
        ``final_learning_rate`` alike."""
        return cls(epochs=config.epochs, batch_size=config.batch_size, steps_per_epoch=steps_per_epoch,
                   learning_rate=config.learning_rate, final_learning_rate=config.final_learning_rate)


@dataclass(frozen=True)
class Distillation:
    """The :class:`~kws.model.distill.Distiller`'s settings (its docstring has the loss)."""

    temperature: float
    alpha: float  # weight of the hard-label loss
    mixup: float = 0.0  # Beta concentration of mixup on each batch; 0 = off


class Loop:
    """The optimiser and the model that ``fit`` trains, for ``student``.

    With a ``teacher`` or ``distillation`` settings the student trains through the
    :class:`~kws.model.distill.Distiller`'s train step (without a teacher: plain cross-entropy,
    with mixup if asked; the 12-class recipe always goes this way, which also carries it through
    ``tf.distribute``). With neither, the student is compiled as a plain Keras classifier
    (cross-entropy, Keras' own train step), as the wake-word recipe trains: not folded into the
    Distiller, whose logged loss is a mean over batches where Keras weighs each batch by its
    size, so the wake-word models and histories would change.

    ``teacher_logits``: no teacher model; the epoch source gives the teacher's logits of each
    example (a teacher that hears the audio, not the student's features), and the Distiller
    learns from those.

    ``shuffle``: Keras shuffles each epoch's examples (wake words); otherwise they are fed in
    the order given, as a tf.data pipeline that ``tf.distribute`` shards across replicas (the
    12-class recipe permutes each epoch from its seed itself).
    """

    def __init__(self, student, schedule: Schedule, *, teacher=None, distillation: Distillation | None = None,
                 teacher_logits: bool = False, shuffle: bool = False, strategy=None) -> None:
        import keras
        import tensorflow as tf

        self.student = student
        self.schedule = schedule
        self.shuffle = shuffle
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            self.learning_rate = keras.optimizers.schedules.CosineDecay(
                schedule.learning_rate, decay_steps=max(1, schedule.steps_per_epoch * schedule.epochs),
                alpha=schedule.final_learning_rate / schedule.learning_rate)
            self.optimizer = keras.optimizers.Adam(self.learning_rate)
            if teacher is None and distillation is None and not teacher_logits:
                self.model = student
                student.compile(optimizer=self.optimizer, metrics=["accuracy"],
                                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            else:
                from .model.distill import Distiller

                settings = asdict(distillation) if distillation else {}  # else the Distiller's defaults
                self.model = Distiller(student, teacher, given_logits=teacher_logits, **settings)
                self.model.compile(optimizer=self.optimizer)
                # Built before fitting: a checkpoint's optimizer state can be restored into it,
                # and MultiWorkerMirroredStrategy needs it (Distiller._maybe_symbolic_build).
                self.model.build((None, *student.input_shape[1:]))
            self.optimizer.build(student.trainable_variables)

    def current_learning_rate(self) -> float:
        return float(self.learning_rate(self.optimizer.iterations))

    def fit_epoch(self, epoch: int, inputs: np.ndarray, labels: np.ndarray,
                  teacher_logits: np.ndarray | None = None) -> Row:
        """One Keras epoch on ``inputs`` (n, frames, n_mfcc) (and the teacher's logits of them);
        its row: epoch, loss, accuracy."""
        batch_size = self.schedule.batch_size
        if self.shuffle and teacher_logits is None:
            result = self.model.fit(inputs[..., None], labels, batch_size=batch_size, epochs=epoch + 1,
                                    initial_epoch=epoch, verbose=0, shuffle=True)
        else:
            if self.shuffle:  # Keras cannot shuffle a third array with x and y: permute here
                order = np.random.default_rng(epoch).permutation(len(inputs))
                inputs, labels, teacher_logits = inputs[order], labels[order], teacher_logits[order]
            result = self.model.fit(_dataset(inputs, labels, batch_size, teacher_logits), epochs=epoch + 1,
                                    initial_epoch=epoch, verbose=0, shuffle=False)
        return {"epoch": epoch + 1, "loss": float(result.history["loss"][-1]),
                "accuracy": float(result.history["accuracy"][-1])}

    def run(self, epochs: EpochSource, *, start: int = 0, history: list[Row] | None = None,
            before_epoch: Callable[[int], None] | None = None,
            evaluate: Callable[[int, np.ndarray], dict[str, Any]] | None = None,
            after_epoch: Callable[[int, list[Row]], None] | None = None,
            average_epochs: int = 0, progress: bool = True, desc: str = "training") -> list[Row]:
        """Train epochs ``start`` .. ``schedule.epochs - 1``; returns the history (``history``'s
        rows, those of a resumed run, then one row per epoch).

        ``before_epoch(epoch)`` runs before the epoch's data is drawn; ``evaluate(epoch, labels)``
        after its fit gives fields for its row (validation accuracy, ...); ``after_epoch(epoch,
        history)`` gets the history with the epoch's row (keep the best weights, save).
        With ``average_epochs`` the student ends as the mean of its weights after each of the
        last ``average_epochs`` epochs (batch-norm statistics included).
        """
        total = self.schedule.epochs
        history = list(history or [])
        averaged: list[np.ndarray] = []
        bar = progress_bar(range(start, total), enabled=progress, initial=start, total=total, desc=desc, unit="epoch")
        for epoch in bar:
            started = time.time()
            if before_epoch is not None:
                before_epoch(epoch)
            inputs, labels, *teacher_logits = epochs(epoch)
            row = self.fit_epoch(epoch, inputs, labels, *teacher_logits)
            if not np.isfinite(row["loss"]):
                # Said before this epoch is kept anywhere: the checkpoint and best weights stay
                # those of the last sound epoch, and nothing is exported.
                raise KwsError(f"training diverged in epoch {epoch + 1}: the loss is {row['loss']}; lower the "
                               f"learning rate (peak {self.schedule.learning_rate:g}, --learning-rate)")
            if evaluate is not None:
                row.update(evaluate(epoch, labels))
            row["seconds"] = round(time.time() - started, 1)
            history.append(row)
            if after_epoch is not None:
                after_epoch(epoch, history)
            if average_epochs and epoch >= total - average_epochs:
                weights = self.student.get_weights()
                averaged = [w.astype(np.float64) for w in weights] if not averaged else \
                    [a + w for a, w in zip(averaged, weights)]
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(" ".join(f"{_SHORT[k]} {row[k]:.3f}" for k in _SHORT if k in row))
        if averaged:
            self.student.set_weights([a / min(average_epochs, total) for a in averaged])
        return history

    # --- checkpoints: resume an interrupted run -------------------------------------------------

    def save_checkpoint(self, path: Path, history: list[Row], **scalars: float) -> None:
        """The student's weights, the optimizer's state, the history and ``scalars`` after the
        last epoch of ``history``, written atomically."""
        save_npz(path, {**_numbered(self.student.get_weights(), "w"),
                        **_numbered([v.numpy() for v in self.optimizer.variables], "o"),
                        "history": np.array(json.dumps(history)), "epoch": np.array(len(history)),
                        **{name: np.array(value) for name, value in scalars.items()}})

    def resume(self, path: Path) -> tuple[int, list[Row], dict[str, float]]:
        """Restore a checkpoint into the student and the optimizer: (epochs done, history, scalars)."""
        with damage_said(path), np.load(path, allow_pickle=False) as archive:
            self.student.set_weights(_numbered_list(archive, "w"))
            for variable, value in zip(self.optimizer.variables, _numbered_list(archive, "o")):
                variable.assign(value)
            scalars = {name: float(archive[name]) for name in archive.files
                       if name not in ("history", "epoch") and not _NUMBERED.fullmatch(name)}
            return int(archive["epoch"]), json.loads(str(archive["history"])), scalars


#: The row's fields the progress bar shows, by their short names.
_SHORT = {"loss": "loss", "accuracy": "acc", "val_accuracy": "val"}


class BestWeights:
    """Keeps the student's weights of the best-scoring epoch in ``path`` (a later epoch wins a
    tie; an epoch scored NaN, as when there is nothing to validate on, counts as best)."""

    def __init__(self, path: Path, best: float = -1.0) -> None:
        self.path = Path(path)
        self.best = best

    def offer(self, student, score: float) -> bool:
        if not (np.isnan(score) or score >= self.best):
            return False
        self.best = self.best if np.isnan(score) else score
        save_weights(self.path, student.get_weights())
        return True


def _dataset(inputs: np.ndarray, labels: np.ndarray, batch_size: int, teacher_logits: np.ndarray | None = None):
    """The epoch as a tf.data pipeline (what tf.distribute shards across replicas)."""
    import tensorflow as tf

    columns = (inputs[..., None], labels.astype(np.int32))
    if teacher_logits is not None:
        columns += (teacher_logits.astype(np.float32),)
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# --- weights in .npz files ------------------------------------------------------------------


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_file_atomically(path, buffer.getvalue())


def save_weights(path: Path, weights: list[np.ndarray]) -> None:
    save_npz(path, _numbered(weights, "w"))


@contextmanager
def damage_said(path: Path):
    """Inside: a weights or checkpoint file that is truncated, not an .npz, or holds the wrong
    arrays (a missing name, shapes the model refuses) becomes one KwsError naming it."""
    try:
        yield
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0][:120] or type(error).__name__
        raise KwsError(f"cannot use {path}: damaged or not this run's weights ({reason}); "
                       f"remove it and train again") from None


def load_weights(path: Path) -> list[np.ndarray]:
    with damage_said(path), np.load(path, allow_pickle=False) as archive:
        return _numbered_list(archive, "w")


#: The names of numbered arrays: weights (w0000, ...) and optimizer variables (o0000, ...).
_NUMBERED = re.compile(r"[wo]\d{4,}")


def _numbered(arrays: list[np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}{i:04d}": a for i, a in enumerate(arrays)}


def _numbered_list(archive: Any, prefix: str) -> list[np.ndarray]:
    return [archive[k] for k in sorted(k for k in archive.files if k.startswith(prefix))]
