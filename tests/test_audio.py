"""kws.audio: reading any wav/flac/ogg as int16 mono 16 kHz, and writing wav files atomically."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from kws.audio import AudioFileError, LoadedAudio, load_audio, to_int16, write_wav
from kws.audio_files import FoundFile, audio_files, load_audio_files, load_negatives
from kws.errors import KwsError


def tone(frequency: float, sample_rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def noise_int16(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-32768, 32768, size=n, dtype=np.int16)


def peak_frequency(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * sample_rate / len(samples))


def test_16k_mono_pcm16_is_read_bit_exactly_without_notes(tmp_path):
    samples = noise_int16(16000)  # full-scale noise: any scaling or rounding detour would show
    path = tmp_path / "a.wav"
    write_wav(path, samples, 16000)
    audio = load_audio(path)
    assert isinstance(audio, LoadedAudio)
    assert audio.samples.dtype == np.int16 and audio.samples.ndim == 1
    np.testing.assert_array_equal(audio.samples, samples)
    assert audio.sample_rate == 16000
    assert audio.notes == []
    assert audio.path == str(path)
    assert audio.duration == 1.0


def test_flac_is_read_bit_exactly(tmp_path):
    samples = noise_int16(8000, seed=1)
    path = tmp_path / "a.flac"
    sf.write(path, samples, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(path).samples, samples)


def test_ogg_vorbis_is_decoded(tmp_path):
    path = tmp_path / "a.ogg"
    sf.write(path, tone(1000, 16000).astype(np.float32), 16000, format="OGG", subtype="VORBIS")
    audio = load_audio(path)
    assert audio.samples.dtype == np.int16
    assert abs(len(audio.samples) - 16000) < 2048  # vorbis may pad; the length stays about 1 s
    assert peak_frequency(audio.samples, 16000) == pytest.approx(1000, abs=2)


@pytest.mark.parametrize("rate", [44100, 48000, 8000, 22050])
def test_other_rates_are_resampled_to_16k_with_a_note(tmp_path, rate):
    path = tmp_path / f"tone{rate}.wav"
    write_wav(path, (tone(1000, rate) * 32767).astype(np.int16), rate)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert len(audio.samples) == 16000  # one second stays one second
    assert audio.notes == [f"{path}: resampled {rate} Hz -> 16000 Hz"]
    assert peak_frequency(audio.samples, 16000) == pytest.approx(1000, abs=1)
    # The polyphase filter keeps the level of an in-band tone (0.5 full scale).
    middle = audio.samples[2000:-2000].astype(np.float64) / 32768
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_stereo_is_averaged_with_a_note(tmp_path):
    left, right = noise_int16(4000, seed=2), noise_int16(4000, seed=3)
    path = tmp_path / "stereo.wav"
    write_wav(path, np.stack([left, right], axis=1), 16000)
    audio = load_audio(path)
    expected = np.rint((left.astype(np.int64) + right) / 2).astype(np.int16)
    np.testing.assert_array_equal(audio.samples, expected)
    assert audio.notes == [f"{path}: downmixed 2 channels to mono"]


def test_stereo_at_another_rate_gets_both_notes(tmp_path):
    path = tmp_path / "s.wav"
    stereo = np.stack([tone(440, 44100), tone(440, 44100)], axis=1).astype(np.float32)
    write_wav(path, stereo, 44100)
    audio = load_audio(path)
    assert audio.notes == [f"{path}: downmixed 2 channels to mono", f"{path}: resampled 44100 Hz -> 16000 Hz"]
    assert len(audio.samples) == 16000


def test_float_samples_are_rounded_and_clipped_to_int16(tmp_path):
    values = np.array([0.0, 0.5, -0.5, -1.0, 1.5 / 32768, 2.5 / 32768, 0.99999, 1.0, 3.0, -3.0], np.float32)
    path = tmp_path / "float.wav"
    write_wav(path, values, 16000)
    audio = load_audio(path)
    # Round half to even (1.5 -> 2, 2.5 -> 2); 32768 * 0.99999 = 32767.67 rounds to 32768, so it clips
    # like 1.0, 3.0 and -3.0, while -1.0 is exactly -32768.
    np.testing.assert_array_equal(audio.samples, [0, 16384, -16384, -32768, 2, 2, 32767, 32767, 32767, -32768])
    assert audio.notes == [f"{path}: clipped 4 samples outside the int16 range"]


def test_to_int16_counts_clipped_samples():
    samples, clipped = to_int16(np.array([-2.0, -1.0, 0.0, 32767 / 32768, 1.0]))
    np.testing.assert_array_equal(samples, [-32768, -32768, 0, 32767, 32767])
    assert clipped == 2  # -2.0 and 1.0; -1.0 is exactly -32768


def _valid_wav_bytes(tmp_path) -> bytes:
    path = tmp_path / "valid.wav"
    write_wav(path, noise_int16(1600), 16000)
    return path.read_bytes()


def test_missing_file(tmp_path):
    with pytest.raises(KwsError, match=r"^no such file: .*nothing\.wav$"):
        load_audio(tmp_path / "nothing.wav")


def test_directory(tmp_path):
    with pytest.raises(KwsError, match=r"is a directory, not an audio file$"):
        load_audio(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(KwsError, match=r"empty\.wav is empty \(0 bytes\)$"):
        load_audio(path)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    with pytest.raises(KwsError, match=r"notes\.wav is not a readable wav/flac/ogg file \(.+\)$"):
        load_audio(path)


@pytest.mark.parametrize("length", [30, 20, 12])  # 44-byte header: cut in the fmt chunk, in it, after RIFF
def test_truncated_header(tmp_path, length):
    path = tmp_path / "cut.wav"
    path.write_bytes(_valid_wav_bytes(tmp_path)[:length])
    with pytest.raises(KwsError, match=r"cut\.wav is not a readable wav/flac/ogg file \(.+\)$"):
        load_audio(path)


def test_header_only_wav_has_no_samples(tmp_path):
    path = tmp_path / "silence.wav"
    write_wav(path, np.zeros(0, np.int16), 16000)
    with pytest.raises(KwsError, match=r"silence\.wav contains no samples$"):
        load_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_or_infinite_float_samples(tmp_path, bad, dtype):
    samples = np.zeros(1000, dtype)
    samples[500] = bad
    path = tmp_path / "bad.wav"
    write_wav(path, samples, 16000)
    with pytest.raises(KwsError, match=r"bad\.wav contains NaN or infinite samples$"):
        load_audio(path)


def test_write_wav_roundtrip_leaves_no_temporary_file(tmp_path):
    samples = noise_int16(3000, seed=4)
    path = tmp_path / "out.wav"
    write_wav(path, samples, 8000)
    data, rate = sf.read(path, dtype="int16")
    assert rate == 8000
    np.testing.assert_array_equal(data, samples)
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]


def test_write_wav_replaces_an_existing_file(tmp_path):
    path = tmp_path / "out.wav"
    write_wav(path, noise_int16(100, seed=5), 16000)
    replacement = noise_int16(200, seed=6)
    write_wav(path, replacement, 16000)
    np.testing.assert_array_equal(sf.read(path, dtype="int16")[0], replacement)
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]


def test_write_wav_into_missing_directory_is_a_kws_error(tmp_path):
    with pytest.raises(KwsError, match=r"^cannot write .*out\.wav: No such file or directory$"):
        write_wav(tmp_path / "missing" / "out.wav", noise_int16(10), 16000)
    assert os.listdir(tmp_path) == []


def test_write_wav_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        write_wav(tmp_path / "x.wav", np.zeros(10, np.uint8), 16000)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Folders of files: one that does not decode is skipped with a note, a named one is an error


def corrupt_flac(path):
    """A flac whose header reads but whose second half is zeros: libsndfile loses sync
    mid-file, as on the undecodable files of crowd-sourced corpora."""
    sf.write(path, noise_int16(16000) // 8, 16000)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def folder_with_bad_files(tmp_path):
    """a.wav, c.wav (one second of tone each), sub/b.flac (corrupt) and d.wav (empty)."""
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "c.wav"):
        write_wav(folder / name, to_int16(tone(440, 16000))[0], 16000)
    corrupt_flac(folder / "sub" / "b.flac")
    (folder / "d.wav").write_bytes(b"")
    return folder


def assert_skipped(err: str, folder) -> None:
    """One note for each bad file of ``folder_with_bad_files``, in any order, and nothing else."""
    notes = sorted(err.splitlines())
    assert len(notes) == 2 and notes[0] == f"kws: note: skipped {folder / 'd.wav'}: empty (0 bytes)"
    # The reason in brackets is libsndfile's own words ("flac decoder lost sync" today).
    assert notes[1].startswith(f"kws: note: skipped {folder / 'sub' / 'b.flac'}: not a readable wav/flac/ogg file (")


def test_an_undecodable_file_says_which_and_why(tmp_path):
    path = corrupt_flac(tmp_path / "bad.flac")
    assert sf.info(str(path)).frames > 0  # the header reads; the samples do not
    with pytest.raises(AudioFileError) as caught:
        load_audio(path)
    error = caught.value
    assert error.path == str(path) and error.reason.startswith("not a readable wav/flac/ogg file (")
    assert str(error) == f"{path} is {error.reason}"  # what a command reading this one file prints


def test_a_folder_walk_skips_undecodable_files_with_one_note_each(folder_with_bad_files, capsys):
    files = audio_files([folder_with_bad_files])
    assert [f.name for f in files] == ["a.wav", "c.wav", "d.wav", "b.flac"]
    assert all(isinstance(f, FoundFile) for f in files)
    assert [path.name for path, _ in load_audio_files(files)] == ["a.wav", "c.wav"]
    assert_skipped(capsys.readouterr().err, folder_with_bad_files)


def test_a_named_file_that_does_not_decode_is_an_error(folder_with_bad_files, capsys):
    bad = folder_with_bad_files / "sub" / "b.flac"
    files = audio_files([folder_with_bad_files / "a.wav", bad])
    assert not any(isinstance(f, FoundFile) for f in files)
    with pytest.raises(AudioFileError, match="b.flac is not a readable"):
        list(load_audio_files(files))


def test_a_walk_where_nothing_decodes_is_an_error(folder_with_bad_files):
    with pytest.raises(KwsError, match="every audio file was skipped"):
        load_negatives(audio_files([folder_with_bad_files / "sub"]), seconds=1, seed=0)


@pytest.mark.parametrize("walk", ["negatives", "keyword clips", "wake-word negatives", "recordings", "noise"])
def test_every_folder_walk_skips_them(folder_with_bad_files, capsys, walk):
    from kws.keyword_stream import keyword_sources, load_clips
    from kws.wakeword import sources

    folder = folder_with_bad_files
    if walk == "negatives":
        seconds = len(load_negatives(audio_files([folder]), seconds=60, seed=0).samples) / 16000
    elif walk == "keyword clips":
        seconds = sum(len(c.samples) for c in load_clips(keyword_sources(folder, ("go",), word="go"))[0]) / 16000
    elif walk == "wake-word negatives":
        files = sources.load_folder_files([str(folder)], what="--negatives")
        seconds = len(sources.load_long(files, seconds=60, seed=0)) / 16000
    elif walk == "recordings":
        seconds = sum(map(len, sources.load_recordings(str(folder), log=lambda _: None))) / 16000
    else:
        files = sources.load_folder_files([str(folder)], what="--noise")
        seconds = sum(map(len, sources.load_noise(files, clip_samples=16000))) / 16000
    assert seconds == pytest.approx(2.0, abs=0.05)  # a.wav and c.wav (trimmed where the walk trims)
    assert_skipped(capsys.readouterr().err, folder)


# ---------------------------------------------------------------------------------------------
# Files that are not what they claim: a named pipe, a WAV cut short, a link written through


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)
    # Refused from its stat, before any open() that would wait for a writer.
    with pytest.raises(AudioFileError, match=r"stream\.wav is not a regular file \(a named pipe\)$"):
        load_audio(fifo)
    with pytest.raises(KwsError, match="neither a regular file nor a folder"):
        audio_files([fifo])


def _cut_wav(path, keep: int):
    """A one-second 16-bit WAV cut after ``keep`` bytes, its header still promising them all."""
    write_wav(path, noise_int16(16000), 16000)
    path.write_bytes(path.read_bytes()[:keep])
    return path


def test_a_wav_shorter_than_its_header_says_is_truncated(tmp_path):
    path = _cut_wav(tmp_path / "cut.wav", 20000)  # 44-byte header, 19956 of 32000 sample bytes
    with pytest.raises(AudioFileError) as caught:
        load_audio(path)
    assert str(caught.value) == (f"{path} is truncated (its header promises 32000 bytes of samples, "
                                 "the file holds 19956)")


def test_a_truncated_wav_found_in_a_folder_is_skipped_with_a_note(tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    write_wav(folder / "a.wav", noise_int16(16000), 16000)
    _cut_wav(folder / "b.wav", 20000)
    assert [path.name for path, _ in load_audio_files(audio_files([folder]))] == ["a.wav"]
    assert capsys.readouterr().err == (f"kws: note: skipped {folder / 'b.wav'}: truncated "
                                       "(its header promises 32000 bytes of samples, the file holds 19956)\n")


def test_a_wav_of_unknown_length_is_read_whole(tmp_path):
    """Written to a pipe (espeak-ng --stdout), a WAV's data size is a placeholder, not a claim."""
    samples = noise_int16(8000)
    path = tmp_path / "piped.wav"
    write_wav(path, samples, 16000)
    data = bytearray(path.read_bytes())
    data[40:44] = (0x7FFFF000).to_bytes(4, "little")  # the data chunk's size, as espeak-ng writes it
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(load_audio(path).samples, samples)


def test_write_wav_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "take_003.wav"
    write_wav(target, noise_int16(100, seed=1), 16000)
    link = tmp_path / "latest.wav"
    link.symlink_to(target.name)
    replacement = noise_int16(300, seed=2)
    write_wav(link, replacement, 16000)
    assert link.is_symlink() and os.readlink(link) == target.name  # still the same link
    np.testing.assert_array_equal(sf.read(target, dtype="int16")[0], replacement)
    assert sorted(os.listdir(tmp_path)) == ["latest.wav", "take_003.wav"]
