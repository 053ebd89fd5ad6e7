"""Google Speech Commands (v0.01 and v0.02) in their standard layout, as the 12-class task.

Layout: ``<root>/<word>/<speaker>_nohash_<n>.wav`` and ``<root>/_background_noise_/*.wav``.
Also understood, as ``../shared/data`` holds them: ``<root>/_unknown_/<word>_<speaker>_nohash_<n>.wav``
and ``<root>/_silence_/<n>.wav`` (ready-cut silence).

The 12 classes are Hello Edge's: ``_silence_``, ``_unknown_`` and ten keywords. Every word
folder that is not a keyword feeds ``_unknown_``; ``_silence_`` comes from ready-cut clips
and from one-second cuts of the background noise.

Splits: the official ``validation_list.txt``/``testing_list.txt`` when the root has them,
otherwise the paper's hash of the speaker id (Warden 2018, ``which_set``), so that a speaker's
clips all land in one set, whatever else is added to the corpus.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..labels import SILENCE, UNKNOWN

BACKGROUND = "_background_noise_"
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
#: Hello Edge / ML-KWS-for-MCU label order.
LABELS = (SILENCE, UNKNOWN) + KEYWORDS

SPLITS = ("training", "validation", "testing")
_MAX_CLIPS_PER_CLASS = 2**27 - 1  # the paper's constant: keeps the split stable as data grows
_NOHASH = re.compile(r"_nohash_.*$")


@dataclass(frozen=True)
class Clip:
    """One labelled clip of the corpus."""

    path: Path
    label: str  # one of LABELS
    word: str  # the spoken word ("" for silence)
    speaker: str  # speaker id ("" for silence clips, which have none)

    @property
    def group(self) -> str:
        """What the split hashes: the speaker, or the file for speaker-less silence clips."""
        return self.speaker or f"silence:{self.path.name}"


def _parse_name(folder: str, path: Path) -> tuple[str, str]:
    """(word, speaker) from a clip's folder and file name."""
    stem = path.stem
    if folder == UNKNOWN:
        # <word>_<speaker>_nohash_<n>: the word may not contain '_', the speaker id is hex.
        word, _, rest = stem.partition("_")
        return word, _NOHASH.sub("", rest)
    if folder == SILENCE:
        return "", ""
    return folder, _NOHASH.sub("", stem)


def label_for(word: str, folder: str) -> str:
    if folder == SILENCE:
        return SILENCE
    return word if word in KEYWORDS else UNKNOWN


def scan(root: Path | str) -> tuple[list[Clip], list[Path]]:
    """All labelled clips under ``root`` and its background-noise files, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no Speech Commands folder at {root}")
    clips: list[Clip] = []
    noise: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.wav"))
        if folder.name == BACKGROUND:
            noise.extend(files)
            continue
        for path in files:
            word, speaker = _parse_name(folder.name, path)
            clips.append(Clip(path=path, label=label_for(word, folder.name), word=word, speaker=speaker))
    return clips, noise


def hash_split(group: str, *, validation_percent: float, testing_percent: float) -> str:
    """The paper's ``which_set``: a stable split from a hash of the speaker id."""
    digest = int(hashlib.sha1(group.encode("utf-8")).hexdigest(), 16)
    percent = (digest % (_MAX_CLIPS_PER_CLASS + 1)) * (100.0 / _MAX_CLIPS_PER_CLASS)
    if percent < validation_percent:
        return "validation"
    if percent < validation_percent + testing_percent:
        return "testing"
    return "training"


def has_official_lists(root: Path | str) -> bool:
    """Whether a corpus folder carries the official validation and testing lists."""
    return all((Path(root) / name).exists() for name in ("validation_list.txt", "testing_list.txt"))


def _official_lists(root: Path) -> dict[str, str] | None:
    lists = {"validation": root / "validation_list.txt", "testing": root / "testing_list.txt"}
    if not all(p.exists() for p in lists.values()):
        return None
    membership = {}
    for split, path in lists.items():
        for line in path.read_text().split():
            membership[line.strip()] = split
    return membership


def assign_splits(
    clips: Sequence[Clip], roots: Iterable[Path | str] = (), *, validation_percent: float = 10.0, testing_percent: float = 10.0
) -> dict[str, list[Clip]]:
    """Split clips into training/validation/testing, official lists first, else by speaker hash."""
    official: dict[Path, dict[str, str]] = {}
    for root in roots:
        lists = _official_lists(Path(root))
        if lists is not None:
            official[Path(root).resolve()] = lists
    out: dict[str, list[Clip]] = {split: [] for split in SPLITS}
    for clip in clips:
        split = None
        for root, membership in official.items():
            try:
                relative = clip.path.resolve().relative_to(root).as_posix()
            except ValueError:
                continue
            split = membership.get(relative, "training")
        if split is None:
            split = hash_split(clip.group, validation_percent=validation_percent, testing_percent=testing_percent)
        out[split].append(clip)
    return out


def label_counts(clips: Iterable[Clip]) -> dict[str, int]:
    counts = Counter(clip.label for clip in clips)
    return {label: counts.get(label, 0) for label in LABELS}


def speaker_holdout(clips: Sequence[Clip], *, percent: float, salt: str = "kws-holdout") -> tuple[list[Clip], list[Clip]]:
    """(kept, held out): about ``percent`` % of the speakers, all their clips, held out.

    A salted hash rather than the paper's: where a corpus is itself one of the paper's splits
    (``../shared/data`` is the official test split), the paper's hash puts every speaker in
    the same bucket. Salt-free silence clips are spread by file name.
    """
    kept: list[Clip] = []
    held: list[Clip] = []
    for clip in clips:
        (held if is_held_out(clip.group, percent=percent, salt=salt) else kept).append(clip)
    return kept, held


def is_held_out(group: str, *, percent: float, salt: str = "kws-holdout") -> bool:
    """Whether :func:`speaker_holdout` holds out the speaker (group) ``group``."""
    digest = int(hashlib.sha1(f"{salt}:{group}".encode("utf-8")).hexdigest(), 16)
    return digest % 10000 < percent * 100


def speaker_fold(group: str, *, folds: int, salt: str = "kws-fold") -> int:
    """The fold (0 .. ``folds`` - 1) of a speaker (group): a salted hash, so stable as the corpus
    grows, and every speaker in exactly one fold with all its clips."""
    digest = int(hashlib.sha1(f"{salt}:{group}".encode("utf-8")).hexdigest(), 16)
    return digest % folds


def fold_split(clips: Sequence[Clip], *, folds: int, fold: int,
               inner_percent: float) -> tuple[list[Clip], list[Clip], list[Clip]]:
    """(training, inner validation, test) for k-fold validation by speakers.

    Fold ``fold`` is the test fold: never trained on, never used to choose anything. Of the
    other speakers about ``inner_percent`` % are the inner validation set, on which a run picks
    its best epoch; the salt differs from the folds' so that the inner share is spread evenly
    over the other folds.
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f"fold {fold} of {folds}: need at least 2 folds and 0 <= fold < folds")
    train: list[Clip] = []
    inner: list[Clip] = []
    test: list[Clip] = []
    for clip in clips:
        if speaker_fold(clip.group, folds=folds) == fold:
            test.append(clip)
        elif is_held_out(clip.group, percent=inner_percent, salt="kws-inner"):
            inner.append(clip)
        else:
            train.append(clip)
    return train, inner, test
