"""False rejects and false accepts per hour (DET curve) of a model on speakers it never heard.

    python benchmarks/bench_det.py [--run runs/bench/distilled-seed0] [--data ../shared/data]

Links the run's held-out speakers' keyword clips into a temporary Speech Commands-layout
folder and runs `kws evaluate-stream` on them, with LibriSpeech (continuous speech) and the
background noise as negatives (--noise-only: the noise alone), at 20, 10 and 5 dB SNR. Prints
the report as JSON (save it to results/det.json or det_noise.json) and plots results/det.png
(det_noise.png).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kws.cli import main as kws  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "bench" / "distilled-seed0")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--noise-only", action="store_true",
                        help="negatives: the background noise alone (no speech, so no real keyword in them)")
    args = parser.parse_args()
    held = set(json.loads((args.run / "split.json").read_text())["validation_speakers"])
    corpus = args.data / "speech_commands_v2_test_dev"
    results = ROOT / "benchmarks" / "results"
    name = "det_noise" if args.noise_only else "det"
    negatives = [str(corpus / "_background_noise_")]
    if not args.noise_only:
        negatives.insert(0, str(args.data / "librispeech_test_other"))
    with tempfile.TemporaryDirectory() as tmp:
        for path in corpus.glob("*/*.wav"):
            if path.parent.name.startswith("_") or path.stem.split("_nohash_")[0] not in held:
                continue
            (Path(tmp) / path.parent.name).mkdir(exist_ok=True)
            (Path(tmp) / path.parent.name / path.name).symlink_to(path)
        status = kws(["evaluate-stream", "--model", str(args.run / "model.json"), "--keywords-from", tmp,
                      "--negatives", *negatives, "--snr", "20", "10", "5", "--json",
                      "--png", str(results / f"{name}.png"), "--no-progress"])
    sys.exit(status)


if __name__ == "__main__":
    main()
