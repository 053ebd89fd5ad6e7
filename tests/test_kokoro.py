"""Kokoro-82M as a TTS engine (kws.wakeword.kokoro, kokoro_phonemes, kokoro_setup): the
phoneme mapping, voice blends, the setup's checks on made-up files, the voice grid's share, and
where ``kws data download kokoro`` has been run here, real synthesis. Nothing downloads."""

from __future__ import annotations

import hashlib
import io
import shutil
import sys
import tarfile

import numpy as np
import pytest

from kws.cli import main
from kws.download import file_sha256
from kws.errors import KwsError
from kws.wakeword import kokoro, kokoro_setup, tts
from kws.wakeword.kokoro_phonemes import phonemes, to_kokoro, tokens

HAVE_KOKORO = bool(kokoro.kokoro_voices())
needs_kokoro = pytest.mark.skipif(not HAVE_KOKORO, reason="Kokoro not set up (pip install 'kws[kokoro]' && "
                                                          "kws data download kokoro)")


#: What kokoro and tts remember per process, cleared around the tests that move KWS_CACHE.
CACHED = (kokoro.kokoro_voices, kokoro.style_table, kokoro._vocab, tts._note_kokoro_absent)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """KWS_CACHE pointing at an empty folder, with the cached lookups cleared around the test."""
    monkeypatch.setenv("KWS_CACHE", str(tmp_path / "cache"))
    for cached in CACHED:
        cached.cache_clear()
    yield tmp_path / "cache" / "kokoro"
    for cached in CACHED:
        cached.cache_clear()


# --- phonemes (pure) ---------------------------------------------------------------------------

@pytest.mark.parametrize("ipa, british, expected", [
    ("hˈe^ɪ d^ʒˈɑː^ɹvɪs", False, "hˈA ʤˈɑɹvɪs"),  # diphthong, affricate, no length marks in US
    ("hˈe^ɪ d^ʒˈɑːvɪs", True, "hˈA ʤˈɑːvɪs"),  # British keeps them
    ("ɡˈo^ʊ", False, "ɡˈO"),
    ("ɡˈə^ʊ", True, "ɡˈQ"),
    ("lˈa^ɪts, hˈa^ʊ bˈɔ^ɪ", False, "lˈIts, hˈW bˈY"),
    ("t^ʃˈɜːt^ʃ", False, "ʧˈɜɹʧ"),  # the American nurse vowel is r-coloured
    ("kəmpjˈuːɾɚ", False, "kəmpjˈuɾəɹ"),
    ("ɐlˈɛksə", False, "əlˈɛksə"),
    ("bˈʌʔn̩", False, "bˈʌtᵊn"),  # the glottal stop and syllabic n of "button"
    ("bˈɑːɾə^l", False, "bˈɑɾᵊl"),
    ("nˈi^ə ðˈe^ə", True, "nˈɪə ðˈɛː"),
    ("ɹˈed", False, "ɹˈAd"),  # a bare e is eɪ
    ("həlˈo^ʊ\nwˈɜːld\n", False, "həlˈO, wˈɜɹld"),  # clause breaks become commas
])
def test_espeak_ipa_maps_to_kokoro_phonemes(ipa, british, expected):
    assert to_kokoro(ipa, british=british) == expected


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng absent")
def test_phonemes_end_as_the_text_does_or_with_a_full_stop():
    assert phonemes("stop") == "stˈɑp."
    assert phonemes("stop", british=True) == "stˈɒp."
    assert phonemes("is it? ").endswith("?")


def test_tokens_drop_unknown_symbols_and_stop_at_the_limit():
    vocab = {"a": 1, "b": 2, "ˈ": 3}
    assert tokens("ˈaXbZa", vocab, limit=10) == [3, 1, 2, 1]
    assert tokens("ababab", vocab, limit=4) == [1, 2, 1, 2]


# --- blends ----------------------------------------------------------------------------------

def test_blends_parse_and_print():
    assert kokoro.parse_blend("af_bella") == (("af_bella", 1.0),)
    (first, w1), (second, w2) = kokoro.parse_blend("af_bella+am_adam@0.35")
    assert (first, second) == ("af_bella", "am_adam") and w1 == pytest.approx(0.65) and w2 == 0.35
    three = kokoro.parse_blend("a+b@0.3+c@0.2")
    assert [p for p, _ in three] == ["a", "b", "c"] and sum(w for _, w in three) == pytest.approx(1.0)
    assert kokoro.blend_name(["a", "b", "c"], [0.3, 0.2]) == "a+b@0.30+c@0.20"
    assert kokoro.parse_blend(kokoro.blend_name(["a", "b"], [0.25]))[1] == ("b", 0.25)


@pytest.mark.parametrize("name", ["", "a@0.5", "a+b", "a+b@x", "a+b@0", "a+b@1", "a+b@0.6+c@0.5", "a+b@.1+c@.1+d@.1",
                                  "a+@0.3"])
def test_malformed_blends_are_refused(name):
    with pytest.raises(KwsError):
        kokoro.parse_blend(name)


def test_a_blend_is_the_weighted_sum_of_its_packs(empty_cache):
    (empty_cache / "voices").mkdir(parents=True)
    for value, name in enumerate(("af_bella", "am_adam", "bf_emma")):
        np.full(kokoro.PACK_SHAPE, value + 1, dtype="<f4").tofile(empty_cache / "voices" / f"{name}.bin")
    table = kokoro.style_table("af_bella+am_adam@0.25+bf_emma@0.25")
    assert table.shape == kokoro.PACK_SHAPE and table.dtype == np.float32
    assert np.allclose(table, 0.5 * 1 + 0.25 * 2 + 0.25 * 3)
    with pytest.raises(KwsError, match="unknown Kokoro voice pack"):
        kokoro.style_table("ef_dora")


# --- absent engine and the voice grid --------------------------------------------------------

def test_no_voices_without_the_setup(empty_cache):
    assert kokoro.kokoro_voices() == ()


def test_the_grid_notes_once_and_goes_on_without_kokoro(empty_cache, capsys):
    plain = tts.voice_grid(50, seed=3)
    asked = tts.voice_grid(50, seed=3, kokoro_share=0.3)
    again = tts.voice_grid(20, seed=4, kokoro_share=0.3)
    assert asked == plain and all(v.engine != "kokoro" for v in again)
    notes = [line for line in capsys.readouterr().err.splitlines() if "Kokoro" in line]
    assert len(notes) == 1 and notes[0].startswith("kws: note:") and "kws data download kokoro" in notes[0]


def test_the_grid_shares_out_blended_kokoro_speakers(monkeypatch):
    monkeypatch.setattr(tts, "kokoro_voices", lambda: kokoro.ENGLISH_VOICES)
    plain = tts.voice_grid(200, seed=1)
    grid = tts.voice_grid(200, seed=1, kokoro_share=0.3)
    assert tts.voice_grid(200, seed=1, kokoro_share=0.0) == plain  # share 0: the grid as before
    assert len(grid) == 200
    ours = [v for v in grid if v.engine == "kokoro"]
    assert len(ours) == 60 and grid[-60:] == ours  # last, after every other engine
    blends = [kokoro.parse_blend(v.name) for v in ours]
    assert {b[0][0] for b in blends} == set(kokoro.ENGLISH_VOICES)  # every pack leads a voice
    assert {len(b) for b in blends} == {1, 2, 3}
    assert all(b[0][1] >= 0.3 and len({p for p, _ in b}) == len(b) for b in blends)
    assert all(85 <= v.rate <= 125 and 90 <= v.pitch <= 112 for v in ours)
    assert tts.voice_grid(200, seed=1, kokoro_share=0.3) == grid  # seeded
    # Beyond what the other engines leave (0.55), they shrink in proportion; 1 is Kokoro alone.
    mostly = tts.voice_grid(200, seed=1, kokoro_share=0.9)
    assert sum(v.engine == "kokoro" for v in mostly) == 180
    alone = tts.voice_grid(50, seed=1, kokoro_share=1.0)
    assert {v.engine for v in alone} == {"kokoro"} and len(alone) == 50
    with pytest.raises(KwsError, match="between 0 and 1"):
        tts.voice_grid(10, seed=0, kokoro_share=1.5)


# --- setup (made-up files, nothing downloaded) ------------------------------------------------

def _fake_parts(tmp_path, monkeypatch) -> bytes:
    """Four made-up model parts and a vocabulary where the setup looks for the pip packages."""
    whole = b""
    for i, package in enumerate(kokoro_setup.MODEL_PART_PACKAGES):
        (tmp_path / package).mkdir()
        part = bytes([i]) * (1000 + i)
        (tmp_path / package / "part.bin").write_bytes(part)
        whole += part
    (tmp_path / kokoro_setup.VOCAB_PACKAGE / "data").mkdir(parents=True)
    vocab = b'{"vocab": {"a": 43}}'
    (tmp_path / kokoro_setup.VOCAB_PACKAGE / "data" / "vocab.json").write_bytes(vocab)
    monkeypatch.setattr(kokoro_setup, "_package_dir", lambda package: tmp_path / package)
    monkeypatch.setattr(kokoro, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(kokoro_setup, "VOCAB_SHA256", hashlib.sha256(vocab).hexdigest())
    return whole


def _fake_tarball(path, *, short: str = "") -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name in kokoro.ENGLISH_VOICES + ("ef_dora",):
            data = bytes(kokoro.PACK_BYTES - (8 if name == short else 0))
            member = tarfile.TarInfo(f"package/voices/{name}.bin")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
        readme = tarfile.TarInfo("package/README.md")
        archive.addfile(readme, io.BytesIO(b""))


def test_setup_assembles_copies_and_extracts_then_skips(empty_cache, tmp_path, monkeypatch):
    whole = _fake_parts(tmp_path, monkeypatch)
    empty_cache.mkdir(parents=True)
    _fake_tarball(empty_cache / kokoro_setup.NPM_TARBALL)  # the offline route: no npm call
    monkeypatch.setattr(kokoro_setup, "NPM_SHA256", file_sha256(empty_cache / kokoro_setup.NPM_TARBALL))
    monkeypatch.setattr(kokoro_setup, "_npm_pack", lambda destination: pytest.fail("npm was called"))
    lines: list[str] = []
    kokoro_setup.setup_kokoro(log=lines.append)
    assert (empty_cache / kokoro.MODEL_FILE).read_bytes() == whole
    assert kokoro._vocab() == {"a": 43}
    assert len(list((empty_cache / "voices").glob("*.bin"))) == len(kokoro.ENGLISH_VOICES) + 1
    assert "assembled" in lines[0] and "extracted 29 voice packs" in lines[2]
    assert kokoro.kokoro_voices() == kokoro.ENGLISH_VOICES
    lines.clear()
    kokoro_setup.setup_kokoro(log=lines.append)
    assert all("already" in line for line in lines)
    assert not [p for p in empty_cache.iterdir() if p.name.startswith(".")]  # no temporary left
    # Without onnxruntime (the kokoro extra) the same files offer no voice, and the setup says why.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    kokoro.kokoro_voices.cache_clear()
    assert kokoro.kokoro_voices() == ()
    with pytest.raises(KwsError, match=r"pip install 'kws\[kokoro\]'"):
        kokoro_setup.setup_kokoro(log=lines.append)


def test_setup_refuses_a_wrong_model_and_leaves_nothing(empty_cache, tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch)
    monkeypatch.setattr(kokoro, "MODEL_SHA256", "0" * 64)
    with pytest.raises(KwsError, match="sha256"):
        kokoro_setup.setup_kokoro(log=lambda line: None)
    assert list(empty_cache.iterdir()) == []


def test_setup_refuses_a_tarball_with_a_short_pack(empty_cache, tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch)
    empty_cache.mkdir(parents=True)
    _fake_tarball(empty_cache / kokoro_setup.NPM_TARBALL, short="am_adam")
    monkeypatch.setattr(kokoro_setup, "NPM_SHA256", file_sha256(empty_cache / kokoro_setup.NPM_TARBALL))
    with pytest.raises(KwsError, match="am_adam.bin has"):
        kokoro_setup.setup_kokoro(log=lambda line: None)
    assert not (empty_cache / "voices").exists()


def test_without_npm_the_setup_says_so_in_one_line(empty_cache, tmp_path, monkeypatch, capsys):
    _fake_parts(tmp_path, monkeypatch)
    monkeypatch.setattr(kokoro_setup.shutil, "which", lambda program: None)
    assert main(["data", "download", "kokoro"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kws: error:")]
    assert len(errors) == 1 and "npm is not installed" in errors[0] and kokoro_setup.NPM_TARBALL in errors[0]


def test_download_kokoro_takes_no_corpus_options(capsys):
    assert main(["data", "download", "kokoro", "--url", "https://example.invalid/x"]) == 2
    assert "takes no --url" in capsys.readouterr().err


# --- real synthesis, where set up here ----------------------------------------------------------

@needs_kokoro
def test_kokoro_speaks_16_khz_int16_and_caches(tmp_path, monkeypatch):
    voice = tts.Voice("kokoro", "af_bella+am_adam@0.35", 100, 100)
    samples = tts.synthesize("yes", voice, cache_dir=tmp_path)
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert 0.3 <= len(samples) / tts.SAMPLE_RATE <= 3.0
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300
    monkeypatch.setattr(kokoro, "speak", lambda *a, **k: pytest.fail("synthesised again"))
    assert np.array_equal(tts.synthesize("yes", voice, cache_dir=tmp_path), samples)


@needs_kokoro
def test_kokoro_rate_stretches_and_pitch_moves_the_voice_not_the_duration():
    from kws.wakeword.dataset import trim_clip

    def clip(rate: int, pitch: int) -> np.ndarray:
        return trim_clip(tts.synthesize("hey nova", tts.Voice("kokoro", "am_adam", rate, pitch)))

    normal, slow, high = clip(100, 100), clip(140, 100), clip(100, 112)
    assert len(slow) > 1.2 * len(normal)
    assert abs(len(high) / len(normal) - 1) < 0.15
    librosa = pytest.importorskip("librosa")
    f0 = [np.median(librosa.yin(c / 32768.0, fmin=60, fmax=400, sr=tts.SAMPLE_RATE, frame_length=1024))
          for c in (normal, high)]
    assert f0[1] > 1.08 * f0[0]
