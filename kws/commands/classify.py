"""``kws classify FILE...``: the model's label and scores for each audio file."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "classify", help="classify audio clips with a model",
        description="Classify each FILE (a clip of about the model's length; longer files are cut, shorter "
                    "ones padded with zeros at the end) with the int8 model under LiteRT's reference kernels. "
                    "Without --model, the shipped default model.")
    parser.add_argument("files", metavar="FILE", nargs="+", help="wav, flac or ogg files")
    parser.add_argument("--model", metavar="M", help="model (.json or .tflite, or a folder with model.json)")
    parser.add_argument("--json", action="store_true",
                        help='one JSON line per file: {"path", "label", "score", "scores": {label: score}}')
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from dsp import mfcc_q15

    from ..audio import load_audio
    from ..console import note
    from ..data.feature_cache import fit_length
    from ..inference import Classifier
    from ..model_file import load_model

    model = load_model(args.model)
    classifier = Classifier(model)
    # Read (and so validate) every file before printing anything.
    clips = []
    for path in args.files:
        audio = load_audio(path, sample_rate=model.mfcc.sample_rate)
        for message in audio.notes:
            note(message)
        clips.append((path, fit_length(audio.samples, model.clip_samples)))
    for path, samples in clips:
        probabilities = classifier.probabilities(classifier.scores(mfcc_q15(samples, config=model.mfcc)))
        best = int(np.argmax(probabilities))
        scores = {label: round(float(p), 6) for label, p in zip(model.labels, probabilities)}
        if args.json:
            print(json.dumps({"path": path, "label": model.labels[best], "score": scores[model.labels[best]],
                              "scores": scores}))
        else:
            print(f"{path}: {model.labels[best]} ({probabilities[best]:.3f})")
    return 0
