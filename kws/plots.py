"""PNG figures for training runs and evaluations (matplotlib without pyplot: headless, no
global state), each written atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic import write_file_atomically


def _save(figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_file_atomically(Path(path), buffer.getvalue())


def plot_curves(history: Sequence[dict[str, float]], path: Path) -> None:
    """Loss and accuracy per epoch (training, and validation where measured)."""
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [row["loss"] for row in history], label="training loss")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    loss_axes.grid(alpha=0.3)
    accuracy_axes.plot(epochs, [row["accuracy"] for row in history], label="training (augmented)")
    if any(np.isfinite(row.get("val_accuracy", np.nan)) for row in history):
        accuracy_axes.plot(epochs, [row["val_accuracy"] for row in history], label="validation (held-out speakers)")
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.grid(alpha=0.3)
    accuracy_axes.legend(loc="lower right")
    _save(figure, path)


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true label, column = predicted."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def plot_confusion(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[str], path: Path, title: str = "") -> None:
    from matplotlib.figure import Figure

    matrix = confusion_matrix(truth, predicted, len(labels))
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(7.5, 6.5), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                axes.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                          color="white" if rates[i, j] > 0.5 else "black")
    axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="share of the true class")
    _save(figure, path)
