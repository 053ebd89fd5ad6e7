"""The speech-embedding teacher's head, chosen on inner speaker folds of the training speakers.

    python benchmarks/bench_embedding_head.py [--folds 5] [--only NAME ...]
    python benchmarks/bench_embedding_head.py --heldout NAME --seeds 0 1 2   # once, at the end

The run's split is the one `kws distill --teacher embedding --validation-percent 20` uses on
../shared/data (20 % of the speakers held out by a salted hash). Everything here is chosen
on the other 80 %: their speakers are cut into ``--folds`` inner folds (another salt), and
each candidate head (kws.teachers.embedding.HeadConfig, and how many augmented draws of the
clips it also learns from) is trained on all inner folds but one and scored on the clean clips
of that one, for every fold. Reported: accuracy and negative log-likelihood (NLL, in nats;
the soft targets' calibration) over all inner-validation clips, and the temperature that
would minimise that NLL. ``--heldout NAME`` trains that candidate on all training clips and
scores it on the held-out speakers; run it once, for the head already chosen.

Embeddings are cached by content (datasets/cache/speech-embedding/), so only new augmented
draws are embedded (~10 ms a clip); a head trains in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kws.data.feature_cache import DEFAULT_CACHE_DIR  # noqa: E402
from kws.data.speech_commands import LABELS, SILENCE, scan, speaker_fold, speaker_holdout  # noqa: E402
from kws.teachers.embedding import HeadConfig, SpeechEmbedding, cached_embeddings, train_head  # noqa: E402
from kws.training import TrainConfig, epoch_audio, prepare_data  # noqa: E402

BASE = HeadConfig(hidden=(256,), dropout=0.3, epochs=40)
#: name -> (head, augmented draws besides the clean clips).
CANDIDATES: dict[str, tuple[HeadConfig, int]] = {
    "mlp256 +2 draws (today)": (BASE, 2),
    "mlp256 clean": (BASE, 0),
    "mlp256 +1 draw": (BASE, 1),
    "linear clean": (replace(BASE, hidden=()), 0),
    "linear +2 draws": (replace(BASE, hidden=()), 2),
    "mlp128 clean": (replace(BASE, hidden=(128,)), 0),
    "mlp512 d0.5 clean": (replace(BASE, hidden=(512,), dropout=0.5), 0),
    "mlp256 mean-max clean": (replace(BASE, pooling="mean-max"), 0),
    "mlp256 flatten-mean-max clean": (replace(BASE, pooling="flatten-mean-max"), 0),
    "mlp256 wd1e-2 clean": (replace(BASE, weight_decay=1e-2), 0),
    "mlp256 ls0.1 clean": (replace(BASE, label_smoothing=0.1), 0),
    "mlp256 20 epochs clean": (replace(BASE, epochs=20), 0),
    "mlp256 80 epochs clean": (replace(BASE, epochs=80), 0),
    "mlp256 x3 clean": (replace(BASE, members=3), 0),
    "mlp256 x3 +2 draws": (replace(BASE, members=3), 2),
    # the second round: the better settings of the first, with the draws that helped there
    "mlp512 d0.5 +2 draws": (replace(BASE, hidden=(512,), dropout=0.5), 2),
    "mlp512 d0.5 x3 +2 draws": (replace(BASE, hidden=(512,), dropout=0.5, members=3), 2),
}
DATA = ("speech_commands_v2_test_dev", "speech_commands_v1_unknown_dev")
#: A seed stream of its own for the draws, as kws.training.fit_embedding_teacher does.
DRAW_STREAM = 1 << 20


def _training_groups(config: TrainConfig, n_speech: int, n_silence: int) -> tuple[list[str], list[str]]:
    """The speaker (group) of every clean training clip, in prepare_data's order."""
    clips = [clip for root in config.data for clip in scan(root)[0]]
    train, _held = speaker_holdout(clips, percent=config.validation_percent)
    speech = [c.group for c in train if c.label != SILENCE]
    silence = [c.group for c in train if c.label == SILENCE]
    assert (len(speech), len(silence)) == (n_speech, n_silence), "the split differs from prepare_data's"
    return speech, silence


def _scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy over all clips, and accuracy and NLL with every class weighing the same (the
    held-out set is near balanced: its unknown words are cut to a keyword's count)."""
    counts = np.bincount(labels, minlength=logits.shape[1])
    weights = 1.0 / (np.count_nonzero(counts) * counts[labels])

    def nll(temperature: float) -> float:
        z = logits / temperature
        z = z - z.max(axis=1, keepdims=True)
        return float(np.sum(weights * (np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), labels])))

    correct = np.argmax(logits, axis=1) == labels
    temperatures = np.exp(np.linspace(np.log(0.25), np.log(8.0), 41))
    best = min(temperatures, key=nll)
    return {"accuracy": float(np.mean(correct)), "balanced_accuracy": float(np.sum(weights * correct)),
            "nll": nll(1.0), "best_temperature": float(best), "nll_at_best": nll(best)}


class Embedded:
    """The run's data and the embeddings of its clean training clips (cached)."""

    def __init__(self, config: TrainConfig, cache_dir: Path) -> None:
        self.config, self.cache_dir = config, cache_dir
        self.data = prepare_data(config, cache_dir=cache_dir)
        self.embedding = SpeechEmbedding()
        self.speech = cached_embeddings(self.embedding, self.data.train_audio, cache_dir)
        self.silence = cached_embeddings(self.embedding, self.data.silence_audio, cache_dir)
        self.speech_groups, self.silence_groups = _training_groups(config, len(self.speech), len(self.silence))

    def training_set(self, speech: np.ndarray, silence: np.ndarray, draws: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The clean clips of the masks and ``draws`` augmented epochs of them: (embeddings, labels)."""
        data = replace(self.data, train_audio=self.data.train_audio[speech],
                       train_labels=self.data.train_labels[speech], silence_audio=self.data.silence_audio[silence])
        embedded = [self.speech[speech], self.silence[silence]]
        labels = [data.train_labels, np.full(int(silence.sum()), LABELS.index(SILENCE))]
        for draw in range(draws):
            audio, drawn, _ = epoch_audio(data, self.config, np.random.default_rng([seed, DRAW_STREAM, draw]))
            embedded.append(cached_embeddings(self.embedding, audio, self.cache_dir))
            labels.append(drawn)
        return np.concatenate(embedded), np.concatenate(labels)

    def inner_folds(self, folds: int, head: HeadConfig, draws: int, seed: int) -> dict[str, float]:
        """The head scored on each inner fold after training on the others; all folds' clips pooled."""
        speech_fold = np.array([speaker_fold(g, folds=folds, salt="kws-head") for g in self.speech_groups])
        silence_fold = np.array([speaker_fold(g, folds=folds, salt="kws-head") for g in self.silence_groups])
        logits, labels = [], []
        for fold in range(folds):
            x, y = self.training_set(speech_fold != fold, silence_fold != fold, draws, seed)
            model = train_head(x, y, len(LABELS), head, seed=seed)
            held = np.concatenate([self.speech[speech_fold == fold], self.silence[silence_fold == fold]])
            logits.append(model.predict(held, batch_size=512, verbose=0))
            labels.append(np.concatenate([self.data.train_labels[speech_fold == fold],
                                          np.full(int(np.sum(silence_fold == fold)), LABELS.index(SILENCE))]))
        return {"clips": int(sum(map(len, labels))), **_scores(np.concatenate(logits), np.concatenate(labels))}

    def heldout(self, head: HeadConfig, draws: int, seed: int) -> dict[str, float]:
        everything = (np.ones(len(self.speech), bool), np.ones(len(self.silence), bool))
        model = train_head(*self.training_set(*everything, draws, seed), len(LABELS), head, seed=seed)
        held = cached_embeddings(self.embedding, self.data.val_audio, self.cache_dir)
        return {"clips": len(held), **_scores(model.predict(held, batch_size=512, verbose=0), self.data.val_labels)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="the seed of the heads and draws on the inner folds")
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), help="these candidates only")
    parser.add_argument("--heldout", choices=sorted(CANDIDATES),
                        help="score this candidate on the held-out speakers instead (once, when chosen)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of --heldout")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "embedding_head.json")
    args = parser.parse_args()

    config = TrainConfig(data=tuple(str(args.data / name) for name in DATA), validation_percent=20.0)
    embedded = Embedded(config, DEFAULT_CACHE_DIR)
    results = json.loads(args.json.read_text()) if args.json.exists() else {"inner": {}, "heldout": {}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.heldout:
        head, draws = CANDIDATES[args.heldout]
        rows = [{"seed": seed, **embedded.heldout(head, draws, seed)} for seed in args.seeds]
        for row in rows:
            print(f"{args.heldout} seed {row['seed']}: {100 * row['accuracy']:.2f} % of {row['clips']} "
                  f"(balanced {100 * row['balanced_accuracy']:.2f} %), NLL {row['nll']:.3f}", flush=True)
        results["heldout"][args.heldout] = rows
    else:
        print("| head | draws | inner accuracy | balanced | NLL (balanced) | best T | NLL at best T |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in args.only or CANDIDATES:
            head, draws = CANDIDATES[name]
            row = embedded.inner_folds(args.folds, head, draws, args.seed)
            results["inner"][name] = {"head": asdict(head), "draws": draws, "folds": args.folds, **row}
            print(f"| {name} | {draws} | {100 * row['accuracy']:.2f} % | {100 * row['balanced_accuracy']:.2f} % | "
                  f"{row['nll']:.3f} | {row['best_temperature']:.2f} | {row['nll_at_best']:.3f} |", flush=True)
            args.json.write_text(json.dumps(results, indent=1))
    args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
