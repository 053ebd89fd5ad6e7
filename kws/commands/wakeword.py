"""``kws wakeword train TEXT``: a custom wake-word model from text, with a calibrated threshold."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import KwsError
from ..teachers import WAKEWORD_TEACHERS
from ..validate import number, seed_number, whole_number

DESCRIPTION = """\
Make a wake-word model from its text. The wake word is spoken by hundreds of synthetic voices
(every English espeak-ng voice and variant at many rates and pitches, flite's and festival's
voices, and where installed RHVoice, SVOX Pico and Piper's neural joe voice),
against negatives that sound like it (its parts, such as "nova" for "hey nova", and phoneme
neighbours from the CMU Pronouncing Dictionary that festival installs, such as "hey neva", or
"alexis" and "lexus" for "alexa"), other synthetic speech, noise, and the folders you give. Every training window
goes through a simulated room: reverberation, background noise at an SNR, a cheap microphone's
band-limit, gain. The model is the int8 DS-CNN-S with labels _silence_, _unknown_ and the wake
word; it starts from a model trained on real speech (--backbone) and, every few epochs, adds
the stretches of other speech it mistakes for the wake word to its negatives (hard-negative
mining). Its threshold is then chosen on held-out voices and negatives for at most
--target-fa-per-hour false accepts per hour, with the streaming detector's integer rule, and
recorded in the model: `kws detect` and `kws listen` use it unless given --threshold.

OUT gets model.tflite + model.json, det.png (false rejects against false accepts per hour),
report.json and report.txt (what was measured, and on how many hours), config.json.
"""

#: What --backbone starts from unless told otherwise (see benchmarks/README.md, Wake words).
BACKBONE_WHEN_NOT_GIVEN = "default"

EPILOG = """\
examples:
  kws wakeword train "hey nova" --out models/hey_nova
  kws wakeword train "hey nova" --out models/hey_nova --recordings my_clips --negatives LibriSpeech/
  kws detect recording.wav --model models/hey_nova
  kws wakeword train "hey nova" --out /tmp/smoke --quick      (a smoke test: a few minutes, not a model)
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser("wakeword", help="train a custom wake word from its text",
                                   description="Custom wake words from text: `kws wakeword train --help`.")
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION", required=True)
    train = actions.add_parser("train", help="train a wake-word model from text (int8, calibrated threshold)",
                               description=DESCRIPTION, epilog=EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("text", metavar="TEXT", help='the wake word, e.g. "hey nova"')
    train.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="output folder (made at the end, in an existing folder; a run that fails leaves none)")
    train.add_argument("--quick", action="store_true",
                       help="smoke run: 120 voices, 6 epochs, about two minutes on 2 cores (104 s measured); checks the setup, not a usable model")
    train.add_argument("--negatives", action="append", default=[], metavar="DIR",
                       help="folder of speech without the wake word, e.g. LibriSpeech (repeatable); one file in "
                            "five is kept for calibrating the threshold")
    train.add_argument("--noise", action="append", default=[], metavar="DIR",
                       help="folder of background-noise recordings for augmentation and calibration (repeatable)")
    train.add_argument("--recordings", metavar="DIR", help="your own recordings of the wake word (see `kws record`)")
    train.add_argument("--target-fa-per-hour", type=number(above=0), default=0.5, metavar="R",
                       help="false accepts per hour the threshold is chosen for (default 0.5)")
    train.add_argument("--voices", type=whole_number(low=1), metavar="N",
                       help="TTS voices saying the wake word (default 600)")
    train.add_argument("--epochs", type=whole_number(low=1), metavar="N", help="training epochs (default 30)")
    train.add_argument("--learning-rate", type=number(above=0, below=1), metavar="LR",
                       help="peak Adam learning rate, then cosine decay (default 0.003)")
    train.add_argument("--backbone", metavar="RUN|default|none", default=BACKBONE_WHEN_NOT_GIVEN,
                       help="start the student from a model trained on real speech: \"default\" is the 12-class "
                            "backbone shipped for this (real voices only), RUN a `kws train` run directory; its layers and input rule, new "
                            f"logits, then training on the synthetic data (default: {BACKBONE_WHEN_NOT_GIVEN})")
    train.add_argument("--freeze-blocks", type=whole_number(low=0, high=4), metavar="N",
                       help="keep the backbone's first convolution and its first N of 4 DS blocks as they are, "
                            "so only the later blocks learn from the synthetic voices (default 0)")
    train.add_argument("--window", type=number(low=1, high=2), metavar="SECONDS",
                       help="seconds of audio the model looks at, 1 to 2 (default 1; a long phrase said slowly may not "
                            "fit in 1 s, but a longer window also hears more other speech)")
    train.add_argument("--distill", nargs="?", const="dscnn", choices=WAKEWORD_TEACHERS, metavar="TEACHER",
                       help="distil the student from a teacher: \"dscnn\" (the default when no TEACHER is named) "
                            "trains the larger DS-CNN first on the same windows (roughly twice the training time); "
                            "\"embedding\" is Google's speech embedding, trained on real speech, with a head learnt "
                            "from the first epochs' windows (needs kws[train]'s pyopen-wakeword)")
    train.add_argument("--mine-every", type=whole_number(low=0), default=5, metavar="N",
                       help="every N epochs, add the stretches of other speech the model takes for the wake word "
                            "to its negatives (hard-negative mining; 0 = off; default 5)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                       help="change one of the recipe's settings (repeatable; the names are those of config.json, "
                            "e.g. --set epochs=40 --set tts_slower=[1.0,1.4]); for experiments, the defaults are "
                            "the measured ones")
    train.add_argument("--seed", type=seed_number, default=0, help="seed of voices, data and training (default 0)")
    train.add_argument("--cache", type=Path, metavar="DIR",
                       help="cache of synthesised clips and speech embeddings (default datasets/cache/tts)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..console import note
    from ..extras import import_tensorflow, require_extra
    from ..wakeword.confusables import normalise
    from ..wakeword.tts import DEFAULT_CACHE_DIR, espeak_voices, festival_voices, flite_voices

    require_extra("train", what="kws wakeword train")
    if not normalise(args.text):
        raise KwsError(f"the wake word {args.text!r} has no letters")
    for folder in [*args.negatives, *args.noise, *([args.recordings] if args.recordings else [])]:
        if not Path(folder).exists():
            raise KwsError(f"no such file or folder: {folder}")
    from ..wakeword.backbone import DEFAULT_BACKBONE as SHIPPED_BACKBONE

    backbone = "" if args.backbone == "none" else args.backbone
    backbone_run = Path(backbone) if backbone not in ("", SHIPPED_BACKBONE) else None
    if backbone_run is not None and not (backbone_run / "best.weights.npz").is_file():
        raise KwsError(f"--backbone {backbone} is not a trained kws train run (no best.weights.npz)")
    from ..outputs import check_outputs

    check_outputs(folders={"--out": args.out},
                  inputs={"--negatives": args.negatives, "--noise": args.noise, "--recordings": args.recordings,
                          "--backbone": backbone_run})
    if not espeak_voices() and not flite_voices() and not festival_voices():
        raise KwsError("no TTS program found: install espeak-ng (and optionally flite and festival)")
    import_tensorflow(what="kws wakeword train")
    from ..wakeword.train import WakewordConfig, quick, train_wakeword, with_settings

    config = WakewordConfig(wake_word=args.text, negatives=tuple(args.negatives), noise=tuple(args.noise),
                            recordings=args.recordings or "", target_fa_per_hour=args.target_fa_per_hour,
                            seed=args.seed, backbone=backbone,
                            distill=args.distill or "", mine_every=args.mine_every)
    if args.quick:
        config = quick(config)
    if args.voices is not None:
        config = replace(config, positive_voices=args.voices)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    if args.window is not None:
        config = replace(config, window_seconds=args.window)
    if args.learning_rate is not None:
        config = replace(config, learning_rate=args.learning_rate)
    if args.freeze_blocks is not None:
        if args.freeze_blocks and not backbone:
            raise KwsError("--freeze-blocks needs a backbone to freeze (not --backbone none)")
        config = replace(config, freeze_blocks=args.freeze_blocks)
    config = with_settings(config, args.settings)
    cache = args.cache if args.cache is not None else DEFAULT_CACHE_DIR
    report = train_wakeword(config, args.out, cache_dir=cache, progress=not args.no_progress, log=note)
    print((args.out / "report.txt").read_text(), end="")
    if not report["calibration"]["target_met"]:
        note(f"the threshold could not meet {args.target_fa_per_hour:g} false accepts/h on the calibration audio; "
             "more voices, epochs or negatives may help")
    print(f"model: {args.out / 'model.json'} (kws detect FILE --model {args.out})")
    return 0
