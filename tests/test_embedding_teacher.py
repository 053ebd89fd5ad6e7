"""The speech-embedding teacher (kws.teachers.embedding) on synthetic audio: shapes, batching,
the content-keyed cache, the models' checksums, a head trained, saved and loaded. Skipped where
pyopen-wakeword (which ships the two models) is not installed; never touches the network."""

from __future__ import annotations

import os

import numpy as np
import pytest

from dsp.config import SAMPLE_RATE
from kws.errors import KwsError
from kws.teachers import EMBEDDING, describe_teacher
from kws.teachers import embedding as teacher_module

needs_models = pytest.mark.skipif(not teacher_module.available(), reason="pyopen-wakeword is not installed")


def _tones(n: int, seconds: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Tones of two pitches at random loudness, with a little noise: (int16 audio, pitch class)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    high = rng.integers(0, 2, n)
    level = rng.uniform(500, 8000, (n, 1))
    audio = level * np.sin(2 * np.pi * np.where(high, 1200.0, 300.0)[:, None] * t) + rng.normal(0, 50, (n, len(t)))
    return np.clip(audio, -32768, 32767).astype(np.int16), high


def _clips(n: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    return _tones(n, seconds, seed)[0]


def test_describe_teacher_names_what_taught():
    assert describe_teacher("") is None
    assert describe_teacher("runs/t") == "runs/t"
    assert "speech_embedding" in describe_teacher(EMBEDDING) and "pyopen-wakeword" in describe_teacher(EMBEDDING)


@needs_models
def test_embed_gives_six_windows_of_96_per_second_whatever_the_batch():
    embedding = teacher_module.SpeechEmbedding()
    audio = _clips(70)
    audio[1] //= 100  # a quiet clip: the mel model floors relative to its input's maximum
    embedded = embedding.embed(audio)
    assert embedded.shape == (70, 6, 96) and embedded.dtype == np.float32 and np.all(np.isfinite(embedded))
    np.testing.assert_array_equal(embedding.embed(audio[1:2]), embedded[1:2])  # alone = in a batch of 64
    assert embedding.embed(_clips(2, seconds=1.5)).shape == (2, 12, 96)
    assert embedding.mel(audio[:2]).shape[2] == teacher_module.MEL_BANDS


@needs_models
def test_embeddings_are_cached_by_content(tmp_path, monkeypatch):
    embedding = teacher_module.SpeechEmbedding()
    audio = _clips(3)
    first = teacher_module.cached_embeddings(embedding, audio, tmp_path)
    files = list((tmp_path / "speech-embedding").glob("*.npy"))
    assert len(files) == 1
    monkeypatch.setattr(embedding, "embed", lambda _audio: pytest.fail("a hit must not compute"))
    np.testing.assert_array_equal(teacher_module.cached_embeddings(embedding, audio, tmp_path), first)
    monkeypatch.undo()
    changed = audio.copy()
    changed[0, 0] += 1
    teacher_module.cached_embeddings(embedding, changed, tmp_path)
    assert len(list((tmp_path / "speech-embedding").glob("*.npy"))) == 2
    files[0].write_bytes(b"not an array")  # a damaged entry is a miss, rewritten
    np.testing.assert_array_equal(teacher_module.cached_embeddings(embedding, audio, tmp_path), first)
    assert np.load(files[0]).shape == (3, 6, 96)


def test_missing_or_changed_models_are_one_error(monkeypatch):
    monkeypatch.setattr(teacher_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(KwsError, match="pyopen-wakeword"):
        teacher_module.load_model_files()
    assert not teacher_module.available()
    monkeypatch.undo()
    if teacher_module.available():
        monkeypatch.setitem(teacher_module.MODEL_SHA256, "melspectrogram.tflite", "0" * 64)
        with pytest.raises(KwsError, match="sha256"):
            teacher_module.SpeechEmbedding()


@needs_models
def test_teacher_head_learns_and_survives_save_and_load(tmp_path):
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    audio, labels = _tones(48, seed=1)
    assert 0 < labels.sum() < len(labels)
    teacher = teacher_module.EmbeddingTeacher.fit([audio[:30], audio[30:]], [labels[:30], labels[30:]], 3,
                                                  cache_dir=tmp_path, log=lambda _m: None)
    logits = teacher.logits(audio)
    assert logits.shape == (48, 3) and logits.dtype == np.float32
    assert np.mean(np.argmax(logits, axis=1) == labels) > 0.9
    teacher.save(tmp_path / "head.npz")
    loaded = teacher_module.EmbeddingTeacher.load(tmp_path / "head.npz", cache_dir=tmp_path)
    np.testing.assert_allclose(loaded.logits(audio), logits, rtol=1e-5, atol=1e-5)
    assert teacher.logits(audio[:0]).shape == (0, 3)


def test_head_config_round_trips():
    config = teacher_module.HeadConfig(hidden=(64, 32), dropout=0.1, pooling="mean-max", members=2,
                                       label_smoothing=0.05, weight_decay=1e-3)
    assert teacher_module.HeadConfig.from_json(config.to_json()) == config
    assert teacher_module.HeadConfig.from_json(teacher_module.DEFAULT_HEAD.to_json()) == teacher_module.DEFAULT_HEAD


def test_head_trains_on_tiny_synthetic_embeddings():
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    embedded = (rng.normal(0, 1, (60, 6, teacher_module.EMBEDDING_DIM))
                + 3 * np.eye(3)[labels][:, None, :].repeat(32, axis=2)).astype(np.float32)
    for config in (teacher_module.HeadConfig(hidden=(), epochs=30, batch_size=16),
                   teacher_module.HeadConfig(hidden=(16,), pooling="flatten-mean-max", members=2, epochs=30,
                                             batch_size=16, label_smoothing=0.1, weight_decay=1e-3)):
        head = teacher_module.train_head(embedded, labels, 3, config, seed=1)
        logits = head.predict(embedded, verbose=0)
        assert logits.shape == (60, 3) and np.mean(np.argmax(logits, axis=1) == labels) > 0.9
        rebuilt = teacher_module.build_head(6, 3, config)
        rebuilt.set_weights(head.get_weights())
        np.testing.assert_allclose(rebuilt.predict(embedded, verbose=0), logits, rtol=1e-5, atol=1e-5)


def test_unknown_pooling_is_one_error():
    pytest.importorskip("tensorflow")
    with pytest.raises(KwsError, match="pooling"):
        teacher_module.build_head(6, 3, teacher_module.HeadConfig(pooling="median"))


@needs_models
def test_saved_heads_load_with_their_config_and_old_ones_as_the_legacy_head(tmp_path):
    pytest.importorskip("tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from kws.train_loop import save_npz

    config = teacher_module.HeadConfig(hidden=(8,), members=2, pooling="mean-max")
    head = teacher_module.build_head(6, 3, config)
    teacher_module.EmbeddingTeacher(head, config=config).save(tmp_path / "new.npz")
    loaded = teacher_module.EmbeddingTeacher.load(tmp_path / "new.npz")
    assert loaded.config == config
    embedded = np.random.default_rng(0).normal(0, 1, (4, 6, teacher_module.EMBEDDING_DIM)).astype(np.float32)
    np.testing.assert_allclose(loaded.head.predict(embedded, verbose=0), head.predict(embedded, verbose=0), atol=1e-5)
    # A head saved before HeadConfig existed: its weights and shape only.
    legacy = teacher_module.build_head(6, 12, teacher_module.LEGACY_HEAD)
    save_npz(tmp_path / "old.npz", {**{f"w{i:04d}": w for i, w in enumerate(legacy.get_weights())},
                                    "n_windows": np.array(6), "n_classes": np.array(12)})
    assert teacher_module.EmbeddingTeacher.load(tmp_path / "old.npz").config == teacher_module.LEGACY_HEAD
