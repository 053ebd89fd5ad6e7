"""Corpus recipe, splits, augmentation and the integer input rule."""

from __future__ import annotations

import numpy as np
from corpus import make_corpus

from kws.data.augment import AugmentConfig, augment_audio, mask_features
import pytest
from kws.data.speech_commands import (LABELS, SILENCE, UNKNOWN, Clip, assign_splits, fold_split, hash_split, scan,
                                      speaker_fold, speaker_holdout)
from kws.input_rule import InputRule


def test_scan_labels_the_12_classes(tmp_path):
    root = make_corpus(tmp_path / "sc", speakers=2, takes=1)
    silence = root / "_silence_"
    silence.mkdir()
    (silence / "0.wav").write_bytes((root / "yes" / "a0000000_nohash_0.wav").read_bytes())
    clips, noise = scan(root)
    assert len(noise) == 2
    assert {c.label for c in clips} == set(LABELS)
    bed = [c for c in clips if c.word == "bed"]
    assert bed and all(c.label == UNKNOWN and c.speaker.startswith("a") for c in bed)
    assert [c.label for c in clips if c.path.parent.name == "_silence_"] == [SILENCE]


def test_unknown_folder_naming(tmp_path):
    folder = tmp_path / "sc" / "_unknown_"
    folder.mkdir(parents=True)
    (folder / "bird_0a1b2c3d_nohash_2.wav").write_bytes(b"")
    (clip,), _ = scan(tmp_path / "sc")
    assert (clip.word, clip.speaker, clip.label) == ("bird", "0a1b2c3d", UNKNOWN)


def test_paper_hash_split_is_by_speaker_and_stable():
    # The same speaker always lands in the same set, whatever the clip.
    assert len({hash_split("c0ffee00", validation_percent=10, testing_percent=10) for _ in range(3)}) == 1
    shares = [hash_split(f"{i:08x}", validation_percent=10, testing_percent=10) for i in range(4000)]
    assert 0.08 < shares.count("validation") / 4000 < 0.12


def test_official_lists_win(tmp_path):
    root = make_corpus(tmp_path / "sc", speakers=2, takes=1)
    (root / "validation_list.txt").write_text("yes/a0000000_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("no/a0000001_nohash_0.wav\n")
    clips, _ = scan(root)
    splits = assign_splits(clips, [root])
    assert [c.path.name for c in splits["validation"]] == ["a0000000_nohash_0.wav"]
    assert [c.path.parent.name for c in splits["testing"]] == ["no"]


def test_speaker_holdout_never_splits_a_speaker(tmp_path):
    clips, _ = scan(make_corpus(tmp_path / "sc", speakers=12, takes=2))
    kept, held = speaker_holdout(clips, percent=30)
    assert held and kept
    assert not {c.speaker for c in kept} & {c.speaker for c in held}


def _fake_clips(speakers: int, takes: int = 3) -> list[Clip]:
    """Clips of ``speakers`` speakers (and some speaker-less silence), no audio needed."""
    from pathlib import Path

    clips = [Clip(Path(f"/sc/yes/{s:08x}_nohash_{t}.wav"), "yes", "yes", f"{s:08x}")
             for s in range(speakers) for t in range(takes)]
    return clips + [Clip(Path(f"/sc/_silence_/{n}.wav"), SILENCE, "", "") for n in range(20)]


def test_speaker_folds_cover_every_speaker_once_and_are_stable():
    clips = _fake_clips(300)
    folds = 5
    tested: list[Clip] = []
    for fold in range(folds):
        train, inner, test = fold_split(clips, folds=folds, fold=fold, inner_percent=20)
        assert sorted(train + inner + test, key=str) == sorted(clips, key=str)
        groups = [{c.group for c in part} for part in (train, inner, test)]
        assert not groups[0] & groups[1] and not groups[0] & groups[2] and not groups[1] & groups[2]
        assert all(speaker_fold(c.group, folds=folds) == fold for c in test)
        assert all(speaker_fold(c.group, folds=folds) != fold for c in train + inner)  # the inner split too
        assert 0.1 < len({c.speaker for c in inner}) / 240 < 0.3  # about 20 % of the other speakers
        tested += test
    # Every clip (so every speaker, all its clips) is in exactly one test fold.
    assert sorted(tested, key=str) == sorted(clips, key=str)
    sizes = [sum(speaker_fold(f"{s:08x}", folds=folds) == k for s in range(300)) for k in range(folds)]
    assert min(sizes) > 40
    # Stable: a speaker's fold depends on its id only, not on the rest of the corpus.
    assert [speaker_fold(c.group, folds=folds) for c in clips[:30]] == \
        [speaker_fold(c.group, folds=folds) for c in _fake_clips(10)[:30]]
    assert speaker_fold("c0ffee00", folds=5) == speaker_fold("c0ffee00", folds=5)


def test_fold_split_refuses_impossible_folds():
    for folds, fold in ((1, 0), (5, 5), (5, -1)):
        with pytest.raises(ValueError):
            fold_split(_fake_clips(3), folds=folds, fold=fold, inner_percent=20)


def test_augmentation_is_seeded():
    rng_clips = np.random.default_rng(0)
    clips = rng_clips.integers(-3000, 3000, (6, 16000)).astype(np.int16)
    silence = np.array([False] * 5 + [True])
    noise = [np.random.default_rng(1).normal(0, 0.1, 48000).astype(np.float32)]
    config = AugmentConfig()
    first = augment_audio(clips, silence, noise, np.random.default_rng(7), config, 16000)
    again = augment_audio(clips, silence, noise, np.random.default_rng(7), config, 16000)
    other = augment_audio(clips, silence, noise, np.random.default_rng(8), config, 16000)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert first.dtype == np.int16 and first.shape == clips.shape
    features = np.ones((4, 49, 10), dtype=np.float32)
    masked = mask_features(features, np.random.default_rng(3), AugmentConfig(time_masks=2, time_mask_frames=5))
    assert np.array_equal(masked, mask_features(features, np.random.default_rng(3), AugmentConfig(time_masks=2, time_mask_frames=5)))
    assert (masked == 0).any() and features.min() == 1  # a copy, masked


def _rule_by_hand(q: int, offset: int, shift: int) -> int:
    value = q - offset
    rounded = value + (1 << (shift - 1) if shift else 0)
    return max(-128, min(127, rounded >> shift))


def test_input_rule_is_the_documented_integer_formula():
    rule = InputRule(offsets=(-3000, 100, 0), shifts=(6, 3, 0))
    rng = np.random.default_rng(0)
    q = rng.integers(-32768, 32768, (50, 3)).astype(np.int16)
    q[0] = (-32768, 32767, 200)  # saturation both ways
    got = rule.apply(q)
    expected = np.array([[_rule_by_hand(int(v), o, k) for v, o, k in zip(row, rule.offsets, rule.shifts)] for row in q])
    assert got.dtype == np.int8 and np.array_equal(got, expected)
    assert np.array_equal(rule.model_input(q), got.astype(np.float32) * np.float32(rule.input_scale))
    assert InputRule.from_dict(rule.to_dict()) == rule


def test_input_rule_fit_uses_the_int8_range():
    rng = np.random.default_rng(2)
    q = np.stack([rng.normal(-3000, 1500, 5000), rng.normal(0, 300, 5000)], axis=-1).round().astype(np.int16)
    rule = InputRule.fit(q[:, None, :])
    out = rule.apply(q).astype(int)
    assert rule.shifts[0] > rule.shifts[1]  # the wide coefficient gets the coarser step
    for c in range(2):
        assert out[:, c].max() > 64 or out[:, c].min() < -64  # uses the range ...
        assert np.mean(np.abs(out[:, c]) >= 127) < 0.01  # ... without clipping much
