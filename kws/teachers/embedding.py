"""Google's speech_embedding as a teacher: a frozen embedding trained on real speech, a small head.

The embedding (openWakeWord's front end, Apache-2.0) is two LiteRT models shipped by PyPI
``pyopen-wakeword`` 1.1.0; only its two front-end files are read (checked by sha256), never its
code nor its wake-word heads, which are non-commercial:

- ``melspectrogram.tflite``: float32 [batch, samples] 16 kHz audio at int16 scale -> one
  32-band frame per 10 ms, which openWakeWord scales as ``mel / 10 + 2``;
- ``embedding_model.tflite``: [batch, 76, 32, 1] (0.76 s of frames) -> a 96-dim embedding;
  the window slides by 8 frames (80 ms).

A clip is padded with :data:`PAD_SECONDS` of zeros at either end, so that its windows cover
it with a margin wherever the word is: a one-second clip gives 6 windows, (n, 6, 96). The
head (:data:`DEFAULT_HEAD`: three MLPs on the flattened windows, their logits averaged) is
trained on a run's own training clips, clean and augmented; its logits are the soft targets the
DS-CNN student learns from. Embeddings are cached on disk by the content of the audio
(:func:`cached_embeddings`), so a resumed run or another seed on the same clips does not
compute them again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dsp.config import SAMPLE_RATE

from ..atomic import write_file_atomically
from ..errors import KwsError

#: The pip requirement that ships the two models, and their sha256 (checked at every load).
PACKAGE = "pyopen-wakeword==1.1.0"
MODEL_SHA256 = {
    "melspectrogram.tflite": "96fa0adccb6e8cf95cb14465409a1a2898ee4a96a85bb9ed3c7eb0e68bf163e8",
    "embedding_model.tflite": "c0aea21eb84a4ce90a08c870da41b7a7173b45269e6a3207c71d67c40f3a59d8",
}
MEL_BANDS = 32
WINDOW_FRAMES = 76  # 0.76 s of 10 ms mel frames
WINDOW_STEP = 8  # 80 ms
EMBEDDING_DIM = 96
#: Zeros added before and after a clip: 95 ms puts a one-second clip's 6 windows 95 ms beyond
#: either end, so a word shifted to the clip's edge still lies wholly in some window.
PAD_SECONDS = 0.095
#: Clips per batch of the embedding model (their windows go through it in one call).
BATCH_CLIPS = 64
#: Threads of the embedding model's interpreter: two made it 1.7x faster on this 2-core machine
#: (9.1 -> 5.4 ms a one-second clip) with the same floats; more cores help less, the batches are small.
MAX_THREADS = 4


def _package_models_dir() -> Path:
    # find_spec does not run the package: its __init__ loads its own native TFLite library.
    try:
        spec = importlib.util.find_spec("pyopen_wakeword")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise KwsError(f"the embedding teacher needs {PACKAGE} (the speech-embedding models): "
                       f"pip install '{PACKAGE}' (or pip install 'kws[train]')")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def available() -> bool:
    """Whether the two models can be loaded here (tests skip without them)."""
    try:
        load_model_files()
    except KwsError:
        return False
    return True


def load_model_files() -> dict[str, bytes]:
    """The two .tflite files, by name, after checking their sha256."""
    directory = _package_models_dir()
    files = {}
    for name, expected in MODEL_SHA256.items():
        try:
            content = (directory / name).read_bytes()
        except OSError as error:
            raise KwsError(f"cannot read {directory / name} ({error.strerror or error}): reinstall {PACKAGE}") from None
        if hashlib.sha256(content).hexdigest() != expected:
            raise KwsError(f"{directory / name} is not the model kws was measured with (sha256 differs); "
                           f"install {PACKAGE}")
        files[name] = content
    return files


class SpeechEmbedding:
    """The frozen embedding: int16 audio (n, samples) -> (n, windows, 96) float32."""

    def __init__(self, *, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        files = load_model_files()
        threads = threads or min(MAX_THREADS, os.cpu_count() or 1)
        # The mel model runs one clip per call (see mel()): too little work to share out.
        self._mel = Interpreter(model_content=files["melspectrogram.tflite"])
        self._embedding = Interpreter(model_content=files["embedding_model.tflite"], num_threads=threads)
        self._shapes: dict[int, list[int]] = {}  # interpreter id -> the input shape it is sized for

    @staticmethod
    def pad_samples() -> int:
        return int(round(PAD_SECONDS * SAMPLE_RATE))

    def _run(self, interpreter, batch: np.ndarray) -> np.ndarray:
        index = interpreter.get_input_details()[0]["index"]
        if self._shapes.get(id(interpreter)) != list(batch.shape):
            interpreter.resize_tensor_input(index, list(batch.shape))
            interpreter.allocate_tensors()
            self._shapes[id(interpreter)] = list(batch.shape)
        interpreter.set_tensor(index, batch)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    def mel(self, audio: np.ndarray) -> np.ndarray:
        """(n, samples) int16 -> (n, frames, 32) float32, scaled as openWakeWord does.

        One clip per call: the model floors its output 80 dB below the maximum of its whole
        input tensor, so a quiet clip batched with a loud one would come out changed.
        """
        pad = self.pad_samples()
        padded = np.pad(np.asarray(audio, np.float32), ((0, 0), (pad, pad)))
        return np.stack([self._run(self._mel, clip[None])[0, 0] for clip in padded]) / 10.0 + 2.0

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """(n, samples) int16 -> (n, windows, 96) float32, batched."""
        audio = np.atleast_2d(audio)
        out = []
        for start in range(0, len(audio), BATCH_CLIPS):
            mel = self.mel(audio[start:start + BATCH_CLIPS])
            n_windows = (mel.shape[1] - WINDOW_FRAMES) // WINDOW_STEP + 1
            if n_windows < 1:
                raise KwsError(f"clips of {audio.shape[1]} samples are too short for the speech embedding")
            windows = np.stack([mel[:, k * WINDOW_STEP:k * WINDOW_STEP + WINDOW_FRAMES] for k in range(n_windows)], 1)
            embedded = self._run(self._embedding, windows.reshape(-1, WINDOW_FRAMES, MEL_BANDS, 1).astype(np.float32))
            out.append(embedded.reshape(len(mel), n_windows, EMBEDDING_DIM))
        if not out:
            return np.zeros((0, 0, EMBEDDING_DIM), np.float32)
        return np.concatenate(out)


def _content_key(audio: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(repr((audio.shape, str(audio.dtype), PAD_SECONDS, sorted(MODEL_SHA256.values()))).encode())
    digest.update(np.ascontiguousarray(audio).data)
    return digest.hexdigest()[:24]


def cached_embeddings(embedding: SpeechEmbedding, audio: np.ndarray, cache_dir: Path | None) -> np.ndarray:
    """``embedding.embed(audio)``, kept in ``cache_dir/speech-embedding/<content hash>.npy``.

    The key hashes the audio's bytes and shape, the padding and the models' sha256, so the
    same clips (a seed's epoch drawn again, the clean training set of another seed) hit and
    anything else misses. Stored as float16 (a teacher's soft targets need no more) and always
    returned so rounded, cached or not, so that a resumed run computes what an unbroken one
    does; a file that cannot be read counts as a miss and is rewritten.
    """
    audio = np.asarray(audio, np.int16)
    if cache_dir is None:
        return embedding.embed(audio).astype(np.float16).astype(np.float32)
    path = Path(cache_dir) / "speech-embedding" / f"{_content_key(audio)}.npy"
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.ndim == 3 and len(cached) == len(audio) and cached.shape[2] == EMBEDDING_DIM:
            return cached.astype(np.float32)
    except (OSError, ValueError):
        pass
    embedded = embedding.embed(audio).astype(np.float16)
    buffer = io.BytesIO()
    np.save(buffer, embedded)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, buffer.getvalue())
    return embedded.astype(np.float32)


# ----------------------------------------------------------------------------- the head


@dataclass(frozen=True)
class HeadConfig:
    """The head on the frozen embedding, recorded with its weights (``head_config`` in the .npz).

    The default was chosen on 5 inner speaker folds of a run's training speakers, never on the
    held-out ones (``benchmarks/bench_embedding_head.py``; benchmarks/README.md has the table).
    """

    hidden: tuple[int, ...] = (256,)  # hidden ReLU layers; () is a linear head
    dropout: float = 0.3  # after every hidden layer
    pooling: str = "flatten"  # one of POOLINGS: how the windows' embeddings become one vector
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.0  # AdamW's decoupled decay; 0 is plain Adam
    label_smoothing: float = 0.0
    members: int = 1  # heads trained with seeds seed, seed+1, …; their logits averaged

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "HeadConfig":
        values = json.loads(text)
        return cls(**{**values, "hidden": tuple(values["hidden"])})


#: ``flatten``: the windows side by side (where the word lies counts); ``mean-max``: their mean and
#: maximum (where it lies does not); ``flatten-mean-max``: both.
POOLINGS = ("flatten", "mean-max", "flatten-mean-max")
#: The head every run saved before :class:`HeadConfig` existed (its .npz has no ``head_config``).
LEGACY_HEAD = HeadConfig(members=1)
#: Three of the legacy heads, averaged: on the inner folds 90.5 % class-balanced against 88.1 %
#: for one, NLL 0.417 against 0.548; wider (512, dropout 0.5) heads did no better.
DEFAULT_HEAD = HeadConfig(members=3)
#: What taught a student, as its run and model file record it (the head's settings included).
DESCRIPTION = ("speech embedding teacher: Google's speech_embedding (openWakeWord's melspectrogram and "
               f"embedding_model from PyPI {PACKAGE}, Apache-2.0) with a head trained on this run's "
               f"training clips, {DEFAULT_HEAD.to_json()}")


def _pool(x, pooling: str):
    import keras

    if pooling not in POOLINGS:
        raise KwsError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLINGS)}")
    parts = []
    if pooling.startswith("flatten"):
        parts.append(keras.layers.Flatten()(x))
    if pooling.endswith("mean-max"):
        parts += [keras.layers.GlobalAveragePooling1D()(x), keras.layers.GlobalMaxPooling1D()(x)]
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate()(parts)


def _build_member(n_windows: int, n_classes: int, config: HeadConfig, name: str):
    import keras

    inputs = keras.Input((n_windows, EMBEDDING_DIM))
    x = _pool(inputs, config.pooling)
    for units in config.hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
        x = keras.layers.Dropout(config.dropout)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x), name=name)


def _assemble(members: list):
    """One model whose logits are the mean of its members' (saved and loaded as one)."""
    import keras

    if len(members) == 1:
        return members[0]
    inputs = keras.Input(members[0].input_shape[1:])
    return keras.Model(inputs, keras.layers.Average()([m(inputs) for m in members]), name="embedding_head")


def build_head(n_windows: int, n_classes: int, config: HeadConfig = DEFAULT_HEAD):
    """Windows' embeddings (n, windows, 96) -> logits (n, classes), untrained."""
    members = [_build_member(n_windows, n_classes, config, f"embedding_head_{j}") for j in range(config.members)]
    return _assemble(members)


def train_head(embedded: np.ndarray, labels: np.ndarray, n_classes: int, config: HeadConfig = DEFAULT_HEAD, *,
               seed: int = 0):
    """A head trained on embeddings (n, windows, 96) and integer labels; classes balanced."""
    import keras

    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    # Each class weighs the same in the loss: the recipe's unknown words outnumber a keyword.
    weights = {c: float(len(labels) / (n_classes * counts[c])) for c in range(n_classes) if counts[c]}
    targets = np.eye(n_classes, dtype=np.float32)[labels]  # one-hot: label smoothing needs it
    members = []
    for j in range(config.members):
        keras.utils.set_random_seed(seed + j)
        member = _build_member(embedded.shape[1], n_classes, config, f"embedding_head_{j}")
        optimizer = (keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
                     if config.weight_decay else keras.optimizers.Adam(config.learning_rate))
        member.compile(optimizer=optimizer, metrics=["accuracy"],
                       loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                                 label_smoothing=config.label_smoothing))
        member.fit(embedded, targets, batch_size=config.batch_size, epochs=config.epochs, verbose=0,
                   shuffle=True, class_weight=weights)
        members.append(member)
    return _assemble(members)


class EmbeddingTeacher:
    """The speech embedding and a head: :meth:`logits` of int16 audio (n, samples) -> (n, classes)."""

    def __init__(self, head, *, config: HeadConfig = DEFAULT_HEAD, embedding: SpeechEmbedding | None = None,
                 cache_dir: Path | None = None) -> None:
        self.head = head
        self.config = config
        self.embedding = embedding or SpeechEmbedding()
        self.cache_dir = cache_dir

    def embed(self, audio: np.ndarray) -> np.ndarray:
        return cached_embeddings(self.embedding, audio, self.cache_dir)

    def logits(self, audio: np.ndarray, *, cache: bool = True) -> np.ndarray:
        """``cache=False``: audio that will never be labelled again is not kept on disk."""
        embedded = self.embed(audio) if cache else cached_embeddings(self.embedding, audio, None)
        if not len(embedded):
            return np.zeros((0, self.head.output_shape[-1]), np.float32)
        return self.head.predict(embedded, batch_size=512, verbose=0).astype(np.float32)

    @classmethod
    def fit(cls, audio: list[np.ndarray], labels: list[np.ndarray], n_classes: int, *, seed: int = 0,
            config: HeadConfig = DEFAULT_HEAD, cache_dir: Path | None = None,
            log: Callable[[str], None] = print) -> "EmbeddingTeacher":
        """A head trained on the clips of ``audio``, parts of (n, samples) int16 each cached
        apart (the clean clips of every seed are the same), with ``labels``."""
        embedding = SpeechEmbedding()
        embedded = np.concatenate([cached_embeddings(embedding, part, cache_dir) for part in audio if len(part)])
        labels = np.concatenate([part for part in labels if len(part)])
        head = train_head(embedded, labels, n_classes, config, seed=seed)
        accuracy = np.mean(np.argmax(head.predict(embedded, batch_size=512, verbose=0), axis=1) == labels)
        log(f"embedding teacher: head {config.to_json()} trained on {len(labels)} clips, training accuracy "
            f"{accuracy:.3f}")
        return cls(head, config=config, embedding=embedding, cache_dir=cache_dir)

    def save(self, path: Path) -> None:
        from ..train_loop import save_npz

        save_npz(path, {**{f"w{i:04d}": w for i, w in enumerate(self.head.get_weights())},
                        "n_windows": np.array(self.head.input_shape[1]),
                        "n_classes": np.array(self.head.output_shape[-1]),
                        "head_config": np.array(self.config.to_json())})

    @classmethod
    def load(cls, path: Path, *, cache_dir: Path | None = None) -> "EmbeddingTeacher":
        from ..train_loop import load_weights

        with np.load(path) as archive:
            n_windows, n_classes = int(archive["n_windows"]), int(archive["n_classes"])
            config = (HeadConfig.from_json(str(archive["head_config"])) if "head_config" in archive.files
                      else LEGACY_HEAD)
        head = build_head(n_windows, n_classes, config)
        head.set_weights(load_weights(path))
        return cls(head, config=config, cache_dir=cache_dir)
