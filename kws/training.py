"""The 12-class Speech Commands recipe: its data, its run directory; :mod:`kws.train_loop` trains.

One code path trains the teacher, the student alone and the distilled student
(:class:`kws.model.distill.Distiller`). Every epoch draws a fresh, seeded, augmented set of
clips, computes their q15 MFCC with :func:`dsp.mfcc_q15` (the integers the device computes),
maps them through the model's integer input rule, and the loop runs one Keras ``fit`` epoch on
them; after it the recipe validates, keeps the best weights and saves a checkpoint.

A run directory holds ``config.json``, ``labels.json``, ``split.json``, ``history.csv``,
``checkpoint.npz`` (weights, optimizer state and history after the last finished epoch: an
interrupted run resumes from it), ``best.weights.npz``, ``metrics.json``, ``curves.png`` and
``confusion.png``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dsp import MfccConfig
from dsp.config import SAMPLE_RATE

from .atomic import write_file_atomically
from .data.augment import AugmentConfig, augment_audio, mask_features
from .data.speech_commands import (KEYWORDS, LABELS, SILENCE, UNKNOWN, Clip, assign_splits, fold_split,
                                   has_official_lists, scan, speaker_holdout)
from .errors import KwsError
from .input_rule import InputRule
from .teachers import EMBEDDING, describe_teacher
from .train_loop import BestWeights, Distillation, Loop, Schedule, damage_said, load_weights, save_npz


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as the run's ``config.json``."""

    data: tuple[str, ...] = ()  # Speech Commands roots (standard layout)
    architecture: str = "ds-cnn-s"  # a key of kws.model.dscnn.ARCHITECTURES
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 3e-3  # peak, then cosine decay
    final_learning_rate: float = 5e-5
    seed: int = 0
    validation_percent: float = 20.0  # of speakers, held out; 0 trains on everything
    unknown_ratio: float = 1.0  # unknown clips per epoch, relative to the mean keyword count
    silence_ratio: float = 1.0
    clip_samples: int = SAMPLE_RATE  # one second
    calibration_clips: int = 300
    max_clips_per_label: int = 0  # 0: all; a small number for --quick smoke runs
    # teacher run directories, comma-separated: distil from them (their mean logits); or
    # "embedding" (kws.teachers.EMBEDDING): the speech embedding with a head trained on this run's clips
    teacher: str = ""
    temperature: float = 4.0
    alpha: float = 0.3  # weight of the hard-label loss when distilling
    # the embedding teacher's heads cross-fitted over this many speaker parts, so that each real
    # training clip is labelled by a head that never heard its speaker (kws.teachers.cross_fit);
    # 0: one head trained on all the real training clips
    teacher_cross_fit: int = 0
    # drop the synthetic clips that the embedding teacher (trained on the real training clips)
    # does not hear as their word (kws.training.filter_synthetic): an intelligibility filter
    filter_synthetic: bool = False
    # what the embedding teacher labels: "augmented", each epoch's augmented audio (as the student
    # hears it), or "clean", each training clip once before augmentation, its logits reused for
    # every augmented draw of it (about 25 times cheaper; silence is labelled as drawn)
    teacher_hears: str = "augmented"
    mixup: float = 0.0  # Beta concentration of mixup on each batch (0 = off); see kws.model.distill
    # k-fold validation by speakers (kws.data.speech_commands.fold_split): with folds >= 2, fold
    # `fold` is the test fold, reported apart and never trained on or chosen on, and
    # validation_percent is the share of the other speakers that picks the best epoch
    folds: int = 0
    fold: int = 0
    # structured pruning (kws.model.prune): after the epochs, keep this many channels in every
    # block and fine-tune for prune_epochs more (0: a third of the epochs); the run's model is
    # the pruned one. 0: no pruning
    prune_to: int = 0
    prune_epochs: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    mfcc: MfccConfig = field(default_factory=MfccConfig)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["data"] = list(self.data)
        values["augment"] = self.augment.to_dict()
        values["mfcc"] = self.mfcc.to_dict()
        if not self.folds:
            # Without folds the config (and so every run and model file) reads as it did before them.
            del values["folds"], values["fold"]
        for newer, default in (("teacher_cross_fit", 0), ("filter_synthetic", False), ("teacher_hears", "augmented"),
                               ("prune_to", 0), ("prune_epochs", 0)):
            if values[newer] == default:
                del values[newer]  # likewise
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        values = dict(values)
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise KwsError(f"unknown training settings: {', '.join(sorted(unknown))}")
        if "data" in values:
            values["data"] = tuple(values["data"])
        if "augment" in values:
            values["augment"] = AugmentConfig.from_dict(values["augment"])
        if "mfcc" in values:
            values["mfcc"] = MfccConfig.from_dict(values["mfcc"])
        return cls(**values)


@dataclass
class PreparedData:
    """Clips in memory and the fixed parts of the data pipeline."""

    train_audio: np.ndarray  # (n, clip_samples) int16
    train_labels: np.ndarray  # (n,) int
    silence_audio: np.ndarray  # (m, clip_samples) int16, ready-cut silence of the training speakers
    noise: list[np.ndarray]  # background-noise recordings, float
    val_features: np.ndarray  # (k, frames, n_mfcc) int16 q8.7, clean
    val_audio: np.ndarray  # (k, clip_samples) int16, the clips of val_features
    val_labels: np.ndarray
    val_paths: list[str]
    rule: InputRule
    calibration: np.ndarray  # (c, frames, n_mfcc) float model inputs
    calibration_paths: list[str]
    split: dict[str, Any]
    # the test fold of a k-fold run (empty otherwise): clean q8.7 features, labels, files
    test_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.int16))
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    test_paths: list[str] = field(default_factory=list)
    # per row of train_audio: its speaker (group), and whether it is a synthetic voice's clip
    train_groups: list[str] = field(default_factory=list)
    train_synthetic: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _load_audio_matrix(paths: list[Path], clip_samples: int, sample_rate: int) -> np.ndarray:
    from .audio import load_audio
    from .data.feature_cache import fit_length

    out = np.zeros((len(paths), clip_samples), dtype=np.int16)
    for i, path in enumerate(paths):
        out[i] = fit_length(load_audio(path, sample_rate=sample_rate).samples, clip_samples)
    return out


def _limit(clips: list[Clip], per_label: int) -> list[Clip]:
    if not per_label:
        return clips
    seen: dict[str, int] = {}
    kept = []
    for clip in clips:
        if seen.get(clip.label, 0) < per_label:
            kept.append(clip)
            seen[clip.label] = seen.get(clip.label, 0) + 1
    return kept


def _balanced_validation(clips: list[Clip]) -> list[Clip]:
    """Held-out clips with ``_unknown_`` cut to the mean keyword count, as in the official test
    set, where each of the 12 classes is about equally frequent. Deterministic."""
    if not clips:
        return []
    keyword_counts = [sum(c.label == k for c in clips) for k in KEYWORDS]
    cap = max(1, int(round(np.mean(keyword_counts)))) if any(keyword_counts) else len(clips)
    unknown = [c for c in clips if c.label == UNKNOWN]
    step = max(1, len(unknown) // cap)
    return [c for c in clips if c.label != UNKNOWN] + unknown[::step][:cap]


def prepare_data(config: TrainConfig, *, cache_dir: Path | None = None, progress: bool = False) -> PreparedData:
    from .data.feature_cache import clip_features

    if not config.data:
        raise KwsError("no training data: give at least one Speech Commands folder (--data DIR)")
    from .data.synthetic import read_marker

    clips: list[Clip] = []
    synthetic: list[Clip] = []  # clips of folders `kws data synthesize` wrote: always trained on
    noise_paths: list[Path] = []
    for root in config.data:
        try:
            found, noise = scan(root)
        except FileNotFoundError as error:
            raise KwsError(str(error)) from None
        # A fake speaker's clips would otherwise fall into a test fold or validation by hash, and
        # a figure on them says nothing about people.
        (synthetic if read_marker(Path(root)) is not None else clips).extend(found)
        noise_paths += noise
    if not noise_paths:
        raise KwsError("no _background_noise_ folder in the training data: it is needed for silence and augmentation")
    clips = _limit(clips, config.max_clips_per_label)
    roots = [Path(r) for r in config.data]
    test: list[Clip] = []
    if config.folds:
        check_folds(config)
        if any(has_official_lists(r) for r in roots):
            raise KwsError("--folds splits speakers by hash: it cannot be used with a corpus that has official "
                           "validation/testing lists")
        train, held, test = fold_split(clips, folds=config.folds, fold=config.fold,
                                       inner_percent=config.validation_percent)
        method = (f"speaker folds: fold {config.fold} of {config.folds} is the test fold; "
                  f"{config.validation_percent:g}% of the other speakers validate (choose the epoch)")
    elif any(has_official_lists(r) for r in roots):
        # A full corpus: its own lists decide, and its testing split is never trained on.
        splits = assign_splits(clips, roots)
        train, held = splits["training"], splits["validation"]
        if config.validation_percent == 0:
            train, held = train + held, []
        method = "the corpus' official validation list"
    else:
        train, held = speaker_holdout(clips, percent=config.validation_percent)
        method = f"speaker hash, {config.validation_percent:g}% of speakers held out"
    synthetic = _limit(synthetic, config.max_clips_per_label)
    synthetic_paths = {c.path for c in synthetic}
    train = train + synthetic
    val = _balanced_validation(held)
    test = _balanced_validation(test)
    missing = [label for label in LABELS if label != SILENCE and not any(c.label == label for c in train)]
    if missing:
        raise KwsError(f"the training data has no clips of: {', '.join(missing)}")

    from .audio import load_audio

    sample_rate = config.mfcc.sample_rate
    noise = [load_audio(p, sample_rate=sample_rate).samples.astype(np.float32) / 32768.0 for p in noise_paths]
    noise = [n for n in noise if len(n) >= config.clip_samples]
    speech = [c for c in train if c.label != SILENCE]
    silence = [c for c in train if c.label == SILENCE]
    train_audio = _load_audio_matrix([c.path for c in speech], config.clip_samples, sample_rate)
    silence_audio = _load_audio_matrix([c.path for c in silence], config.clip_samples, sample_rate)
    label_index = {label: i for i, label in enumerate(LABELS)}

    clean_train = clip_features([c.path for c in speech], config=config.mfcc, clip_samples=config.clip_samples,
                                cache_dir=cache_dir, progress=progress)
    rule = InputRule.fit(clean_train)
    # Pinned calibration set: evenly spaced training clips in path order (already sorted).
    step = max(1, len(speech) // max(1, config.calibration_clips))
    calibration_index = np.arange(0, len(speech), step)[: config.calibration_clips]
    val_features, val_audio, val_labels, generated_silence = _held_out_set(val, config, noise, cache_dir=cache_dir,
                                                                            progress=progress)
    training_speakers = sorted({c.speaker for c in train if c.speaker})
    split = {
        "method": method,
        "generated_validation_silence": generated_silence,
        "training_clips": len(train), "validation_clips": len(val),
        "training_speakers": len(training_speakers),
        # who trained it, so that `kws evaluate` can say when a folder holds the same people
        "training_speaker_ids": training_speakers,
        "validation_speakers": sorted({c.speaker for c in val if c.speaker}),
    }
    fold_test: dict[str, Any] = {}
    if config.folds:
        test_features, _, test_labels, test_silence = _held_out_set(test, config, noise, cache_dir=cache_dir,
                                                                     progress=progress)
        fold_test = {"test_features": test_features, "test_labels": test_labels,
                     "test_paths": [str(c.path) for c in test]}
        split.update({"folds": config.folds, "fold": config.fold, "inner_validation_percent": config.validation_percent,
                      "test_clips": len(test), "generated_test_silence": test_silence,
                      "test_speakers": sorted({c.speaker for c in test if c.speaker})})
    return PreparedData(
        train_audio=train_audio,
        train_labels=np.array([label_index[c.label] for c in speech]),
        silence_audio=silence_audio,
        noise=noise,
        val_features=val_features,
        val_audio=val_audio,
        val_labels=val_labels,
        val_paths=[str(c.path) for c in val],
        rule=rule,
        calibration=rule.model_input(clean_train[calibration_index]),
        calibration_paths=[str(speech[i].path) for i in calibration_index],
        split=split,
        train_groups=[c.group for c in speech],
        train_synthetic=np.array([c.path in synthetic_paths for c in speech], dtype=bool),
        **fold_test,
    )


def check_folds(config: TrainConfig) -> None:
    """Refuse a fold selection that cannot work, before anything is written."""
    if config.folds == 0 and config.fold == 0:
        return
    if config.folds == 0:
        raise KwsError("--fold needs --folds K")
    if config.folds < 2:
        raise KwsError(f"--folds must be at least 2, not {config.folds}")
    if not 0 <= config.fold < config.folds:
        raise KwsError(f"--fold must be 0 .. {config.folds - 1} with --folds {config.folds}, not {config.fold}")


def check_ranges(config: TrainConfig) -> None:
    """Refuse numbers a run cannot use (NaN, negative epochs, alpha above 1, ...), from the
    command line or a config file alike, naming the option."""
    from .validate import finite, whole

    whole("--epochs", config.epochs, low=1)
    whole("--batch-size", config.batch_size, low=1)
    whole("--seed", config.seed, low=0)
    whole("calibration_clips", config.calibration_clips, low=1)
    whole("max_clips_per_label", config.max_clips_per_label, low=0)
    whole("--teacher-cross-fit", config.teacher_cross_fit, low=0)
    whole("--prune-to", config.prune_to, low=0)
    whole("--prune-epochs", config.prune_epochs, low=0)
    finite("--learning-rate", config.learning_rate, above=0)
    finite("final_learning_rate", config.final_learning_rate, above=0)
    finite("--validation-percent", config.validation_percent, low=0, below=100)
    finite("unknown_ratio", config.unknown_ratio, low=0)
    finite("silence_ratio", config.silence_ratio, low=0)
    finite("--temperature", config.temperature, above=0)
    finite("--alpha", config.alpha, low=0, high=1)
    finite("--mixup", config.mixup, low=0)


def check_prune(config: TrainConfig) -> None:
    """Refuse a pruning that cannot work (a width the architecture does not exceed), before
    anything is written."""
    from .model.dscnn import ARCHITECTURES

    if config.prune_epochs and not config.prune_to:
        raise KwsError("--prune-epochs needs --prune-to WIDTH")
    if config.prune_to and config.architecture in ARCHITECTURES:
        width = ARCHITECTURES[config.architecture].channels
        if not 1 <= config.prune_to < width:
            raise KwsError(f"--prune-to must be 1 to {width - 1} (narrower than {config.architecture}'s "
                           f"{width} channels), not {config.prune_to}")


def prune_epochs(config: TrainConfig) -> int:
    """The fine-tuning epochs of a pruned run: ``prune_epochs``, or a third of ``epochs``."""
    return config.prune_epochs or max(1, round(config.epochs / 3))


#: ``TrainConfig.teacher_hears`` choices.
TEACHER_HEARS = ("augmented", "clean")


def check_teacher(config: TrainConfig) -> None:
    """Refuse teacher settings that cannot work, before anything is written."""
    if config.teacher_cross_fit and (config.teacher != EMBEDDING or config.teacher_cross_fit < 2):
        raise KwsError(f"--teacher-cross-fit needs --teacher {EMBEDDING} and at least 2 parts, "
                       f"not {config.teacher_cross_fit}")
    if config.teacher_hears not in TEACHER_HEARS:
        raise KwsError(f"--teacher-hears must be one of {', '.join(TEACHER_HEARS)}, not {config.teacher_hears!r}")
    if config.teacher == EMBEDDING and config.mixup > 0:
        raise KwsError("the embedding teacher labels each clip once, unblended: distil from it without --mixup")


def _held_out_set(clips: list[Clip], config: TrainConfig, noise: list[np.ndarray], *, cache_dir: Path | None,
                  progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Clean q8.7 features, int16 audio and labels of held-out clips, and how many _silence_
    clips were generated for a corpus that has none ready-cut."""
    from .data.feature_cache import clip_features

    sample_rate = config.mfcc.sample_rate
    label_index = {label: i for i, label in enumerate(LABELS)}
    features = (clip_features([c.path for c in clips], config=config.mfcc, clip_samples=config.clip_samples,
                              cache_dir=cache_dir, progress=progress)
                if clips else np.zeros((0, *config.mfcc.window_shape(config.clip_samples)), np.int16))
    labels = [label_index[c.label] for c in clips]
    audio = _load_audio_matrix([c.path for c in clips], config.clip_samples, sample_rate)
    generated_silence = 0
    if clips and not any(c.label == SILENCE for c in clips):
        # Corpora without ready-cut silence (the official archives): validate _silence_ on
        # background-noise clips made with a fixed seed, as many as an average keyword has.
        generated_silence = max(1, int(round(np.mean([sum(c.label == k for c in clips) for k in KEYWORDS]))))
        rng = np.random.default_rng(20171)
        quiet = augment_audio(np.zeros((generated_silence, config.clip_samples), np.int16),
                              np.ones(generated_silence, bool), noise, rng, config.augment, sample_rate)
        features = np.concatenate([features, mfcc_q15_clips(quiet, config.mfcc)])
        audio = np.concatenate([audio, quiet])
        labels += [label_index[SILENCE]] * generated_silence
    return features, audio, np.array(labels, dtype=int), generated_silence


def _epoch_composition(data: PreparedData, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(keyword clip indices, unknown clip pool, unknown clips per epoch, silence clips per epoch)."""
    labels = data.train_labels
    keyword_ids = [LABELS.index(k) for k in KEYWORDS]
    mean_keyword = np.mean([np.sum(labels == k) for k in keyword_ids])
    unknown_pool = np.flatnonzero(labels == LABELS.index(UNKNOWN))
    n_unknown = min(len(unknown_pool), int(round(config.unknown_ratio * mean_keyword)))
    n_silence = int(round(config.silence_ratio * mean_keyword))
    return np.flatnonzero(np.isin(labels, keyword_ids)), unknown_pool, n_unknown, n_silence


def epoch_size(data: PreparedData, config: TrainConfig) -> int:
    keywords, _, n_unknown, n_silence = _epoch_composition(data, config)
    return len(keywords) + n_unknown + n_silence


def epoch_data(data: PreparedData, config: TrainConfig, epoch: int,
               teacher: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """The augmented inputs and labels of one epoch, reproducible from (seed, epoch); with a
    ``teacher`` (int16 audio (n, samples) and the training-clip row each was drawn from, -1 for
    silence -> logits (n, classes)) its logits of the same augmented audio come third, before
    the student's feature masks."""
    rng = np.random.default_rng([config.seed, epoch])
    audio, epoch_labels, sources = epoch_audio(data, config, rng)
    features = mfcc_q15_clips(audio, config.mfcc)
    inputs = mask_features(data.rule.model_input(features), rng, config.augment)
    order = rng.permutation(len(inputs))
    if teacher is None:
        return inputs[order], epoch_labels[order]
    return inputs[order], epoch_labels[order], teacher(audio, sources)[order]


def epoch_audio(data: PreparedData, config: TrainConfig,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An epoch's clips, drawn and augmented with ``rng``: (int16 audio (n, clip_samples), labels,
    the row of ``data.train_audio`` each was drawn from, -1 for silence)."""
    labels = data.train_labels
    keywords, unknown_pool, n_unknown, n_silence = _epoch_composition(data, config)
    chosen = np.concatenate([keywords, rng.choice(unknown_pool, n_unknown, replace=False)])
    audio = data.train_audio[chosen]
    epoch_labels = labels[chosen]
    sources = chosen
    if n_silence:
        # Half of the silence starts from the corpus' own silence clips, half from nothing;
        # augmentation then lays background noise over all of it.
        base = np.zeros((n_silence, config.clip_samples), dtype=np.int16)
        if len(data.silence_audio):
            from_corpus = rng.random(n_silence) < 0.5
            base[from_corpus] = data.silence_audio[rng.integers(len(data.silence_audio), size=from_corpus.sum())]
        audio = np.concatenate([audio, base])
        epoch_labels = np.concatenate([epoch_labels, np.full(n_silence, LABELS.index(SILENCE))])
        sources = np.concatenate([sources, np.full(n_silence, -1)])
    is_silence = epoch_labels == LABELS.index(SILENCE)
    return (augment_audio(audio, is_silence, data.noise, rng, config.augment, config.mfcc.sample_rate), epoch_labels,
            sources)


def mfcc_q15_clips(clips: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(n, samples) int16 -> (n, frames, n_mfcc) int16: all clips framed and computed at once."""
    from dsp.mfcc_q15 import frame_signal, mfcc_q15_frames

    frames = np.concatenate([frame_signal(c, config=config) for c in clips])
    return mfcc_q15_frames(frames, config=config).reshape(len(clips), *config.window_shape(clips.shape[1]))


# ----------------------------------------------------------------------------- the recipe


def model_architecture(config: TrainConfig, *, pruned: bool = True):
    """The DsCnnConfig of the run's model: its architecture, narrowed to ``prune_to`` channels
    when pruned (``pruned=False``: the width it trains at before pruning)."""
    from dataclasses import replace

    from .model.dscnn import ARCHITECTURES

    if config.architecture not in ARCHITECTURES:
        raise KwsError(f"unknown architecture {config.architecture!r}; choose from {', '.join(ARCHITECTURES)}")
    architecture = ARCHITECTURES[config.architecture]
    return replace(architecture, channels=config.prune_to) if pruned and config.prune_to else architecture


def build_student(config: TrainConfig, *, pruned: bool = True):
    from .model.dscnn import build_dscnn

    return build_dscnn(config.mfcc.window_shape(config.clip_samples), len(LABELS),
                       model_architecture(config, pruned=pruned))


def load_run_model(run_dir: Path, *, best: bool = True):
    """The trained Keras model of a run directory (best epoch by default)."""
    config = read_run_config(run_dir)
    model = build_student(config)
    weights = run_dir / ("best.weights.npz" if best else "checkpoint.npz")
    if not weights.exists():
        raise KwsError(f"{run_dir} has no trained weights yet ({weights.name} missing)")
    with damage_said(weights):
        model.set_weights(load_weights(weights))
    return model, config


def load_teacher(config: TrainConfig):
    """The teacher of ``config``: one run's model, or for several runs (an ensemble) a model
    giving the mean of their logits, which is usually a better teacher than any one of them."""
    import keras

    models = []
    for run in (part.strip() for part in config.teacher.split(",") if part.strip()):
        model, teacher_config = load_run_model(Path(run))
        if teacher_config.mfcc != config.mfcc or teacher_config.clip_samples != config.clip_samples:
            raise KwsError(f"teacher {run} was trained on other features; retrain it with this config")
        model.trainable = False
        models.append(model)
    if len(models) == 1:
        return models[0]
    inputs = keras.Input(models[0].input_shape[1:])
    for number, model in enumerate(models):  # a functional model wants unique names
        model.name = f"teacher_{number}"
    return keras.Model(inputs, keras.layers.Average()([m(inputs) for m in models]), name="teacher_ensemble")


#: Augmented draws of the training clips that the embedding teacher's head learns from, besides
#: the clean clips: it then knows the noisy, shifted audio it will label in every epoch.
TEACHER_AUGMENTED_DRAWS = 2


def _training_rows(data: PreparedData, keep: np.ndarray) -> PreparedData:
    """``data`` with only the training clips (rows of ``train_audio``) where ``keep`` is True."""
    from dataclasses import replace as replace_data

    return replace_data(data, train_audio=data.train_audio[keep], train_labels=data.train_labels[keep],
                        train_groups=[g for g, k in zip(data.train_groups, keep) if k],
                        train_synthetic=data.train_synthetic[keep])


def _teacher_clips(data: PreparedData, config: TrainConfig, keep: np.ndarray, *, part: int = 0):
    """The audio (parts, each cached apart) and labels a teacher head learns from: the kept
    training clips, the silence clips, and augmented draws of the kept clips."""
    kept = _training_rows(data, keep)
    audio = [kept.train_audio, data.silence_audio]
    labels = [kept.train_labels, np.full(len(data.silence_audio), LABELS.index(SILENCE))]
    for draw in range(TEACHER_AUGMENTED_DRAWS):
        # A seed stream of its own, apart from the epochs' (seed, epoch); part 0 draws what a
        # single head always drew.
        stream = [config.seed, 1 << 20, draw] + ([part] if part else [])
        drawn, drawn_labels, _ = epoch_audio(kept, config, np.random.default_rng(stream))
        audio.append(drawn)
        labels.append(drawn_labels)
    return audio, labels


def fit_embedding_teacher(data: PreparedData, config: TrainConfig, path: Path, *, cache_dir: Path | None = None,
                          log: Callable[[str], None] = print):
    """The speech-embedding teacher of a run, saved at ``path`` (or loaded from there when a
    resumed run has it): a head trained on the run's real training clips (never a held-out
    speaker, never a synthetic voice, which it labels instead); with ``teacher_cross_fit`` K, K
    heads by speaker part (:class:`kws.teachers.cross_fit.CrossFitTeacher`)."""
    from .data.feature_cache import DEFAULT_CACHE_DIR
    from .teachers.cross_fit import CrossFitTeacher, part_path, speaker_parts
    from .teachers.embedding import EmbeddingTeacher

    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    real = ~data.train_synthetic if len(data.train_synthetic) else np.ones(len(data.train_labels), bool)
    parts = config.teacher_cross_fit
    if not parts:
        if Path(path).exists():
            return EmbeddingTeacher.load(path, cache_dir=cache_dir)
        audio, labels = _teacher_clips(data, config, real)
        teacher = EmbeddingTeacher.fit(audio, labels, len(LABELS), seed=config.seed, cache_dir=cache_dir, log=log)
        teacher.save(path)
        return teacher
    clip_parts = speaker_parts(data.train_groups, ~real, parts=parts)
    heads = []
    for part in range(parts):
        saved = part_path(path, part)
        if saved.exists():
            heads.append(EmbeddingTeacher.load(saved, cache_dir=cache_dir))
            continue
        audio, labels = _teacher_clips(data, config, real & (clip_parts != part), part=part + 1)
        log(f"embedding teacher, head {part + 1} of {parts} (labels the speakers of part {part + 1}):")
        head = EmbeddingTeacher.fit(audio, labels, len(LABELS), seed=config.seed + 100 * part, cache_dir=cache_dir,
                                    log=log)
        head.save(saved)
        heads.append(head)
    return CrossFitTeacher(heads, clip_parts)


def filter_synthetic(data: PreparedData, teacher, *, log: Callable[[str], None] = print
                     ) -> tuple[PreparedData, dict[str, Any]]:
    """``data`` without the synthetic clips whose teacher top class is not their label, and
    what was kept of each label. The teacher never trained on them (:func:`fit_embedding_teacher`
    learns from real clips only), and real clips are never dropped."""
    from .teachers.cross_fit import CrossFitTeacher

    synthetic = np.flatnonzero(data.train_synthetic)
    keep = np.ones(len(data.train_labels), bool)
    if len(synthetic):
        heard = np.argmax(teacher.logits(data.train_audio[synthetic]), axis=1)
        keep[synthetic[heard != data.train_labels[synthetic]]] = False
    report = {LABELS[c]: {"kept": int(np.sum(keep[synthetic] & (data.train_labels[synthetic] == c))),
                          "of": int(np.sum(data.train_labels[synthetic] == c))}
              for c in sorted(set(data.train_labels[synthetic].tolist()))}
    log(f"synthetic clips the embedding teacher hears as their word: {int(keep[synthetic].sum())} of {len(synthetic)} "
        f"kept (" + ", ".join(f"{label} {r['kept']}/{r['of']}" for label, r in report.items()) + ")")
    if isinstance(teacher, CrossFitTeacher):
        teacher.clip_parts = teacher.clip_parts[keep]
    return _training_rows(data, keep), report


def _labeller(teacher) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``epoch_data``'s teacher: (audio, source rows) -> logits; only a cross-fitted teacher
    needs the rows (which head labels which clip)."""
    from .teachers.cross_fit import CrossFitTeacher

    if isinstance(teacher, CrossFitTeacher):
        return teacher.logits
    return lambda audio, _sources: teacher.logits(audio)


def _clean_labeller(label_audio: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    data: PreparedData) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``label_audio`` run once on the clean training clips; each drawn example then gets its
    clip's logits, and only silence (made afresh each epoch) is labelled as drawn."""
    table = label_audio(data.train_audio, np.arange(len(data.train_audio)))

    def label(audio: np.ndarray, sources: np.ndarray) -> np.ndarray:
        out = np.empty((len(audio), table.shape[1]), np.float32)
        drawn = sources >= 0
        out[drawn] = table[sources[drawn]]
        if not drawn.all():
            out[~drawn] = label_audio(audio[~drawn], sources[~drawn])
        return out

    return label


def _teacher_accuracy(teacher, data: PreparedData) -> float:
    if not len(data.val_labels):
        return float("nan")
    return float(np.mean(np.argmax(teacher.logits(data.val_audio), axis=1) == data.val_labels))


def read_run_config(run_dir: Path) -> TrainConfig:
    path = Path(run_dir) / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise KwsError(f"{run_dir} is not a training run directory (no config.json)") from None
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise KwsError(f"{path} is not a valid run configuration ({error})") from None


def evaluate_keras(model, inputs: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Accuracy and predicted labels of a Keras model on float inputs."""
    if len(inputs) == 0:
        return float("nan"), np.zeros(0, dtype=int)
    logits = model.predict(inputs[..., None], batch_size=256, verbose=0)
    predicted = np.argmax(logits, axis=1)
    return float(np.mean(predicted == labels)), predicted


#: ``--distribute`` choices: TensorFlow's own strategies, nothing home-made.
STRATEGIES = ("none", "mirrored", "multi-worker")


def check_strategy(name: str) -> None:
    """Refuse a ``--distribute`` that cannot work, before anything is written."""
    if name not in STRATEGIES:
        raise KwsError(f"unknown --distribute {name!r}; choose from {', '.join(STRATEGIES)}")
    if name == "multi-worker" and not os.environ.get("TF_CONFIG"):
        # Without it TensorFlow quietly makes a cluster of one: each host would train alone.
        raise KwsError("--distribute multi-worker needs the TF_CONFIG environment variable (the cluster's "
                       "workers and this one's index), set on every host")


def make_strategy(name: str):
    """The tf.distribute strategy for ``name``. "mirrored": every local GPU (or CPU device) of
    this machine, gradients all-reduced; "multi-worker": the hosts of the ``TF_CONFIG``
    environment variable, each running the same command."""
    import tensorflow as tf

    check_strategy(name)
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def train(config: TrainConfig, run_dir: Path, *, cache_dir: Path | None = None,
          log: Callable[[str], None] = print, progress: bool = True, distribute: str = "none") -> dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; returns its metrics."""
    import keras

    check_strategy(distribute)
    check_ranges(config)
    check_folds(config)
    check_teacher(config)
    check_prune(config)
    uses_embedding = config.teacher == EMBEDDING or config.filter_synthetic  # to teach, or only to filter
    if uses_embedding:
        from .teachers.embedding import load_model_files

        load_model_files()  # absent or changed models: said now, before anything is written
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if config_path.exists():
        saved = read_run_config(run_dir)
        if saved != config:
            raise KwsError(f"{run_dir} holds a run with other settings; choose another --run directory "
                           f"or remove it (see {config_path})")

    keras.utils.set_random_seed(config.seed)
    started = time.time()
    # The data first: a folder without clips or noise is refused before the run directory
    # exists, so a corrected retry (other settings) is not told the directory holds a run.
    data = prepare_data(config, cache_dir=cache_dir, progress=progress)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_file_atomically(config_path, (json.dumps(config.to_dict(), indent=2) + "\n").encode())
    write_file_atomically(run_dir / "labels.json", (json.dumps(list(LABELS)) + "\n").encode())
    split = {**data.split, "validation_files": data.val_paths}
    if config.folds:
        split["test_files"] = data.test_paths
    write_file_atomically(run_dir / "split.json", (json.dumps(split, indent=2) + "\n").encode())
    log(f"data: {len(data.train_audio)} training clips + silence, {len(data.val_labels)} validation clips "
        f"({len(data.split['validation_speakers'])} held-out speakers), prepared in {time.time() - started:.0f} s")

    strategy = make_strategy(distribute)
    if distribute != "none":
        # MultiWorkerMirroredStrategy's class is named CollectiveAllReduceStrategy: say what was asked for.
        kind = "MirroredStrategy" if distribute == "mirrored" else "MultiWorkerMirroredStrategy"
        log(f"distributing with {kind}: {strategy.num_replicas_in_sync} replicas, "
            f"global batch {config.batch_size}")
    audio_teacher = None
    teacher_metrics: dict[str, Any] = {}
    if uses_embedding:
        audio_teacher = fit_embedding_teacher(data, config, run_dir / "embedding_teacher.npz",
                                              cache_dir=cache_dir, log=log)
        teacher_metrics["teacher_val_accuracy"] = _teacher_accuracy(audio_teacher, data)
        log(f"embedding teacher: validation accuracy {teacher_metrics['teacher_val_accuracy']:.4f} (float)")
    if config.filter_synthetic:
        data, teacher_metrics["synthetic_filter"] = filter_synthetic(data, audio_teacher, log=log)
    # After the filter: the epochs are what it left.
    schedule = Schedule.of(config, steps_per_epoch=-(-epoch_size(data, config) // config.batch_size))
    if config.teacher != EMBEDDING:
        audio_teacher = None  # it only filtered
    with strategy.scope():
        teacher = load_teacher(config) if config.teacher and audio_teacher is None else None
    distillation = Distillation(temperature=config.temperature, alpha=config.alpha, mixup=config.mixup)
    val_inputs = data.rule.model_input(data.val_features)
    # epoch_data is looked up when called: the resume test interrupts a run through it.
    label_audio = _labeller(audio_teacher) if audio_teacher is not None else None
    if label_audio is not None and config.teacher_hears == "clean":
        label_audio = _clean_labeller(label_audio, data)

    def phase(student, schedule: Schedule, prefix: str, first_epoch: int, desc: str) -> list[dict[str, Any]]:
        """Train ``student`` (or resume it from ``{prefix}checkpoint.npz``), keeping its best
        epoch's weights in ``{prefix}best.weights.npz``; its epochs draw data from
        ``first_epoch`` on, so a later phase sees fresh draws."""
        loop = Loop(student, schedule, teacher=teacher, strategy=strategy, teacher_logits=audio_teacher is not None,
                    distillation=distillation)
        history: list[dict[str, Any]] = []
        start_epoch = 0
        best = BestWeights(run_dir / f"{prefix}best.weights.npz")
        checkpoint = run_dir / f"{prefix}checkpoint.npz"
        if checkpoint.exists():
            start_epoch, history, scalars = loop.resume(checkpoint)
            best.best = scalars["best_accuracy"]
            if start_epoch < schedule.epochs:
                log(f"resuming {run_dir} ({desc}) after epoch {start_epoch}")

        def validate(_epoch: int, _labels: np.ndarray) -> dict[str, float]:
            val_accuracy, _ = evaluate_keras(student, val_inputs, data.val_labels)
            return {"val_accuracy": val_accuracy, "learning_rate": loop.current_learning_rate()}

        def save(_epoch: int, history: list[dict[str, Any]]) -> None:
            best.offer(student, history[-1]["val_accuracy"])
            loop.save_checkpoint(checkpoint, history, best_accuracy=best.best)
            _write_history(run_dir / f"{prefix}history.csv", history)

        return loop.run(lambda epoch: epoch_data(data, config, first_epoch + epoch, teacher=label_audio),
                        start=start_epoch, history=history, evaluate=validate, after_epoch=save, progress=progress,
                        desc=desc)

    if config.prune_to and not (run_dir / "checkpoint.npz").exists():
        # The full-width model trains first (its files named wide.*), then its best epoch is pruned;
        # once fine-tuning has a checkpoint, a resumed run goes straight back to it.
        from .model.prune import prune_dscnn

        with strategy.scope():
            wide = build_student(config, pruned=False)
        phase(wide, schedule, "wide.", 0, "training")
        with damage_said(run_dir / "wide.best.weights.npz"):
            wide.set_weights(load_weights(run_dir / "wide.best.weights.npz"))
        with strategy.scope():
            student = prune_dscnn(wide, model_architecture(config, pruned=False), config.prune_to)
        epochs = prune_epochs(config)
        log(f"pruned to {config.prune_to} channels a block; fine-tuning for {epochs} epoch{'s' * (epochs != 1)}")
    else:
        with strategy.scope():
            student = build_student(config)
    if config.prune_to:
        from dataclasses import replace as replace_schedule

        # The same schedule over the fine-tuning epochs, on epochs of data the wide phase never drew.
        history = phase(student, replace_schedule(schedule, epochs=prune_epochs(config)), "", config.epochs,
                        "fine-tuning")
    else:
        history = phase(student, schedule, "", 0, "training")

    best_model, _ = load_run_model(run_dir)
    val_accuracy, predicted = evaluate_keras(best_model, val_inputs, data.val_labels)
    from .model.dscnn import count_macs

    metrics = {
        "architecture": config.architecture,
        "parameters": int(best_model.count_params()),
        "macs": count_macs(best_model),
        **(_pruning_metrics(config, run_dir, val_inputs, data.val_labels) if config.prune_to else {}),
        "distilled_from": describe_teacher(config.teacher),
        **teacher_metrics,
        "best_epoch": int(np.argmax([r["val_accuracy"] for r in history]) + 1) if len(data.val_labels) else config.epochs,
        "keras_float_val_accuracy": val_accuracy,
        "validation_clips": int(len(data.val_labels)),
        "input_rule": data.rule.to_dict(),
        "calibration_files": data.calibration_paths,
        "train_seconds": time.time() - started,
    }
    if config.folds:
        # Measured once, after training: nothing above looked at the test fold.
        metrics["keras_float_test_accuracy"], _ = evaluate_keras(best_model, data.rule.model_input(data.test_features),
                                                                 data.test_labels)
        metrics["test_clips"] = int(len(data.test_labels))
        save_npz(run_dir / "test.npz", {"features": data.test_features, "labels": data.test_labels})
    write_file_atomically(run_dir / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    save_npz(run_dir / "calibration.npz", {"inputs": data.calibration})
    save_npz(run_dir / "validation.npz", {"features": data.val_features, "labels": data.val_labels})
    from .plots import plot_confusion, plot_curves

    plot_curves(history, run_dir / "curves.png")
    if len(data.val_labels):
        plot_confusion(data.val_labels, predicted, LABELS, run_dir / "confusion.png",
                       title=f"{config.architecture}, validation accuracy {val_accuracy:.3f}")
    return metrics


def _pruning_metrics(config: TrainConfig, run_dir: Path, val_inputs: np.ndarray,
                     val_labels: np.ndarray) -> dict[str, Any]:
    """What pruning took and gave: the wide model's best epoch against the pruned one before
    fine-tuning (the fine-tuned one is the run's own accuracy)."""
    from .model.dscnn import count_macs
    from .model.prune import prune_dscnn

    architecture = model_architecture(config, pruned=False)
    wide = build_student(config, pruned=False)
    with damage_said(run_dir / "wide.best.weights.npz"):
        wide.set_weights(load_weights(run_dir / "wide.best.weights.npz"))
    pruned = prune_dscnn(wide, architecture, config.prune_to)
    wide_history = list(csv.DictReader(io.StringIO((run_dir / "wide.history.csv").read_text())))
    result = {"pruned": {
        "from_channels": architecture.channels, "to_channels": config.prune_to,
        "fine_tuning_epochs": prune_epochs(config),
        "wide_parameters": int(wide.count_params()), "wide_macs": count_macs(wide),
        "wide_best_epoch": (int(np.argmax([float(r["val_accuracy"]) for r in wide_history]) + 1)
                            if len(val_labels) else config.epochs),
        "wide_keras_float_val_accuracy": evaluate_keras(wide, val_inputs, val_labels)[0],
        "before_fine_tuning_keras_float_val_accuracy": evaluate_keras(pruned, val_inputs, val_labels)[0],
    }}
    return result


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    write_file_atomically(path, buffer.getvalue().encode())
