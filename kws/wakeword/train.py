"""The recipe: a wake-word model from text, int8, with a calibrated threshold.

1. **Material** (:mod:`.sources`): the wake word spoken by many TTS voices (espeak-ng voices x
   variants x rates x pitches, flite's and festival's voices), confusable texts (:mod:`.confusables`) and
   random everyday sentences by other voices, the user's recordings and negative folders,
   synthetic and user noise. One voice in ``held_out_every`` (and one negative file in five) is
   kept apart for calibration.
2. **Training**: the DS-CNN student (:data:`kws.model.dscnn.STUDENT`) on 3 labels
   (``_silence_``, ``_unknown_``, the wake word), every epoch a fresh seeded set of augmented
   1-second windows (:func:`.dataset.epoch_windows`) through the q15 MFCC and the integer input
   rule, exactly as :mod:`kws.training` does for the 12-class models. With ``distill`` the
   teacher (:data:`kws.model.dscnn.TEACHER`) is trained first, and the student then learns from
   its soft targets on the very same windows (kept in memory as int8, ~2 MB an epoch).
3. **Export**: int8 through :mod:`kws.model.export` (batch 1, firmware op set), as ``kws export``.
4. **Calibration** (:mod:`.calibrate`): the threshold for the target false accepts per hour,
   recorded in the model's JSON (``detector.threshold``), which ``kws detect`` and ``kws listen``
   use when no ``--threshold`` is given.

The output folder holds ``model.tflite`` + ``model.json``, ``det.png``, ``report.json``,
``report.txt`` and ``config.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dsp import MfccConfig
from dsp.config import SAMPLE_RATE

from ..atomic import write_files_into_folder
from ..detector_config import DetectorConfig
from ..errors import KwsError
from ..labels import SILENCE, UNKNOWN
from ..teachers import EMBEDDING, WAKEWORD_TEACHERS
from .backbone import DEFAULT_BACKBONE, shipped_backbone
from .confusables import confusables, normalise
from .dataset import LABEL_WAKE, Material, WindowConfig, epoch_windows
from .room import RoomConfig



@dataclass(frozen=True)
class WakewordConfig:
    """Everything the recipe depends on; saved as ``config.json``."""

    wake_word: str
    positive_voices: int = 600  # TTS voices (with rate and pitch) that say the wake word
    #: The voices saying the wake word and its confusables speak slower by a factor drawn from
    #: this range (:func:`kws.wakeword.tts.voice_grid`); the confusables too, so that slowness
    #: does not tell the wake word apart. (1.0, 1.5) measured: alexa level, smart mirror up on one
    #: fold and down on the other (benchmarks/README.md), so off.
    tts_slower: tuple[float, float] = (1.0, 1.0)
    #: Share of every voice grid spoken by Kokoro-82M's blended voices, where set up (`kws data
    #: download kokoro`; else a note, and the other engines). 0 until measured on real speakers:
    #: a share changes the grid, and so the shipped recipe's data.
    kokoro_share: float = 0.0
    held_out_every: int = 6  # one (engine, voice) in this many is kept for calibration
    confusable_clips: int = 1500
    sentences: int = 600  # other speech for training
    calibration_sentences: int = 500  # other speech for calibration (other voices, other words)
    noise_seconds: float = 60.0  # of each synthetic noise colour
    negatives: tuple[str, ...] = ()
    noise: tuple[str, ...] = ()
    recordings: str = ""
    negative_seconds: float = 3600.0  # at most this much of the --negatives folders is loaded
    epochs: int = 30
    batch_size: int = 64
    #: 1e-3 looked better on one LibriSpeech fold and was far worse on the other (both pooled:
    #: alexa 24 % against 70 %, smart mirror 39 % against 42 % at <= 1 FA/h; benchmarks/README.md).
    learning_rate: float = 3e-3
    final_learning_rate: float = 5e-5
    seed: int = 0
    target_fa_per_hour: float = 0.5
    #: A `kws train` run on real speech whose layers (all but the logits) start the student,
    #: with that run's input rule: features learnt from real voices, fine-tuned on TTS. "" = none.
    backbone: str = ""
    #: With a backbone: its first convolution and this many DS blocks stay as they are (their
    #: batch norms too), so the features learnt from real voices cannot drift towards the TTS
    #: voices' artefacts; only the later blocks and the logits learn the wake word.
    freeze_blocks: int = 0
    #: The teacher the student learns soft targets from, plus the hard labels
    #: (:class:`kws.model.distill.Distiller`); "" = none. One of :data:`kws.teachers.WAKEWORD_TEACHERS`:
    #: ``"dscnn"``, the larger DS-CNN trained first on the same windows; ``"embedding"``, Google's
    #: speech embedding (trained on real speech) with a head trained on the first
    #: ``embedding_teacher_epochs`` epochs' windows, which labels every epoch's audio.
    distill: str = ""
    embedding_teacher_epochs: int = 3
    #: With the embedding teacher: a fresh epoch of windows, labelled by the teacher, every this
    #: many epochs; the epochs between train on the last labelled windows again under fresh
    #: SpecAugment masks. Embedding each epoch's ~4,600 windows costs about as much as the epoch
    #: itself on 2 cores, so 2 halves the teacher's share of the time; 1 (every epoch) is what
    #: was measured first (benchmarks/README.md).
    embedding_relabel_every: int = 1
    temperature: float = 4.0
    alpha: float = 0.3  # weight of the hard-label loss when distilling
    #: Hard-negative mining (:mod:`.mining`): every ``mine_every`` epochs (0 = never) the
    #: training speech is scored and up to ``mine_limit`` windows scoring at least
    #: ``mine_min_score`` join the unknown windows (``window.hard_negative_share`` of the speech).
    mine_every: int = 5
    mine_min_score: float = 0.2
    mine_limit: int = 1500
    mine_hop_frames: int = 5
    #: The model is the average of its weights after each of the last N epochs (0 = the last
    #: epoch's): a flatter solution, which may carry better from TTS voices to real ones. 10
    #: measured: smart mirror up, alexa down by more (benchmarks/README.md), so off.
    average_epochs: int = 0
    #: The model's window, seconds of audio per inference (``window.clip_samples`` follows it,
    #: :func:`with_window`). 1.5 s let slow speakers' "smart mirror" fit (real clips of 1.0-1.3 s
    #: mostly failed in 1 s), and their scores rose, but so did other speech's: no better at no
    #: false accept (benchmarks/README.md), so 1 s, as the backbone was trained.
    window_seconds: float = 1.0
    window: WindowConfig = field(default_factory=WindowConfig)
    room: RoomConfig = field(default_factory=RoomConfig)
    mfcc: MfccConfig = field(default_factory=MfccConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values.update(negatives=list(self.negatives), noise=list(self.noise), window=asdict(self.window),
                      room=self.room.to_dict(), mfcc=self.mfcc.to_dict(), detector=self.detector.to_dict())
        return values


@dataclass(frozen=True)
class Teaching:
    """How one ``distill`` choice is named: in the model file, and in the log's last line."""

    distilled_from: str | None
    log_suffix: str


#: ``distill``'s teachers (see :class:`WakewordConfig`); "" is no teacher.
TEACHING = {
    "": Teaching(None, ""),
    "dscnn": Teaching("ds-cnn-teacher, trained on the same windows", " (teacher, then distilled student)"),
    EMBEDDING: Teaching("speech embedding teacher: Google's speech_embedding (pyopen-wakeword's front end, "
                        "Apache-2.0) with a head trained on the first epochs' windows",
                        " (student of the speech embedding)"),
}
# The CLI offers kws.teachers' names (it imports no TensorFlow): the same ones, described here.
assert tuple(TEACHING) == ("", *WAKEWORD_TEACHERS)


def quick(config: WakewordConfig) -> WakewordConfig:
    """The ``--quick`` recipe: a few voices, few epochs; a smoke test (minutes), not a model."""
    return replace(config, positive_voices=120, confusable_clips=300, sentences=150, calibration_sentences=60,
                   noise_seconds=10.0, negative_seconds=min(config.negative_seconds, 300.0), epochs=6)


#: The settings ``--set KEY=VALUE`` may change: the recipe's own numbers, not the inputs the
#: command has flags for, nor the nested window/room/MFCC/detector settings.
SETTABLE = ("positive_voices", "tts_slower", "kokoro_share", "held_out_every", "confusable_clips", "sentences",
            "calibration_sentences", "noise_seconds", "negative_seconds", "epochs", "batch_size",
            "learning_rate", "final_learning_rate", "temperature", "alpha", "mine_every", "mine_min_score",
            "mine_limit", "mine_hop_frames", "average_epochs", "window_seconds", "embedding_teacher_epochs",
            "embedding_relabel_every")


def with_settings(config: WakewordConfig, assignments: list[str]) -> WakewordConfig:
    """``config`` with each ``KEY=VALUE`` of ``assignments`` applied (VALUE in JSON: ``epochs=40``,
    ``tts_slower=[1.0,1.4]``); the value must have the type of the setting it replaces."""
    changes: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in SETTABLE:
            raise KwsError(f"--set {assignment!r}: expected KEY=VALUE with KEY one of {', '.join(SETTABLE)}")
        current = getattr(config, key)
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise KwsError(f"--set {assignment!r}: {text!r} is not a number or a [low, high] list") from None
        if isinstance(current, tuple):
            ok = isinstance(value, list) and len(value) == len(current) and \
                all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            value = tuple(float(v) for v in value) if ok else value
        elif isinstance(current, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or (isinstance(value, (int, float)) and value < 0):
            raise KwsError(f"--set {assignment!r}: {key} takes a value like {json.dumps(current)}, not {text!r}")
        if key == "tts_slower" and not 0 < value[0] <= value[1]:
            raise KwsError(f"--set {assignment!r}: tts_slower is a [low, high] range of factors above 0")
        changes[key] = value
    return replace(config, **changes)


def with_window(config: WakewordConfig) -> WakewordConfig:
    """``config`` with ``window.clip_samples`` and the detector's refractory time set from
    ``window_seconds``."""
    rate = config.window.sample_rate
    samples = int(round(config.window_seconds * rate))
    # The word stays in view for as long as the window is: no second detection on its way out.
    detector = replace(config.detector, refractory_ms=max(config.detector.refractory_ms, 1000.0 * samples / rate))
    return replace(config, window_seconds=samples / rate, window=replace(config.window, clip_samples=samples),
                   detector=detector)


def _log_time(log: Callable[[str], None], what: str, started: float) -> None:
    log(f"{what} ({time.time() - started:.0f} s)")


def gather(config: WakewordConfig, *, cache_dir: Path | None, progress: bool, log: Callable[[str], None]
           ) -> tuple[Material, dict[str, Any], dict[str, Any]]:
    """(training material, calibration material, a summary for the report)."""
    from . import sources
    from .tts import voice_grid

    word = config.wake_word
    voices = voice_grid(config.positive_voices, seed=config.seed, slower=tuple(config.tts_slower),
                        kokoro_share=config.kokoro_share)
    train_voices, held_voices = sources.split_voices(voices, config.held_out_every)
    texts = sources.phrasings(word)
    positives = sources.speak([texts[i % len(texts)] for i in range(len(train_voices))], train_voices,
                              cache_dir=cache_dir, progress=progress, desc="wake word (TTS)")
    held_positives = sources.speak([texts[i % len(texts)] for i in range(len(held_voices))], held_voices,
                                   cache_dir=cache_dir, progress=progress, desc="held-out wake word (TTS)")
    if config.recordings:
        recorded = sources.load_recordings(config.recordings, log=log)
        # Real voices are worth more than synthetic ones: one in five is held out, the rest
        # repeated so they make up about a quarter of the wake-word windows.
        held_positives += recorded[4::5]
        train_recorded = [c for i, c in enumerate(recorded) if i % 5 != 4]
        if train_recorded:
            repeat = max(1, len(positives) // (3 * len(train_recorded)))
            positives += train_recorded * repeat
    if not positives or not held_positives:
        raise KwsError("the TTS produced no usable clips of the wake word")

    confusable_texts = confusables(word)
    confusable_voices = voice_grid(max(len(confusable_texts), config.confusable_clips // 4), seed=config.seed + 1,
                                   slower=tuple(config.tts_slower), kokoro_share=config.kokoro_share)
    confusable_clips = sources.speak([confusable_texts[i % len(confusable_texts)] for i in range(config.confusable_clips)],
                                     confusable_voices, cache_dir=cache_dir, progress=progress, desc="confusables (TTS)")
    sentence_voices, held_sentence_voices = sources.split_voices(
        voice_grid(200, seed=config.seed + 2, kokoro_share=config.kokoro_share), config.held_out_every)
    sentences = sources.speak(sources.random_sentences(config.sentences, seed=config.seed, avoid=[word]),
                              sentence_voices, cache_dir=cache_dir, progress=progress, desc="other speech (TTS)")
    held_sentences = sources.speak(
        sources.random_sentences(config.calibration_sentences, seed=config.seed + 1000, avoid=[word]),
        held_sentence_voices, cache_dir=cache_dir, progress=progress, desc="held-out speech (TTS)")
    speech = [sources.join(sentences, seed=config.seed)]
    held_speech = [sources.join(held_sentences, seed=config.seed + 1)]
    notes: list[str] = []
    user_negative_seconds = 0.0
    if config.negatives:
        files = sources.load_folder_files(config.negatives, what="--negatives")
        held_files = files[4::5]
        train_files = [f for i, f in enumerate(files) if i % 5 != 4]
        train_part = sources.load_long(train_files, seconds=0.8 * config.negative_seconds, seed=config.seed,
                                       progress=progress)
        held_part = sources.load_long(held_files, seconds=0.2 * config.negative_seconds, seed=config.seed,
                                      progress=progress)
        if len(train_part):
            speech.append(train_part)
        if len(held_part):
            held_speech.append(held_part)
        user_negative_seconds = (len(train_part) + len(held_part)) / config.window.sample_rate
    noise = sources.synthetic_noise(config.noise_seconds, seed=config.seed)
    held_noise = sources.synthetic_noise(config.noise_seconds, seed=config.seed + 1)
    if config.noise:
        user_noise = sources.load_noise(sources.load_folder_files(config.noise, what="--noise"),
                                        clip_samples=config.window.clip_samples)
        noise += user_noise
        held_noise += user_noise
    material = Material(positives=positives, confusables=confusable_clips, speech=speech, noise=noise, notes=notes)
    calibration = {"positives": held_positives, "speech": held_speech, "noise": held_noise}
    summary = {
        "wake_word_clips": len(positives), "held_out_wake_word_clips": len(held_positives),
        "voices": {"training": len({v.speaker for v in train_voices}), "held_out": len({v.speaker for v in held_voices}),
                   "engines": sorted({v.engine for v in voices})},
        "phrasings": texts,
        "confusable_texts": confusable_texts, "confusable_clips": len(confusable_clips),
        "other_speech_seconds": round(sum(len(s) for s in speech) / config.window.sample_rate, 1),
        "user_negative_seconds": round(user_negative_seconds, 1),
        "recordings": config.recordings or None,
        "noise_recordings": len(noise),
        "window_seconds": config.window_seconds,
    }
    return material, calibration, summary


def negative_stream(calibration: dict[str, Any], *, seed: int, noise_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(negative stream, background for the positive stream), int16.

    Negatives: the held-out speech with quiet room noise under it, then stretches of each held-out
    noise at -50..-20 dBFS. Background: noise alone at -45..-30 dBFS (the positive stream sets
    the wake word's level by SNR against it).
    """
    rng = np.random.default_rng([seed, 37])
    speech = np.concatenate(calibration["speech"]).astype(np.float64)
    noises = calibration["noise"]

    def noise_of(n: int, low: float, high: float) -> np.ndarray:
        source = noises[int(rng.integers(len(noises)))]
        reps = -(-n // len(source))
        start = int(rng.integers(len(source)))
        x = np.tile(source, reps + 1)[start : start + n].astype(np.float64)
        return x * 32768.0 * 10 ** (rng.uniform(low, high) / 20)

    speech = speech + noise_of(len(speech), -60, -45)
    pieces = [speech]
    for _ in noises:
        pieces.append(noise_of(int(noise_seconds * SAMPLE_RATE), -50, -20))
    negatives = np.clip(np.rint(np.concatenate(pieces)), -32768, 32767).astype(np.int16)
    background = np.concatenate([noise_of(int(noise_seconds * SAMPLE_RATE), -45, -30) for _ in noises])
    return negatives, np.clip(np.rint(background), -32768, 32767).astype(np.int16)


def _backbone_model(backbone: str, config: WakewordConfig):
    """(Keras model, input rule) of ``backbone``: a `kws train` run directory, or ``"default"``
    for the shipped backbone (:data:`kws.wakeword.backbone.BACKBONE_DIR`)."""
    from ..input_rule import InputRule
    from ..training import load_run_model, load_weights

    if backbone == DEFAULT_BACKBONE:
        from dataclasses import fields

        from ..model.dscnn import ARCHITECTURES, DsCnnConfig, build_dscnn

        about, weights = shipped_backbone()
        # The window may be longer than the backbone's: its convolutions and the average pool
        # over the whole feature map do not depend on the number of frames.
        if about.mfcc != config.mfcc:
            raise KwsError("--backbone default was trained on other features")
        rule = about.input_rule
        # The shape its model file records (a pruned backbone is narrower than its architecture's name).
        recorded = {f.name: about.architecture[f.name] for f in fields(DsCnnConfig) if f.name in about.architecture}
        architecture = DsCnnConfig.from_dict({**ARCHITECTURES[about.architecture["name"]].to_dict(), **recorded})
        base = build_dscnn(about.input.window_shape, len(about.labels), architecture)
        base.set_weights(load_weights(weights))
        return base, rule
    run_dir = Path(backbone)
    base, base_config = load_run_model(run_dir)
    if base_config.mfcc != config.mfcc:
        raise KwsError(f"--backbone {run_dir} was trained on other features")
    try:
        rule = InputRule.from_dict(json.loads((run_dir / "metrics.json").read_text())["input_rule"])
    except (OSError, KeyError, ValueError) as error:
        raise KwsError(f"--backbone {run_dir}: no input rule in its metrics.json ({error})") from None
    return base, rule


def _load_backbone(model, backbone: str | Path, config: WakewordConfig):
    """Copy a backbone's weights into ``model`` layer by layer (not the logits, whose classes
    differ) and return the backbone's input rule, which those weights expect."""
    base, rule = _backbone_model(str(backbone), config)
    copied = 0
    for layer in model.layers:
        if layer.name == "logits" or not layer.get_weights():
            continue
        try:
            source = base.get_layer(layer.name)
        except ValueError:
            raise KwsError(f"--backbone {backbone} has no layer {layer.name}: another architecture") from None
        layer.set_weights(source.get_weights())
        copied += 1
    if not copied:
        raise KwsError(f"--backbone {backbone}: no layer in common")
    return rule


def _freeze(model, blocks: int) -> None:
    """Keep ``model``'s first convolution and its first ``blocks`` DS blocks as they are; a frozen
    batch norm also stops updating its statistics (Keras runs it in inference mode)."""
    frozen = ("conv_1",) + tuple(f"{kind}_{b}" for b in range(1, blocks + 1) for kind in ("dw", "pw"))
    for layer in model.layers:
        if layer.name in frozen or layer.name.rsplit("_", 1)[0] in frozen:
            layer.trainable = False


def fit_model(config: WakewordConfig, material: Material, *, progress: bool, log: Callable[[str], None],
              cache_dir: Path | None = None):
    """Train the student (distilled from a teacher with ``config.distill``) through
    :class:`kws.train_loop.Loop`; ``cache_dir`` keeps the embedding teacher's embeddings of the
    windows its head learns from (``speech-embedding/`` in it).

    Returns (Keras student, input rule, int8 calibration inputs, history); history rows are
    the student's epochs, with the teacher's under ``"teacher"`` when there is one.
    """
    import keras

    from ..data.augment import AugmentConfig, mask_features
    from ..input_rule import InputRule
    from ..model.dscnn import STUDENT, TEACHER, build_dscnn
    from ..train_loop import Distillation, Loop, Schedule
    from ..training import mfcc_q15_clips

    from .mining import mine_hard_negatives, stream_features

    keras.utils.set_random_seed(config.seed)
    material = replace(material, hard_negatives=[])  # the caller's material stays as it was
    shape = config.mfcc.window_shape(config.window.clip_samples)
    student = build_dscnn(shape, 3, STUDENT)
    first = epoch_windows(material, config.window, config.room, seed=config.seed, epoch=0)
    first_features = mfcc_q15_clips(first[0], config.mfcc)
    rule = _load_backbone(student, config.backbone, config) if config.backbone else InputRule.fit(first_features)
    if config.freeze_blocks:
        if not config.backbone:
            raise KwsError("freezing blocks needs a backbone to freeze")
        _freeze(student, config.freeze_blocks)
    pick = np.linspace(0, len(first_features) - 1, min(300, len(first_features))).astype(int)
    calibration_inputs = rule.model_input(first_features[pick])
    masks = AugmentConfig()
    # Mining happens at epochs mine_every, 2 * mine_every, ... below config.epochs.
    mining = 0 < config.mine_every < config.epochs and bool(material.speech)
    speech_features = stream_features(material.speech, mfcc=config.mfcc) if mining else []
    mined: list[int] = []

    def mining_with(model) -> Callable[[int], None]:
        """Before every ``mine_every``-th epoch: hard negatives scored by ``model``, the one being trained."""
        def wake_probability(windows: np.ndarray) -> np.ndarray:
            logits = model.predict(rule.model_input(windows)[..., None], batch_size=512, verbose=0)
            return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))[:, LABEL_WAKE]

        def before_epoch(epoch: int) -> None:
            if not (mining and epoch and epoch % config.mine_every == 0):
                return
            found = mine_hard_negatives(wake_probability, material.speech, speech_features, mfcc=config.mfcc,
                                        clip_samples=config.window.clip_samples, hop_frames=config.mine_hop_frames,
                                        min_score=config.mine_min_score, limit=config.mine_limit)
            # The newest round first; older finds stay (up to twice the limit) so that windows the
            # model has since learnt are not forgotten again.
            material.hard_negatives = (found + material.hard_negatives)[: 2 * config.mine_limit]
            mined.append(len(found))
            if not progress:
                log(f"hard negatives: {len(found)} windows of other speech score >= {config.mine_min_score:g} "
                    f"({len(material.hard_negatives)} in use)")
        return before_epoch

    def draw_audio(epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The epoch's windows (n, samples) int16, their labels and their q15 MFCC, from the seed."""
        if not epoch:
            return first[0], first[1], first_features
        windows, labels = epoch_windows(material, config.window, config.room, seed=config.seed, epoch=epoch)
        return windows, labels, mfcc_q15_clips(windows, config.mfcc)

    def masked(epoch: int, features: np.ndarray) -> np.ndarray:
        """The epoch's int8 inputs, SpecAugment-masked from the seed."""
        # Masking the int8 values with fill 0 equals masking the float inputs (zero point 0).
        return mask_features(rule.apply(features), np.random.default_rng([config.seed, epoch, 3]), masks)

    def draw(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's int8 inputs (SpecAugment-masked) and labels, drawn from the seed."""
        _windows, labels, features = draw_audio(epoch)
        return masked(epoch, features), labels

    def model_inputs(drawn: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        inputs, labels = drawn
        return inputs.astype(np.float32) * np.float32(rule.input_scale), labels

    def windows(_epoch: int, labels: np.ndarray) -> dict[str, int]:
        return {"windows": int(len(labels))}

    schedule = Schedule.of(config, steps_per_epoch=-(-len(first[1]) // config.batch_size))
    if not config.distill:
        history = Loop(student, schedule, shuffle=True).run(
            lambda epoch: model_inputs(draw(epoch)), before_epoch=mining_with(student), evaluate=windows,
            average_epochs=config.average_epochs, progress=progress, desc="training")
        return student, rule, calibration_inputs, _with_mining(history, mined, config.mine_every)

    distillation = Distillation(temperature=config.temperature, alpha=config.alpha)
    if config.distill == EMBEDDING:
        from ..teachers.embedding import EmbeddingTeacher

        # The head learns from the first epochs' windows as drawn before any mining (the loop
        # draws the same ones again: their embeddings are then read from the cache).
        taught_epochs = min(config.embedding_teacher_epochs, config.epochs)
        taught = [draw_audio(epoch)[:2] for epoch in range(taught_epochs)]
        teacher = EmbeddingTeacher.fit([w for w, _ in taught], [y for _, y in taught], student.output_shape[-1],
                                       seed=config.seed, cache_dir=cache_dir, log=log)
        del taught

        labelled: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # the last labelled epoch's

        def with_teacher(epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """The epoch's inputs and labels, and the teacher's logits of its audio (the audio of
            the last labelled epoch, every ``embedding_relabel_every`` epochs a fresh one)."""
            source = epoch - epoch % config.embedding_relabel_every
            if source not in labelled:
                windows, labels, features = draw_audio(source)
                labelled.clear()  # one epoch's features and logits in memory, not the audio
                labelled[source] = labels, features, teacher.logits(windows, cache=source < taught_epochs)
            labels, features, logits = labelled[source]
            inputs, labels = model_inputs((masked(epoch, features), labels))
            return inputs, labels, logits

        history = Loop(student, schedule, distillation=distillation, teacher_logits=True, shuffle=True).run(
            with_teacher, before_epoch=mining_with(student), evaluate=windows,
            average_epochs=config.average_epochs, progress=progress, desc="student (embedding teacher)")
        return student, rule, calibration_inputs, _with_mining(history, mined, config.mine_every)

    # The teacher sees each epoch's windows first; they are kept (as int8) so that the student
    # later learns on exactly the same inputs, and the audio work (most of an epoch) is done once.
    kept: list[tuple[np.ndarray, np.ndarray]] = []

    def keeping(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        kept.append(draw(epoch))
        return model_inputs(kept[-1])

    teacher = build_dscnn(shape, 3, TEACHER)  # mines the hard negatives for both
    teacher_history = Loop(teacher, schedule, shuffle=True).run(
        keeping, before_epoch=mining_with(teacher), evaluate=windows, progress=progress, desc="teacher")
    history = Loop(student, schedule, teacher=teacher, distillation=distillation, shuffle=True).run(
        lambda epoch: model_inputs(kept[epoch]), evaluate=windows, average_epochs=config.average_epochs,
        progress=progress, desc="student (distilled)")
    for row, teacher_row in zip(history, _with_mining(teacher_history, mined, config.mine_every)):
        row["teacher"] = teacher_row
    return student, rule, calibration_inputs, _with_mining(history, mined, config.mine_every)


def _with_mining(history: list[dict[str, Any]], mined: list[int], every: int) -> list[dict[str, Any]]:
    """``history`` with ``hard_negatives_mined`` on the first epoch of each mining round."""
    for round_, count in enumerate(mined, start=1):
        if round_ * every < len(history):
            history[round_ * every]["hard_negatives_mined"] = count
    return history


def train_wakeword(config: WakewordConfig, out: Path, *, cache_dir: Path | None = None, progress: bool = True,
                   log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the recipe; writes the output folder and returns the report."""
    from ..model.dscnn import STUDENT, count_macs
    from ..model.export import convert_int8, export_model, op_names
    from ..model_file import CALIBRATION_KEYS, InputSpec, model_files, new_model
    from .calibrate import calibrate, det_figure

    word = normalise(config.wake_word)
    if not word:
        raise KwsError("the wake word must contain letters")
    if not 1.0 <= config.window_seconds <= 2.0:
        raise KwsError(f"the window must be 1 to 2 seconds, not {config.window_seconds:g}")
    if not 0 < config.target_fa_per_hour:
        raise KwsError("--target-fa-per-hour must be positive")
    if config.distill not in TEACHING:
        raise KwsError(f"no teacher {config.distill!r} to distil from; choose from {', '.join(WAKEWORD_TEACHERS)}")
    if config.distill == EMBEDDING:
        if config.embedding_teacher_epochs < 1:
            raise KwsError("the embedding teacher needs at least one epoch of windows (embedding_teacher_epochs)")
        if config.embedding_relabel_every < 1:
            raise KwsError("embedding_relabel_every counts epochs: 1 (every epoch) or more")
        from ..teachers.embedding import load_model_files

        load_model_files()  # not installed: said now, before minutes of speech synthesis
    config = with_window(replace(config, wake_word=word))
    out = Path(out)  # made only when everything is ready to be written into it
    timings: dict[str, float] = {}
    started = time.time()
    material, held, summary = gather(config, cache_dir=cache_dir, progress=progress, log=log)
    timings["data_seconds"] = round(time.time() - started, 1)
    log(f"data: {summary['wake_word_clips']} wake-word clips from {summary['voices']['training']} voices, "
        f"{summary['confusable_clips']} confusable clips, {summary['other_speech_seconds']:.0f} s other speech, "
        f"{config.window_seconds:g} s window ({timings['data_seconds']:.0f} s)")

    phase = time.time()
    model, rule, calibration_inputs, history = fit_model(config, material, progress=progress, log=log,
                                                         cache_dir=cache_dir)
    timings["training_seconds"] = round(time.time() - phase, 1)
    log(f"trained {config.epochs} epochs{TEACHING[config.distill].log_suffix}, "
        f"last loss {history[-1]['loss']:.3f} ({timings['training_seconds']:.0f} s)")

    phase = time.time()
    labels = [SILENCE, UNKNOWN, word]
    spec = InputSpec(config.mfcc, config.window.clip_samples)
    tflite = convert_int8(export_model(model, STUDENT, spec.window_shape, len(labels)), calibration_inputs, rule)
    timings["export_seconds"] = round(time.time() - phase, 1)
    json_path = out / "model.json"
    in_memory = new_model(
        json_path, tflite, name=word.replace(" ", "_"), labels=labels, input=spec, input_rule=rule,
        credits="synthetic speech (espeak-ng, flite, festival)" + (", user recordings" if config.recordings else "")
                + (", user negatives" if config.negatives else ""),
        architecture={"name": "ds-cnn-s", **STUDENT.to_dict(), "parameters": int(model.count_params()),
                      "macs": count_macs(model), "ops": op_names(tflite)},
        training={"recipe": "kws wakeword train", "config": config.to_dict(),
                  "calibration": {"clips": len(calibration_inputs),
                                  "sha256": hashlib.sha256(calibration_inputs.tobytes()).hexdigest()},
                  "distilled_from": TEACHING[config.distill].distilled_from})

    phase = time.time()
    negatives, background = negative_stream(held, seed=config.seed, noise_seconds=config.noise_seconds)
    calibration, _ = calibrate(in_memory, config.detector, positives=held["positives"], background=background,
                               negatives=negatives, target_fa_per_hour=config.target_fa_per_hour,
                               seed=config.seed, progress=progress)
    timings["calibration_seconds"] = round(time.time() - phase, 1)
    timings["total_seconds"] = round(time.time() - started, 1)
    chosen = calibration.chosen
    calibrated = replace(
        in_memory, detector=replace(config.detector, threshold=calibration.threshold),
        calibration=dict(zip(CALIBRATION_KEYS, (config.target_fa_per_hour, calibration.met))),
        report={k: v for k, v in calibration.to_dict().items() if k != "sweep"})
    report = {"wake_word": word, "labels": labels, "calibration": calibration.to_dict(), "data": summary,
              "history": history, "timings": timings, "model": str(json_path), "tflite_bytes": len(tflite)}
    text = report_text(report)
    write_files_into_folder(out, {
        **model_files(calibrated),
        out / "det.png": det_figure(calibration, title=f'"{word}": held-out TTS voices, {chosen.keywords} clips'),
        out / "report.json": (json.dumps(report, indent=2) + "\n").encode(),
        out / "report.txt": text.encode(),
        out / "config.json": (json.dumps(config.to_dict(), indent=2) + "\n").encode(),
    })
    return report


def report_text(report: dict[str, Any]) -> str:
    c = report["calibration"]
    at = c["at_threshold"]
    lines = [
        f'wake word "{report["wake_word"]}": {report["data"]["wake_word_clips"]} training clips '
        f'({report["data"]["voices"]["training"]} voices), {report["data"]["confusable_clips"]} confusable clips, '
        f'{report["data"]["other_speech_seconds"]:.0f} s other speech',
        f'threshold {c["threshold"]:g} for {c["target_fa_per_hour"]:g} false accepts/h: '
        + ("met" if c["target_met"] else "NOT met") + " on the calibration audio"
        + (f' (estimated {c["estimated_fa_per_hour"]:.2f}/h from the tail of its false accepts: too short to count)'
           if c.get("method") == "tail estimate" else ""),
        f'  recall {100 * c["recall"]:.1f}% on {c["held_out_positives"]} held-out TTS clips '
        f'(by SNR: {", ".join(f"{k} dB {100 * (1 - v):.0f}%" for k, v in at["false_reject_rate_by_snr"].items() if v is not None)})',
        f'  {at["false_accepts"]} false accepts in {c["negative_hours"] + c["positive_stream_hours"]:.2f} h '
        f'= {at["fa_per_hour"]:.2f}/h (one false accept = {c["one_false_accept_per_hour"]:.2f}/h at this length)',
        f'time: {report["timings"]["total_seconds"]:.0f} s (data {report["timings"]["data_seconds"]:.0f}, '
        f'training {report["timings"]["training_seconds"]:.0f}, calibration {report["timings"]["calibration_seconds"]:.0f})',
    ]
    return "\n".join(lines) + "\n"
