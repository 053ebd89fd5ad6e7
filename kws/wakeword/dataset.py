"""The wake-word training material and its seeded 1-second windows.

:class:`Material` holds variable-length int16 clips (trimmed TTS of the wake word, of confusable
texts) and long int16 streams of other speech, plus float noise recordings. :func:`epoch_windows`
turns it into one epoch of (n, clip_samples) int16 windows with labels 0 ``_silence_``,
1 ``_unknown_``, 2 the wake word:

* **wake word**: a whole positive clip, its end 0-``end_gap_s`` before the window's end (the
  detector looks at the newest second every 200 ms and smooths over three looks, so the word
  must score wherever it ends within the last ~0.6 s);
* **unknown**: confusable clips placed the same way; random 1-second cuts of other speech, a
  share of them replaced by mined hard negatives (:mod:`.mining`) once there are any;
  *partial* positives (only the first 20-55 % of the wake word, running off the window's end,
  or only its last 20-50 %, at the window's start), so that half a wake word is not one;
* **silence**: nothing but background.

Every window then goes through :func:`kws.wakeword.room.augment_room` (reverberation, noise at an
SNR, band-limit, gain).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsp.config import SAMPLE_RATE

from .room import RoomConfig, augment_room

LABEL_SILENCE, LABEL_UNKNOWN, LABEL_WAKE = 0, 1, 2


@dataclass
class Material:
    positives: list[np.ndarray]  # trimmed int16 clips of the wake word
    confusables: list[np.ndarray]  # trimmed int16 clips of confusable texts
    speech: list[np.ndarray]  # int16 streams of other speech (any length)
    noise: list[np.ndarray]  # float noise recordings, unit-ish RMS, each >= one window
    notes: list[str] = field(default_factory=list)
    #: (clip_samples,) int16 cuts of ``speech`` that the model took for the wake word
    #: (:mod:`.mining`), filled in during training
    hard_negatives: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class WindowConfig:
    clip_samples: int = SAMPLE_RATE  # one second
    sample_rate: int = SAMPLE_RATE
    positive_repeats: int = 2  # each positive clip appears this many times per epoch
    unknown_ratio: float = 3.0  # unknown windows per wake-word window
    silence_ratio: float = 0.5
    #: shares of the unknown windows: confusable clips, partial positives; the rest is other speech
    confusable_share: float = 0.35
    partial_share: float = 0.15
    end_gap_s: float = 0.5
    #: Share of wake-word and confusable clips played faster or slower (tempo and pitch together,
    #: like a tape), by a factor drawn from ``speed``: more voices than the TTS grid has.
    speed_probability: float = 0.7
    speed: tuple[float, float] = (0.8, 1.25)
    #: Share of speech windows (wake word and unknown) with other speech under them, at an SNR
    #: drawn from ``speech_snr_db``: people talk while others talk, and the benchmark places the
    #: wake word into LibriSpeech.
    speech_background_probability: float = 0.35
    speech_snr_db: tuple[float, float] = (5.0, 25.0)
    #: Share of the other-speech windows taken from the mined hard negatives, once there are any.
    hard_negative_share: float = 0.3


def trim_clip(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The spoken part of a TTS clip (:func:`kws.trim.trim`, the energy trim), or the clip if it is silent."""
    from ..trim import trim

    start, end = trim(samples, sample_rate)
    return samples[start:end]


def place(clip: np.ndarray, length: int, end_gap: int) -> np.ndarray:
    """(length,) int16 with ``clip`` ending ``end_gap`` samples before the end; a clip longer than
    the room before that point loses its beginning."""
    out = np.zeros(length, dtype=np.int16)
    end = max(1, length - end_gap)
    piece = clip[-end:]
    out[end - len(piece) : end] = piece
    return out


def change_speed(clip: np.ndarray, factor: float) -> np.ndarray:
    """``clip`` played ``factor`` times faster (linear interpolation): length / factor samples."""
    n = max(2, int(round(len(clip) / factor)))
    positions = np.linspace(0, len(clip) - 1, n)
    return np.rint(np.interp(positions, np.arange(len(clip)), clip.astype(np.float64))).astype(np.int16)


def random_cut(streams: list[np.ndarray], length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample cut of a random stream (weighted by length), zero-padded."""
    sizes = np.array([len(s) for s in streams], dtype=np.float64)
    source = streams[rng.choice(len(streams), p=sizes / sizes.sum())]
    if len(source) <= length:
        out = np.zeros(length, dtype=np.int16)
        out[: len(source)] = source
        return out
    start = int(rng.integers(0, len(source) - length + 1))
    return source[start : start + length].copy()


def add_speech_background(audio: np.ndarray, speech: np.ndarray, streams: list[np.ndarray],
                          rng: np.random.Generator, config: WindowConfig) -> np.ndarray:
    """(n, length) int16 windows, a ``speech_background_probability`` share of those marked
    ``speech`` with a random cut of ``streams`` under them at an SNR from ``speech_snr_db``."""
    out = audio.copy()
    chosen = np.flatnonzero(speech & (rng.random(len(audio)) < config.speech_background_probability))
    for i in chosen:
        background = random_cut(streams, audio.shape[1], rng).astype(np.float64)
        level = np.sqrt(np.mean(background ** 2))
        signal = np.sqrt(np.mean(audio[i].astype(np.float64) ** 2))
        if level == 0 or signal == 0:
            continue
        gain = signal / level / 10 ** (rng.uniform(*config.speech_snr_db) / 20)
        out[i] = np.clip(np.rint(audio[i] + background * gain), -32768, 32767).astype(np.int16)
    return out


def noise_windows(noise: list[np.ndarray], n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    from ..data.augment import random_noise

    return random_noise(noise, n, length, rng).astype(np.float64)


def epoch_windows(material: Material, config: WindowConfig, room: RoomConfig, *, seed: int,
                  epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """One epoch: (n, clip_samples) int16 augmented windows and (n,) labels, shuffled;
    reproducible from (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch, 11])
    length = config.clip_samples
    max_gap = int(config.end_gap_s * config.sample_rate)
    windows: list[np.ndarray] = []
    labels: list[int] = []

    def gap_for(clip: np.ndarray) -> int:
        return int(rng.integers(0, max(0, min(max_gap, length - len(clip))) + 1))

    def vary(clip: np.ndarray) -> np.ndarray:
        if rng.random() < config.speed_probability:
            return change_speed(clip, float(rng.uniform(*config.speed)))
        return clip

    for _ in range(config.positive_repeats):
        for clip in material.positives:
            clip = vary(clip)
            windows.append(place(clip, length, gap_for(clip)))
            labels.append(LABEL_WAKE)
    n_wake = len(windows)
    n_unknown = int(round(config.unknown_ratio * n_wake))
    n_confusable = int(round(config.confusable_share * n_unknown)) if material.confusables else 0
    n_partial = int(round(config.partial_share * n_unknown)) if material.positives else 0
    n_speech = n_unknown - n_confusable - n_partial
    for _ in range(n_confusable):
        clip = vary(material.confusables[rng.integers(len(material.confusables))])
        windows.append(place(clip, length, gap_for(clip)))
    for _ in range(n_partial):
        clip = material.positives[rng.integers(len(material.positives))]
        if rng.random() < 0.5:  # the beginning of the wake word, running off the window's end
            head = clip[: max(1, int(len(clip) * rng.uniform(0.2, 0.55)))]
            windows.append(place(head, length, 0))
        else:  # its end, at the window's start
            tail = clip[-max(1, int(len(clip) * rng.uniform(0.2, 0.5))):]
            window = np.zeros(length, dtype=np.int16)
            window[: min(length, len(tail))] = tail[:length]
            windows.append(window)
    n_hard = int(round(config.hard_negative_share * n_speech)) if material.hard_negatives else 0
    if material.speech:
        for _ in range(n_speech - n_hard):
            windows.append(random_cut(material.speech, length, rng))
        for i in rng.integers(len(material.hard_negatives), size=n_hard) if n_hard else ():
            windows.append(material.hard_negatives[i].copy())
    else:  # no other speech at all: more confusables instead
        for _ in range(n_speech):
            clip = material.confusables[rng.integers(len(material.confusables))]
            windows.append(place(clip, length, gap_for(clip)))
    labels += [LABEL_UNKNOWN] * (len(windows) - len(labels))
    n_silence = int(round(config.silence_ratio * n_wake))
    windows += [np.zeros(length, dtype=np.int16)] * n_silence
    labels += [LABEL_SILENCE] * n_silence
    audio = np.stack(windows)
    label_array = np.array(labels, dtype=np.int64)
    if material.speech and config.speech_background_probability > 0:
        audio = add_speech_background(audio, label_array != LABEL_SILENCE, material.speech, rng, config)
    noise = noise_windows(material.noise, len(audio), length, rng) if material.noise else None
    augmented = augment_room(audio, noise, rng, room, sample_rate=config.sample_rate,
                             speech=label_array != LABEL_SILENCE)
    order = rng.permutation(len(audio))
    return augmented[order], label_array[order]
