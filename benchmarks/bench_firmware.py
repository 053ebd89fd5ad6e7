"""Firmware benchmark (so far): instruction counts on the Cortex-M4F (QEMU mps2-an386).

    python benchmarks/bench_firmware.py [--json benchmarks/results/firmware.json]

QEMU runs with -icount shift=0 and the board reads SysTick, so these are instruction counts
(resolution 40), not cycles; they are deterministic. Measured:
* one MFCC frame (CMSIS-DSP arm_mfcc_q15, plain C), over real speech or noise;
* one inference of the shipped DS-CNN-S with the plain-C reference int8 kernels, and of TFLM's
  micro_speech model, from the generated C; with MACs per instruction for the DS-CNN-S;
* the inference image's size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dsp import MfccConfig  # noqa: E402
from kws.firmware.build import build_mfcc_dump  # noqa: E402
from kws.firmware.infer import build_infer, run_infer  # noqa: E402
from kws.firmware.qemu import run_mfcc_dump  # noqa: E402
from kws.model_file import load_model  # noqa: E402

DS_CNN_S_MACS = 2_656_768


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "firmware.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        frontend = build_mfcc_dump(MfccConfig(), Path(tmp) / "mfcc")
        noise = rng.normal(0, 3000, 16000).round().clip(-32768, 32767).astype(np.int16)
        per_frame = run_mfcc_dump(frontend, noise).instructions
        model = load_model()
        image = build_infer(model.tflite, Path(tmp) / "infer")
        inputs = rng.integers(-128, 128, (5, *image.model.input_shape), dtype=np.int8)
        _, instructions = run_infer(image, inputs)
        results = {
            "date": date.today().isoformat(),
            "board": "qemu-mps2-an386 (Cortex-M4F), plain C, -O2",
            "mfcc_instructions_per_frame_median": int(np.median(per_frame)),
            "ds_cnn_s_instructions_per_inference_median": int(np.median(instructions)),
            "ds_cnn_s_macs_per_instruction": DS_CNN_S_MACS / float(np.median(instructions)),
            "inference_image": {"text": image.size.text, "data": image.size.data, "bss": image.size.bss},
        }
        micro_speech = ROOT.parent / "shared" / "models" / "tflm_micro_speech_quantized.tflite"
        if micro_speech.exists():
            other = build_infer(micro_speech.read_bytes(), Path(tmp) / "micro_speech")
            x = rng.integers(-128, 128, (3, other.model.input_size), dtype=np.int8)
            _, counts = run_infer(other, x)
            results["micro_speech_instructions_per_inference_median"] = int(np.median(counts))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
