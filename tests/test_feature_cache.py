"""The feature cache: the same integers as computing directly, computed once, invalidated exactly."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

import dsp
from dsp import MfccConfig, mfcc_q15
from kws.audio import load_audio, write_wav
from kws.data import feature_cache
from kws.data.feature_cache import clip_features, fit_length
from kws.errors import KwsError

CONFIG = MfccConfig()
CLIP = 16000


def _speechlike(n: int, seed: int) -> np.ndarray:
    t = np.arange(n) / 16000
    rng = np.random.default_rng(seed)
    chirp = 0.3 * np.sin(2 * np.pi * (150 + 300 * seed + 1200 * t) * t)
    return np.round((chirp + 0.02 * rng.standard_normal(n)) * 32767).astype(np.int16)


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    """Wavs in two directories, shorter, equal to and longer than a clip, one at 8 kHz."""
    paths = []
    for index, (folder, n) in enumerate([("yes", 16000), ("yes", 12000), ("no", 17500), ("no", 9000)]):
        path = tmp_path / "corpus" / folder / f"clip{index}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, _speechlike(n, index), 16000)
        paths.append(path)
    resampled = tmp_path / "corpus" / "no" / "clip8k.wav"
    write_wav(resampled, _speechlike(8000, 9), 8000)
    paths.append(resampled)
    return paths


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def direct(path: Path, config: MfccConfig = CONFIG, clip: int = CLIP) -> np.ndarray:
    samples = load_audio(path, sample_rate=config.sample_rate).samples
    return mfcc_q15(fit_length(samples, clip), config=config)


def forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("recomputed a cached clip")

    monkeypatch.setattr(dsp, "mfcc_q15", refuse)


def count_computations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    computed: list[str] = []
    original = feature_cache.compute_clip

    def counting(path, **kwargs):
        computed.append(Path(path).name)
        return original(path, **kwargs)

    monkeypatch.setattr(feature_cache, "compute_clip", counting)
    return computed


def test_fit_length() -> None:
    samples = np.arange(1, 6, dtype=np.int16)
    assert np.array_equal(fit_length(samples, 3), [1, 2, 3])
    padded = fit_length(samples, 8)
    assert padded.dtype == np.int16 and np.array_equal(padded, [1, 2, 3, 4, 5, 0, 0, 0])
    assert np.array_equal(fit_length(samples, 5), samples)


def test_equals_direct_computation(clips: list[Path], cache: Path) -> None:
    features = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert features.dtype == np.int16
    assert features.shape == (len(clips), CONFIG.n_frames(CLIP), CONFIG.n_mfcc) == (5, 49, 10)
    for row, path in zip(features, clips):
        assert np.array_equal(row, direct(path))
    # Warm, the same integers.
    assert np.array_equal(clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache), features)


def test_second_call_reads_the_cache(clips: list[Path], cache: Path, monkeypatch) -> None:
    cold = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    forbid_computing(monkeypatch)
    warm = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert np.array_equal(warm, cold)
    # Any order, any subset, duplicates: still all from the cache.
    order = [3, 0, 0, 4]
    subset = clip_features([clips[i] for i in order], config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert np.array_equal(subset, cold[order])


def test_same_file_by_another_path_is_a_hit(clips: list[Path], cache: Path, monkeypatch) -> None:
    clip_features(clips[:1], config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    forbid_computing(monkeypatch)
    detour = clips[0].parent / ".." / clips[0].parent.name / clips[0].name
    link = clips[0].parent.parent / "link.wav"
    link.symlink_to(clips[0])
    features = clip_features([detour, link], config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert np.array_equal(features[0], direct(clips[0])) and np.array_equal(features[1], features[0])


def test_one_shard_per_directory(clips: list[Path], cache: Path) -> None:
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    (key_dir,) = cache.iterdir()
    assert sorted(p.suffix for p in key_dir.iterdir()) == [".json", ".npz", ".npz"]


def test_config_change_invalidates(clips: list[Path], cache: Path, monkeypatch) -> None:
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    computed = count_computations(monkeypatch)
    other = MfccConfig(n_mfcc=13)
    features = clip_features(clips, config=other, clip_samples=CLIP, cache_dir=cache)
    assert len(computed) == len(clips)
    assert features.shape == (5, 49, 13)
    assert np.array_equal(features[2], direct(clips[2], other))

    # So does the clip length; and each key keeps its own entries.
    computed.clear()
    shorter = clip_features(clips, config=CONFIG, clip_samples=8000, cache_dir=cache)
    assert len(computed) == len(clips) and shorter.shape == (5, 24, 10)
    assert np.array_equal(shorter[0], direct(clips[0], CONFIG, 8000))
    computed.clear()
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    clip_features(clips, config=other, clip_samples=CLIP, cache_dir=cache)
    assert computed == []
    assert len(list(cache.iterdir())) == 3


def test_changed_file_invalidates_only_itself(clips: list[Path], cache: Path, monkeypatch) -> None:
    before = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    changed = clips[1]
    old_mtime = changed.stat().st_mtime_ns
    write_wav(changed, _speechlike(16000, 42), 16000)  # another signal, another length
    os.utime(changed, ns=(time.time_ns(), old_mtime + 5_000_000_000))  # even on coarse-mtime filesystems
    computed = count_computations(monkeypatch)
    after = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert computed == [changed.name]
    assert np.array_equal(after[1], direct(changed)) and not np.array_equal(after[1], before[1])
    assert np.array_equal(np.delete(after, 1, axis=0), np.delete(before, 1, axis=0))

    computed.clear()
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert computed == []  # the new version is cached in its place


def test_new_file_in_a_cached_directory(clips: list[Path], cache: Path, monkeypatch) -> None:
    clip_features(clips[:2], config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    computed = count_computations(monkeypatch)
    features = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert sorted(computed) == sorted(p.name for p in clips[2:])
    for row, path in zip(features, clips):
        assert np.array_equal(row, direct(path))
    computed.clear()
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert computed == []  # the first entries survived the second write


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),  # truncated
        lambda path: path.write_bytes(b""),  # empty
        lambda path: path.write_bytes(b"PK\x03\x04 not really a zip"),  # garbage
        lambda path: np.savez(path, names=np.array(["x"])),  # arrays missing
        lambda path: np.savez(  # arrays of the wrong shape
            path, directory=np.array("x"), names=np.array(["a"]), sizes=np.zeros(1, np.int64),
            mtimes=np.zeros(1, np.int64), features=np.zeros((1, 3, 3), np.int16),
        ),
    ],
    ids=["truncated", "empty", "garbage", "incomplete", "foreign"],
)
def test_damaged_shard_is_recomputed(clips: list[Path], cache: Path, monkeypatch, damage) -> None:
    expected = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    (key_dir,) = cache.iterdir()
    shards = sorted(key_dir.glob("*.npz"))
    damage(shards[0])
    computed = count_computations(monkeypatch)
    again = clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert np.array_equal(again, expected)
    assert 0 < len(computed) < len(clips)  # that directory only
    computed.clear()
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert computed == []  # rewritten whole


def test_no_temporary_files_left(clips: list[Path], cache: Path) -> None:
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_unreadable_audio_is_a_kws_error(clips: list[Path], cache: Path, tmp_path: Path) -> None:
    with pytest.raises(KwsError, match="no such file"):
        clip_features([clips[0], tmp_path / "missing.wav"], config=CONFIG, clip_samples=CLIP, cache_dir=cache)
    not_audio = tmp_path / "corpus" / "yes" / "notes.wav"
    not_audio.write_text("hello")
    with pytest.raises(KwsError, match="not a readable"):
        clip_features([not_audio], config=CONFIG, clip_samples=CLIP, cache_dir=cache)


def test_empty_list_and_too_short_clip(cache: Path) -> None:
    assert clip_features([], config=CONFIG, clip_samples=CLIP, cache_dir=cache).shape == (0, 49, 10)
    with pytest.raises(ValueError, match="no frame"):
        clip_features([], config=CONFIG, clip_samples=100, cache_dir=cache)


def test_default_cache_dir_is_under_the_current_directory(clips: list[Path], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    clip_features(clips[:1], config=CONFIG, clip_samples=CLIP)
    assert list((tmp_path / "datasets" / "cache").glob("mfcc-*/*.npz"))


def test_progress_bar(clips: list[Path], cache: Path, capsys) -> None:
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache, progress=True)
    assert "mfcc" in capsys.readouterr().err
    clip_features(clips, config=CONFIG, clip_samples=CLIP, cache_dir=cache, progress=True)
    assert capsys.readouterr().err == ""  # nothing to compute, no bar
