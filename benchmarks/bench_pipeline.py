"""The whole always-on image (`kws firmware build` / `run`): size, instructions and estimated
cycles per MFCC frame and per inference on real speech, and the CPU load they mean on a 64 MHz
nRF52840.

    python benchmarks/bench_pipeline.py [--board B] [--json J]

For each kernel set (plain C; the DSP extension where built): the image for the shipped DS-CNN-S
is built for qemu-mps2-an386 and run in QEMU on real Speech Commands clips from ../shared/data
(synthetic noise and chirps where absent), and its scores are checked against `kws detect`'s
(the benchmark refuses to report figures of an image that disagrees). The board's counts are
QEMU -icount instructions; the cycles are estimated from QEMU's execution log with the
Cortex-M4 TRM's timings (kws.firmware.cycles), over the first --cycle-seconds clips (the log
makes a run about ten times slower). The CPU load is computed from the estimated cycles, with
the bounds of the estimate; flash wait states are not in it (the TRM's timings assume zero wait
states; the nRF52840 fetches from flash through a cache).

With --board another QEMU board (e.g. qemu-mps3-an547, the Cortex-M55) the same image is built
for it and measured in instructions only: the cycle estimate models the Cortex-M4 only
(kws.firmware.cycles.models), so there are no cycles and no CPU load (the nRF52840 is an M4);
the default --json is then benchmarks/results/pipeline_<board>.json.
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
sys.path[:0] = [str(ROOT)]

from dsp.config import SAMPLE_RATE  # noqa: E402
from kws.detector import Detector  # noqa: E402
from kws.detector_config import DetectorConfig  # noqa: E402
from kws.firmware.boards import DEFAULT_BOARD, board_names, get_board  # noqa: E402
from kws.firmware.cycles import MODEL, models  # noqa: E402
from kws.firmware.image import build_image  # noqa: E402
from kws.firmware.run import run_image  # noqa: E402
from kws.model_file import load_model  # noqa: E402

NRF52840_HZ = 64_000_000
DS_CNN_S_MACS = 2_656_768


def speech(seconds: int) -> tuple[np.ndarray, str]:
    import soundfile as sf

    root = ROOT.parent / "shared" / "data" / "speech_commands_v2_test_dev"
    files = sorted(root.glob("[a-z]*/*.wav"))
    if files:
        picked = files[:: max(1, len(files) // seconds)][:seconds]
        return np.concatenate([sf.read(f, dtype="int16")[0] for f in picked]), f"{len(picked)} Speech Commands clips"
    rng = np.random.default_rng(0)
    t = np.arange(SAMPLE_RATE * seconds) / SAMPLE_RATE
    signal = 6000 * np.sin(2 * np.pi * (200 + 300 * t) * t) + rng.normal(0, 800, t.size)
    return np.clip(signal, -32768, 32767).astype(np.int16), "synthetic chirps and noise"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=board_names(qemu_only=True),
                        help="the QEMU board (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/pipeline.json for the default "
                                                  "board, pipeline_<board>.json for another")
    parser.add_argument("--seconds", type=int, default=20, help="clips of real speech to run (default 20)")
    parser.add_argument("--kernels", nargs="+", default=["plain", "dsp"])
    parser.add_argument("--cycle-seconds", type=int, default=4,
                        help="clips run again under the execution log for the cycle estimate (default 4)")
    args = parser.parse_args()
    board = get_board(args.board)
    json_path = args.json or ROOT / "benchmarks" / "results" / ("pipeline.json" if board.name == DEFAULT_BOARD
                                                                else f"pipeline_{board.name}.json")
    cycles = models(board)
    model = load_model()
    config = DetectorConfig()
    audio, source = speech(args.seconds)
    reference = [e.to_dict() for e in Detector(model, config).process(audio)]
    frames_per_s = model.mfcc.sample_rate / model.mfcc.hop_length
    inferences_per_s = frames_per_s / config.inference_every

    def load_of(frame: float, inference: float) -> float:
        """The share of a 64 MHz core that many cycles per MFCC frame and per inference take."""
        return round((frames_per_s * frame + inferences_per_s * inference) / NRF52840_HZ, 3)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kernels in args.kernels:
            try:
                image = build_image(model, Path(tmp) / kernels, board=board.name, kernels=kernels, detector=config)
            except Exception as error:  # e.g. a kernel set this checkout does not have
                print(f"{kernels}: not built ({error})", file=sys.stderr)
                continue
            events, summary = run_image(image, model, audio)
            if [e.to_dict() for e in events] != reference:
                raise SystemExit(f"{kernels}: the image's scores differ from kws detect's; no figures reported")
            per_frame, per_inference = summary.instructions_per_frame, summary.instructions_per_inference
            row = {
                "kernels": kernels,
                "flash": image.flash, "ram": image.ram,
                "parts": image.record["parts"],
                "stack": image.record["stack"]["bytes"],
                "instructions_per_mfcc_frame": round(per_frame),
                "instructions_per_inference": round(per_inference),
                "macs_per_instruction": round(DS_CNN_S_MACS / per_inference, 3),
            }
            if not cycles:
                rows.append(row)
                print(f"{kernels:>6}: flash {image.flash:,} B, RAM {image.ram:,} B, {per_frame:,.0f} instr/frame, "
                      f"{per_inference:,.0f} instr/inference ({DS_CNN_S_MACS / per_inference:.3f} MACs/instr)")
                continue
            _, traced = run_image(image, model, audio[: SAMPLE_RATE * args.cycle_seconds], cycles=True)
            frame_cycles = traced.cycles.per_frame(traced.frames)
            inference_cycles = traced.cycles.per_inference(traced.inferences)
            load = load_of(frame_cycles.cycles, inference_cycles.cycles)
            rows.append({
                **row,
                "cycles_per_mfcc_frame": frame_cycles.cycles,
                "cycles_per_mfcc_frame_range": [frame_cycles.low, frame_cycles.high],
                "cycles_per_inference": inference_cycles.cycles,
                "cycles_per_inference_range": [inference_cycles.low, inference_cycles.high],
                "macs_per_cycle": round(DS_CNN_S_MACS / inference_cycles.cycles, 3),
                "cycles_seconds": traced.samples / SAMPLE_RATE,
                "cpu_load_64mhz": load,
                "cpu_load_64mhz_range": [load_of(frame_cycles.low, inference_cycles.low),
                                         load_of(frame_cycles.high, inference_cycles.high)],
                "frontend_load_64mhz": load_of(frame_cycles.cycles, 0),
                # The figure before the estimate: one instruction a cycle.
                "cpu_load_64mhz_one_instruction_a_cycle": load_of(per_frame, per_inference),
            })
            print(f"{kernels:>6}: flash {image.flash:,} B, RAM {image.ram:,} B, {per_frame:,.0f} instr/frame "
                  f"({frame_cycles.cycles:,} cycles), {per_inference:,.0f} instr/inference "
                  f"({inference_cycles.cycles:,} cycles; {DS_CNN_S_MACS / inference_cycles.cycles:.3f} MACs/cycle), "
                  f"CPU load at 64 MHz {100 * load:.1f} %")
    result = {
        "date": date.today().isoformat(),
        "board": f"{board.name} ({' '.join(board.cpu_flags)}), -O2, QEMU -icount shift=0 (instructions)",
        "cycle_model": MODEL if cycles else f"none: the estimate models the Cortex-M4 only, not {board.core}",
        "audio": f"{len(audio) / SAMPLE_RATE:.1f} s: {source}",
        "inference_every_hops": config.inference_every,
        "inferences_per_second": inferences_per_s,
        "frames_per_second": frames_per_s,
        "rows": rows,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
