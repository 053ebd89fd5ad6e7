"""``kws evaluate DIR``: accuracy, per-class recall and the confusion matrix on a labelled folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.speech_commands import SPLITS

if TYPE_CHECKING:
    import numpy as np

    from ..data.speech_commands import Clip
    from ..model_file import KwsModel


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="measure a model on a folder in Speech Commands layout",
        description="Accuracy, per-class recall and the confusion matrix of the int8 model (LiteRT reference "
                    "kernels) on every clip of DIR, a folder in Speech Commands layout (<word>/<clip>.wav, "
                    "_silence_/, _unknown_/; other words count as _unknown_, _background_noise_ is skipped).")
    parser.add_argument("folder", metavar="DIR", type=Path)
    parser.add_argument("--model", metavar="M", help="model (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--png", type=Path, metavar="OUT.png", help="also plot the confusion matrix")
    parser.add_argument("--split", choices=("all",) + SPLITS, default="all",
                        help="score only this split: the official validation_list.txt/testing_list.txt where DIR "
                             "has them, else the paper's hash of the speaker id (default: all clips). Use testing "
                             "on a downloaded corpus: its other clips are what models train on")
    parser.add_argument("--cache", type=Path, help="feature cache folder (default datasets/cache)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..console import note
    from ..data.speech_commands import assign_splits, has_official_lists, scan
    from ..errors import KwsError
    from ..exporting import class_recall, int8_accuracy
    from ..model_file import load_model
    from ..outputs import check_outputs
    from ..plots import confusion_matrix, plot_confusion

    if args.png is not None:
        from .features import require_matplotlib

        require_matplotlib()
    model = load_model(args.model)
    check_outputs(files={"--png": args.png},
                  inputs={"DIR": args.folder, "the model": [model.json_path, model.tflite_path]})
    try:
        clips, _ = scan(args.folder)
    except FileNotFoundError:
        raise KwsError(f"no such folder: {args.folder}") from None
    if args.split != "all":
        clips = assign_splits(clips, [args.folder])[args.split]
    elif has_official_lists(args.folder):
        note(f"{args.folder} has the official split lists; every clip is scored, training clips too "
             "(--split testing scores the test speakers only)")
    where = f"the {args.split} split of {args.folder}" if args.split != "all" else str(args.folder)
    clips = [c for c in clips if c.label in model.labels]
    if not clips:
        raise KwsError(f"{where} holds no clips of this model's labels ({', '.join(model.labels)})")
    clips, features = _features(clips, model, args.cache)
    if not clips:
        raise KwsError(f"no clip of {where} decodes")
    labels = np.array([model.labels.index(c.label) for c in clips])
    overlap = trained_overlap(model, clips, args.folder)
    if overlap:
        note(overlap)
    accuracy, predicted = int8_accuracy(model, features, labels)
    matrix = confusion_matrix(labels, predicted, len(model.labels))
    recall = class_recall(labels, predicted, model.labels)
    if args.png:
        plot_confusion(labels, predicted, model.labels, args.png, title=f"{args.folder.name}: accuracy {accuracy:.4f}")
    if args.json:
        print(json.dumps({"folder": str(args.folder), "split": args.split, "model": str(model.json_path), "clips": len(clips),
                          "accuracy": accuracy, "recall": recall, "labels": list(model.labels),
                          "confusion": matrix.tolist(), "trained_on": overlap}))
        return 0
    print(f"{len(clips)} clips in {where}: accuracy {accuracy:.4f}  (model {model.json_path})")
    width = max(len(label) for label in model.labels)
    for i, label in enumerate(model.labels):
        total = int(matrix[i].sum())
        if total:
            print(f"  {label:>{width}}  recall {recall[label]:.3f}  ({matrix[i, i]}/{total})")
    print("confusion (rows true, columns predicted, label order as above):")
    for i, label in enumerate(model.labels):
        print(f"  {label:>{width}} " + " ".join(f"{v:4d}" for v in matrix[i]))
    return 0


def trained_overlap(model: "KwsModel", clips: list["Clip"], folder: Path) -> str | None:
    """A sentence when the scored clips include people the model trained on, else None: by the
    speaker ids its file records, or for a model made before it recorded them, by the folder
    being one of its training folders."""
    speakers = model.training.get("speakers")
    if isinstance(speakers, list):
        scored = {c.speaker for c in clips if c.speaker}
        common = scored & set(speakers)
        if not common:
            return None
        clip_count = sum(c.speaker in common for c in clips)
        return (f"{len(common)} of the {len(scored)} speakers scored ({clip_count} of {len(clips)} clips) trained "
                f"this model: this accuracy is not on new people")
    config = model.training.get("config")
    trained = config.get("data", []) if isinstance(config, dict) else []
    folder_name = Path(folder).resolve().name
    for data in trained if isinstance(trained, list) else []:
        if isinstance(data, str) and Path(data).name == folder_name:
            return (f"this model trained on a folder named {folder_name} ({data}): if it is this one, "
                    f"this accuracy is not on new people")
    return None


def _features(clips: list[Clip], model: KwsModel, cache: Path | None) -> tuple[list[Clip], np.ndarray]:
    """(the clips that decode, their features): one that does not is skipped with a note."""
    from ..audio import AudioFileError
    from ..audio_files import FoundFile, load_audio_files
    from ..data.feature_cache import clip_features

    def features(chosen: list[Clip]) -> np.ndarray:
        return clip_features([c.path for c in chosen], config=model.mfcc, clip_samples=model.clip_samples,
                             cache_dir=cache)

    try:
        return clips, features(clips)
    except AudioFileError:
        # The cache never holds a file that does not decode, so where one is among the clips,
        # one pass over them all finds every such file (each skipped with its note).
        found = (FoundFile(c.path) for c in clips)
        readable = {path for path, _ in load_audio_files(found, sample_rate=model.mfcc.sample_rate)}
        clips = [c for c in clips if c.path in readable]
        return clips, features(clips)
