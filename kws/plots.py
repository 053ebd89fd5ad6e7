"""PNG figures for training runs and evaluations (matplotlib, imported only when a figure is
drawn, without pyplot: headless, no global state), each written atomically or returned as
bytes for the caller to write with its other outputs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .atomic import write_file_atomically

if TYPE_CHECKING:
    from .stream_eval import ThresholdResult


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _save(figure, path: Path) -> None:
    write_file_atomically(Path(path), _png(figure))


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


def zero_fa_position(one_fa_per_hour: float, target_fa_per_hour: float) -> float:
    """Where a log DET axis draws "no false accept": half the rate of one false accept, and left
    of the target line too, since no false accept always meets a target (with a short stream one
    false accept can be 11/h, and a 0 FA point drawn at 5.7/h looked like a miss of 0.5/h)."""
    return min(one_fa_per_hour, target_fa_per_hour if target_fa_per_hour > 0 else one_fa_per_hour) / 2


def det_png(results: Sequence[ThresholdResult], *, default: ThresholdResult, target: ThresholdResult | None,
            target_fa_per_hour: float, title: str = "") -> bytes:
    """The DET curve: false-reject rate against false accepts per hour (log), one point a threshold.

    A log axis has no zero, so thresholds without a single false accept are drawn at half the
    rate of one false accept, marked "0 FA", left of a dotted line.
    """
    from matplotlib.figure import Figure

    from .stream_eval import fa_per_hour

    seconds = results[0].seconds_positive + results[0].seconds_negative
    one = fa_per_hour(1, seconds)
    floor = zero_fa_position(one, target_fa_per_hour)

    def x_of(r: ThresholdResult) -> float:
        return max(r.fa_per_hour, floor)

    ordered = sorted(results, key=lambda r: r.threshold)
    figure = Figure(figsize=(7.5, 5.5), layout="constrained")
    axes = figure.add_subplot()
    snrs = sorted(ordered[0].false_rejects_by_snr, reverse=True)
    if len(snrs) > 1:
        for snr in snrs:
            rates = [100 * fr / n if n else np.nan for fr, n in (r.false_rejects_by_snr[snr] for r in ordered)]
            axes.plot([x_of(r) for r in ordered], rates, linestyle="--", linewidth=1, alpha=0.7,
                      label=f"{snr:g} dB SNR")
    axes.plot([x_of(r) for r in ordered], [100 * r.false_reject_rate for r in ordered], marker="o",
              markersize=4, color="black", linewidth=2, label="all keywords")
    placed: set[tuple[float, float]] = set()
    for r in ordered:
        point = (x_of(r), 100 * r.false_reject_rate)
        if point in placed:  # thresholds at the same point (all the 0 FA ones, often): label the lowest
            continue
        placed.add(point)
        axes.annotate(f"{r.threshold:g}", point, textcoords="offset points", xytext=(4, 4), fontsize=7,
                      color="dimgray")
    axes.plot([x_of(default)], [100 * default.false_reject_rate], marker="*", markersize=16, color="tab:red",
              linestyle="none", label=f"default threshold {default.threshold:g}")
    if target_fa_per_hour > 0:
        axes.axvline(target_fa_per_hour, color="tab:green", linestyle=":", linewidth=1.2)
    if target is not None:
        axes.plot([x_of(target)], [100 * target.false_reject_rate], marker="o", markersize=12,
                  markerfacecolor="none", markeredgecolor="tab:green", markeredgewidth=2, linestyle="none",
                  label=f"target {target_fa_per_hour:g} FA/h: threshold {target.threshold:g}")
    else:
        axes.plot([], [], color="tab:green", linestyle=":", label=f"target {target_fa_per_hour:g} FA/h: not met")
    if any(r.false_accepts == 0 for r in ordered):
        axes.axvline(float(np.sqrt(floor * one)), color="gray", linestyle=":", linewidth=0.8)
        axes.text(floor, 0.01, "0 FA", transform=axes.get_xaxis_transform(), ha="center", va="bottom",
                  fontsize=8, color="gray")
    axes.set_xscale("log")
    xs = [x_of(r) for r in ordered] + ([target_fa_per_hour] if target_fa_per_hour > 0 else [])
    axes.set_xlim(min(xs) / 1.6, max(xs) * 1.6)
    axes.set_ylim(0, max(axes.get_ylim()[1], 5.0))
    axes.set_xlabel(f"false accepts per hour (both streams, {seconds / 3600:.2f} h)")
    axes.set_ylabel("false-reject rate (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="lower left", fontsize=8)  # the corner a DET curve stays away from
    return _png(figure)
