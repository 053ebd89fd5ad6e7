"""`kws data synthesize`: TTS keyword clips in Speech Commands layout whose fake speakers stay on
the training side of the speaker hold-out."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from kws.cli import main
from kws.data.speech_commands import is_held_out, scan, speaker_holdout
from kws.data.synthetic import centre, read_marker, training_side_speaker
from kws.exporting import data_credits
from kws.wakeword.kokoro import kokoro_voices

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng absent")
needs_kokoro = pytest.mark.skipif(not kokoro_voices(), reason="Kokoro not set up (kws data download kokoro)")


def test_training_side_speakers_are_never_held_out():
    speakers = [training_side_speaker(f"espeak-ng:en-us+f{k}:{100 + k}:50") for k in range(400)]
    assert len(set(speakers)) == len(speakers)
    assert all(len(s) == 8 and int(s, 16) >= 0 for s in speakers)
    # A plain sha1 prefix would land 20 % of these in the hold-out; none may.
    held = [s for s in speakers if is_held_out(s, percent=20.0)]
    assert held == [], held[:5]
    # The hold-out itself is still a 20 % one: it holds out about a fifth of arbitrary ids.
    assert 60 <= sum(is_held_out(f"{k:08x}", percent=20.0) for k in range(400)) <= 100


def test_centre_places_the_clip_in_the_middle():
    clip = np.arange(1, 5, dtype=np.int16)
    out = centre(clip, 10)
    assert out.dtype == np.int16 and out.tolist() == [0, 0, 0, 1, 2, 3, 4, 0, 0, 0]


@needs_espeak
def test_synthesize_writes_a_speech_commands_folder_of_training_side_speakers(tmp_path, capsys):
    out = tmp_path / "tts"
    assert main(["data", "synthesize", str(out), "--voices", "4", "--words", "yes", "stop",
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    clips, _ = scan(out)
    assert sorted({clip.label for clip in clips}) == ["stop", "yes"]
    assert len(clips) == 8, [str(clip.path) for clip in clips]
    for clip in clips:
        samples, rate = sf.read(clip.path, dtype="int16")
        assert rate == 16000 and samples.shape == (16000,)
        assert np.abs(samples).max() > 1000, f"{clip.path} is silent"
        # Centred: the speech sits in the middle, silence at both ends.
        assert samples[:100].any() == False and samples[-100:].any() == False  # noqa: E712
    kept, held = speaker_holdout(clips, percent=20.0)
    assert held == [] and len(kept) == len(clips)
    assert "wrote 8 clips of 2 words from 4 voices" in capsys.readouterr().out
    # The marker lets a model trained on these clips credit them.
    marker = read_marker(out)
    assert marker["files"] == 8 and marker["voices"] == 4 and marker["words"] == ["yes", "stop"]
    credits = data_credits([str(tmp_path / "speech_commands_v0.02"), str(out)])
    assert credits.startswith("Speech Commands (Warden 2018") and ": v0.02; 8 synthetic keyword clips from 4 TTS voices" in credits


@needs_kokoro
def test_synthesize_with_a_kokoro_share(tmp_path):
    out = tmp_path / "tts"
    assert main(["data", "synthesize", str(out), "--voices", "2", "--words", "yes", "--kokoro-share", "0.5",
                 "--cache", str(tmp_path / "cache"), "--no-progress"]) == 0
    assert "kokoro" in read_marker(out)["engines"] and len(scan(out)[0]) == 2


def test_credits_of_real_folders_only():
    assert data_credits(["../shared/data/speech_commands_v2_test_dev", "/data/my_words"]) == (
        "Speech Commands (Warden 2018, arXiv:1804.03209), CC-BY 4.0: "
        "the shared even-speaker half of the v0.02 test split, my_words")


@pytest.mark.parametrize("argv, message", [
    (["--voices", "0"], "--voices: must be 1 to 5000"),
    (["--voices", "100000"], "--voices: must be 1 to 5000"),
    (["--seed", "-1"], "--seed: must be 0 or more"),
    (["--words", "a/b"], "not a usable word"),
    (["--kokoro-share", "1.5"], "--kokoro-share must be between 0 and 1"),
    (["--kokoro-share", "nan"], "--kokoro-share must be between 0 and 1"),
])
def test_synthesize_refuses_bad_arguments(tmp_path, capsys, argv, message):
    """Refused before any voice speaks: nothing is written."""
    out = tmp_path / "tts"
    assert main(["data", "synthesize", str(out), *argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kws: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_synthesize_refuses_a_file_as_the_output_folder(tmp_path, capsys):
    out = tmp_path / "clips"
    out.write_bytes(b"not a folder")
    assert main(["data", "synthesize", str(out), "--voices", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kws: error: ") and "is not a directory" in err and err.count("\n") == 1
    assert out.read_bytes() == b"not a folder"
