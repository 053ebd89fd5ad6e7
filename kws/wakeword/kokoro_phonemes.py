"""English text -> Kokoro-82M phoneme tokens, through espeak-ng's IPA.

Kokoro was trained on misaki's phoneme set, not on raw IPA: diphthongs and affricates are single
symbols (eɪ -> A, aɪ -> I, aʊ -> W, ɔɪ -> Y, American oʊ -> O, British əʊ -> Q, tʃ -> ʧ, dʒ -> ʤ),
the r is ɹ, r-coloured schwa ɚ is əɹ, and American English has no length marks. espeak-ng
(already a kws dependency) writes IPA with ``--ipa``; asked for a tie character between the
letters of one phoneme (``--tie=^``), a diphthong is told apart from two vowels in a row, so the
mapping below works phoneme by phoneme. The facts come from misaki's espeak fallback table
(Apache-2.0); the table here is written for kws.

Whatever is still outside Kokoro's vocabulary after the mapping is dropped: the model has no
embedding for it.
"""

from __future__ import annotations

import re
import subprocess
from typing import Mapping

from ..errors import KwsError

#: Joins the letters of one multi-letter phoneme in espeak-ng's output (``--tie``).
TIE = "^"

#: Phonemes written with a tie, for both accents (applied before single letters).
_TIED = (
    ("a^ɪ", "I"), ("a^ʊ", "W"), ("e^ɪ", "A"), ("ɔ^ɪ", "Y"), ("d^ʒ", "ʤ"), ("t^ʃ", "ʧ"),
    ("ə^l", "ᵊl"),  # the syllabic l of "bottle"
)
#: Accent-specific tied phonemes: American oʊ is O, British əʊ is Q; British "square" and "near".
_TIED_US = (("o^ʊ", "O"), ("ə^ʊ", "O"))
_TIED_GB = (("ə^ʊ", "Q"), ("o^ʊ", "Q"), ("e^ə", "ɛː"), ("i^ə", "ɪə"))
#: Single symbols: espeak-ng's letter -> Kokoro's.
_SINGLE = {
    "r": "ɹ", "ɚ": "əɹ", "ɐ": "ə", "e": "A", "x": "k", "ç": "k", "ɬ": "l", "ʔ": "t", "ʲ": "", "g": "ɡ",
    "o": "ɔ",  # espeak-ng before 1.52 writes a bare o for ɔ
    "\u0303": "",  # nasalisation
}
#: American English: the "nurse" vowel is ɜɹ, "near" is iə, and no phoneme is long.
_US_AFTER = (("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("ː", ""))

_SYLLABIC = re.compile(r"(\S)\u0329")  # a consonant with the syllabic mark: n̩ -> ᵊn


def british(voice_pack: str) -> bool:
    """Whether a Kokoro voice pack speaks British English (``bf_*``, ``bm_*``)."""
    return voice_pack.startswith("b")


def to_kokoro(ipa: str, *, british: bool = False) -> str:
    """espeak-ng's tied IPA (``--ipa --tie=^``) in Kokoro's phoneme set. Clause breaks (espeak-ng
    writes one clause a line) become commas, which Kokoro speaks as short pauses."""
    text = ", ".join(line.strip() for line in ipa.splitlines() if line.strip())
    text = text.replace(f"ʔ{TIE}n\u0329", "tᵊn").replace("ʔn\u0329", "tᵊn")  # the glottal stop of "button"
    text = _SYLLABIC.sub(lambda m: "ᵊ" + m.group(1), text)
    for old, new in _TIED + (_TIED_GB if british else _TIED_US):
        text = text.replace(old, new)
    text = "".join(_SINGLE.get(ch, ch) for ch in text).replace(TIE, "")
    if not british:
        for old, new in _US_AFTER:
            text = text.replace(old, new)
    return text


def espeak_ipa(text: str, *, british: bool = False) -> str:
    """espeak-ng's IPA for ``text`` (en-us, or en-gb), phonemes tied with :data:`TIE`."""
    command = ["espeak-ng", "-q", "--ipa", f"--tie={TIE}", "-v", "en-gb" if british else "en-us"]
    try:
        # The text goes on stdin, so one starting with "-" is never read as an option.
        return subprocess.run(command, input=text, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise KwsError("espeak-ng is not installed (apt-get install espeak-ng); Kokoro reads its phonemes") from None
    except subprocess.CalledProcessError as error:
        raise KwsError(f"espeak-ng failed: {error.stderr.strip() or error}") from None


#: Sentence ends Kokoro knows; espeak-ng's IPA leaves them out.
_ENDS = ".!?"


def phonemes(text: str, *, british: bool = False) -> str:
    """``text`` in Kokoro's phoneme set (see :func:`to_kokoro`), ending as the text does, with a
    full stop where it has no ending: Kokoro learnt from punctuated sentences, and a lone word
    ending in one is heard better (pocketsphinx heard "alexa" in 19 of the 28 English voices
    with it, 12 without; "yes" and "stop" alike either way)."""
    stripped = text.rstrip()
    end = stripped[-1] if stripped and stripped[-1] in _ENDS else "."
    return to_kokoro(espeak_ipa(text, british=british), british=british) + end


def tokens(phoneme_text: str, vocab: Mapping[str, int], *, limit: int) -> list[int]:
    """The token ids of ``phoneme_text``, symbols outside ``vocab`` dropped, at most ``limit``."""
    return [vocab[ch] for ch in phoneme_text if ch in vocab][:limit]
