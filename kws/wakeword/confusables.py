"""Negatives that sound like the wake word: phoneme neighbours, parts and rearrangements.

Phonemes come from espeak-ng (``espeak-ng -q -x``, its ASCII phoneme names; stress marks and
syllable marks removed). From the wake phrase we derive, deterministically:

* each word alone, and every run of consecutive words shorter than the phrase ("hey", "nova");
* the words in another order ("nova hey");
* letter prefixes and suffixes of each word of at least 3 letters ("nov", "ova", "alex", "lexa");
* the phrase with one word swapped for a phoneme neighbour ("hey over"), and the nearest
  neighbours alone ("over", "nevada").

Phoneme neighbours come from the CMU Pronouncing Dictionary where it is installed (Festival's
copy, Debian ``festlex-cmu``, which the festival voices pull in: ~105 k words, names included, so
"alexa" finds "alexis", "lexus" and "alissa"), ranked by the Levenshtein distance between their
ARPAbet phonemes relative to the longer one. Words the dictionary lacks, or machines without it,
fall back to espeak-ng's phonemes of the everyday words in :data:`VOCABULARY`. Nothing here
contains the wake phrase itself, nor a word whose phonemes contain the wake word's.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Sequence

from ..errors import KwsError

#: Everyday English words to draw phoneme neighbours from (and to speak as other speech).
VOCABULARY = tuple("""
a about above after again air all almost alone along already also always am america among an and animal
another answer any anything are area arm around as ask at away baby back bad ball bank bar base be bear
because bed been before began begin behind being below best better between big bird black blue boat body
book both box boy bread break bring brother brown build business but buy by call came can car care carry
case cat catch center certain chair change child children city class clean clear close cold color come
common complete could country course cover cross cut dark day dead deal dear deep did different dinner
direct do doctor does dog done door down draw dream dress drink drive dry during each early earth east
easy eat edge egg eight either electric eleven else end enough even evening ever every example explain
eye face fact fall family far farm fast father feel feet few field fight fill final find fine finger fire
first fish five floor fly follow food foot for form found four free friend from front full game garden
gave get girl give glass go gold good got great green ground group grow had half hand happen happy hard
has have he head hear heard heart heat heavy hello help her here high hill him his history hold home hope
horse hot hour house how however hundred hurry i ice idea if important in inside into is island it its
job join just keep kept kind king kitchen knew know land language large last late later laugh lay lead
learn least leave left leg less let letter level lie life light like line list listen little live long
look lost lot love low machine made main make man many map mark market matter may me mean measure meet
member men middle might mile milk mind minute miss modern moment money month moon more morning most
mother mountain mouth move much music must my name nation near need never new news next nice night nine
no noise none north nose not note nothing notice now number ocean of off offer office often oil old on
once one only open or order other our out over own page paper part party pass past pay people perhaps
person pick picture piece place plan plant play please point poor possible power present pretty problem
product program pull put question quick quiet rain ran reach read ready real reason red remember rest
right river road rock room round rule run said same saw say school sea second see seem sell send sentence
serve set seven several shall she ship shop short should show side sign simple since sing sister sit six
size sleep slow small smile snow so some something song soon sound south space speak special spell spring
square stand star start state stay step still stop store story street strong study such summer sun sure
surface table take talk teach team tell ten test than thank that the their them then there these they
thing think this those though thought thousand three through time to today together told too took top
toward town train travel tree true try turn twelve twenty two under until up upon us use usual valley
very voice wait walk wall want war warm was watch water way we wear weather week well went were west
what wheel when where which while white who whole why wide will wind window winter wish with without
woman wonder wood word work world would write wrong year yes yet you young your
""".split())


def phonemes(text: str, *, voice: str = "en-us") -> str:
    """espeak-ng's ASCII phonemes of ``text``, stress and syllable marks removed, words joined by
    a space."""
    return phonemes_many([text], voice=voice)[0]


#: (text, voice) -> phonemes, filled by :func:`phonemes_many`.
_PHONEMES: dict[tuple[str, str], str] = {}


def _clean(line: str) -> str:
    return " ".join(re.sub(r"[',%=_:!]", "", line).split())


def _espeak_phonemes(lines: str, voice: str) -> list[str]:
    try:
        out = subprocess.run(["espeak-ng", "-q", "-x", "-v", voice], input=lines, check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise KwsError("espeak-ng is not installed (apt-get install espeak-ng): it gives the phonemes") from None
    return [_clean(line) for line in out.splitlines() if line.strip()]


def phonemes_many(texts: Sequence[str], *, voice: str = "en-us") -> list[str]:
    """Phonemes of many texts, with one espeak-ng process for all those not seen before."""
    missing = sorted({t for t in texts if (t, voice) not in _PHONEMES})
    if missing:
        # One text a line; espeak-ng answers one line per clause, so fall back to one call per
        # text if the counts disagree.
        lines = _espeak_phonemes("\n".join(missing) + "\n", voice)
        if len(lines) != len(missing):
            lines = [" ".join(_espeak_phonemes(t + "\n", voice)) for t in missing]
        _PHONEMES.update({(t, voice): line for t, line in zip(missing, lines)})
    return [_PHONEMES[(t, voice)] for t in texts]


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two sequences."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _tokens(phoneme_string: str) -> list[str]:
    """Phoneme symbols: espeak-ng writes multi-letter ones (``eI``, ``oU``, ``@L``) as a capital or
    ``@`` after a letter; a close-enough tokenisation for ranking."""
    return re.findall(r"[a-zA-Z@3][A-Z@#0-9]?|[^\s]", phoneme_string.replace(" ", ""))


def distance(a: str, b: str) -> float:
    """Relative phoneme distance between two texts' phoneme strings, 0 (same) .. 1."""
    ta, tb = _tokens(a), _tokens(b)
    return edit_distance(ta, tb) / max(1, len(ta), len(tb))


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def nearest(word: str, *, count: int = 5, vocabulary: Sequence[str] = VOCABULARY) -> list[str]:
    """The ``count`` words of ``vocabulary`` nearest to ``word`` in phonemes (not ``word`` itself)."""
    candidates = [w for w in vocabulary if w != word]
    target = phonemes(word)
    sounds = phonemes_many(candidates)
    ranked = sorted(zip(candidates, sounds), key=lambda ws: (distance(target, ws[1]), ws[0]))
    return [w for w, s in ranked if s != target][:count]


#: Festival's copy of the CMU Pronouncing Dictionary (Debian festlex-cmu).
CMU_LEXICON = Path("/usr/share/festival/dicts/cmu/cmudict-0.4.out")
_LEXICON_ENTRY = re.compile(r'\("([a-z]+)" \S+ \((.*)\)\)\s*$')
_SYLLABLE = re.compile(r"\(\(([a-z ]+)\) \d\)")


@functools.lru_cache(maxsize=4)
def cmu_lexicon(path: Path = CMU_LEXICON) -> dict[str, tuple[str, ...]]:
    """word -> its ARPAbet phonemes without stress (the first pronunciation listed); {} where the
    dictionary is not installed."""
    try:
        lines = Path(path).read_text(encoding="latin-1").splitlines()
    except OSError:
        return {}
    lexicon: dict[str, tuple[str, ...]] = {}
    for line in lines:
        entry = _LEXICON_ENTRY.match(line)
        if entry and entry.group(1) not in lexicon:
            sounds = tuple(" ".join(_SYLLABLE.findall(entry.group(2))).split())
            if sounds:
                lexicon[entry.group(1)] = sounds
    return lexicon


def _contains(sounds: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return any(tuple(sounds[i : i + n]) == tuple(part) for i in range(len(sounds) - n + 1))


def _is_subsequence(part: Sequence[str], sounds: Sequence[str]) -> bool:
    remaining = iter(sounds)
    return all(p in remaining for p in part)


def lexicon_neighbours(word: str, *, count: int, lexicon: dict[str, tuple[str, ...]],
                       min_distance: float = 0.25) -> list[str]:
    """The ``count`` words of ``lexicon`` nearest to ``word`` in phonemes; never a homophone of
    ``word``, a word that contains all of its phonemes in a row ("alexa's" for "alexa"), nor one
    that is the word with sounds left out ("ay" for "hey"): those are how people say the wake word
    itself, quickly or sloppily, and would teach the model to reject it. For the same reason a
    neighbour differs in at least ``min_distance`` of the sounds ("alexis" for "alexa", not
    "alexi"). [] when ``word`` is not in ``lexicon``."""
    target = lexicon.get(word)
    if not target:
        return []
    slack = max(2, len(target) // 2)
    scored = []
    for other, sounds in lexicon.items():
        if (other == word or abs(len(sounds) - len(target)) > slack or _contains(sounds, target)
                or _is_subsequence(sounds, target)):
            continue
        relative = edit_distance(target, sounds) / max(len(target), len(sounds))
        if relative >= min_distance:
            scored.append((relative, other))
    return [other for _, other in sorted(scored)[:count]]


def confusables(phrase: str, *, neighbours: int = 8, lexicon_neighbours_count: int = 24,
                lexicon: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Texts that sound like parts of ``phrase`` or like it, never ``phrase`` itself; sorted,
    unique. Each word of the phrase brings ``lexicon_neighbours_count`` / words dictionary
    neighbours (``lexicon``: the CMU dictionary by default), or ``neighbours`` / words from
    :data:`VOCABULARY` when the dictionary lacks it."""
    lexicon = cmu_lexicon() if lexicon is None else lexicon
    phrase = normalise(phrase)
    words = phrase.split()
    if not words:
        raise KwsError("the wake word is empty")
    out: set[str] = set()
    n = len(words)
    for length in range(1, n):
        for start in range(0, n - length + 1):
            out.add(" ".join(words[start : start + length]))
    if n > 1:
        out.add(" ".join(reversed(words)))
    for word in words:
        for k in range(3, len(word)):
            out.add(word[:k])
            out.add(word[-k:])
    for i, word in enumerate(words):
        near_words = lexicon_neighbours(word, count=max(6, lexicon_neighbours_count // n), lexicon=lexicon)
        for near in near_words or nearest(word, count=max(3, neighbours // n)):
            out.add(near)
            if n > 1:
                out.add(" ".join(words[:i] + [near] + words[i + 1 :]))
    target = phonemes(phrase)
    return sorted(t for t in out if t and t != phrase and phonemes(t) != target)
