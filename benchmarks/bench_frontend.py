"""Frontend benchmark: bit-exactness counts and speed of dsp.mfcc_q15 against its references.

    python benchmarks/bench_frontend.py [--seconds 60] [--data ../shared/data] [--json OUT]

Bit-exactness: every frame of every Speech Commands clip found under --data (plus the named
synthetic signals) through dsp.mfcc_q15 and through cmsisdsp.arm_mfcc_q15, compared element by
element.

Speed, on one core (the process is pinned and BLAS/OpenMP limited to one thread), all on the
same audio in the same run, best of --repeats:
  * dsp.mfcc_q15 on the whole signal (batch, vectorised over frames);
  * dsp.MfccStream fed 20 ms chunks, as a live microphone would;
  * a per-frame loop over cmsisdsp's C binding (arm_mfcc_q15), the reference;
  * librosa.feature.mfcc (float) with the mapped parameters.
Speed is quoted as times real time and as a ratio to the cmsisdsp loop measured in the same
run, since these machines are shared and noisy.
"""

from __future__ import annotations

import os

# One core, one thread: set before numpy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dsp import MfccConfig, MfccStream, mfcc_q15  # noqa: E402
from dsp.cmsis_reference import CmsisMfcc, plain_c_host  # noqa: E402
from dsp.mfcc_q15 import frame_signal  # noqa: E402


def _pin_to_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _speech_clips(data: Path) -> list[Path]:
    root = data / "speech_commands_v2_test_dev"
    return sorted(p for p in root.glob("*/*.wav") if p.parent.name != "_background_noise_")


def _load_int16(path: Path) -> np.ndarray:
    import soundfile as sf

    samples, _ = sf.read(path, dtype="int16")
    return samples


def bit_exactness(clips: list[Path], config: MfccConfig) -> dict:
    from signals import named_signals

    reference = CmsisMfcc(config)
    signals = [(p.name, _load_int16(p)) for p in clips] + list(named_signals().items())
    frames = coefficients = mismatches = files_with_mismatch = 0
    for _, samples in signals:
        ours = mfcc_q15(samples, config=config)
        theirs = reference.frames_q15(frame_signal(samples, config=config))
        bad = int(np.count_nonzero(ours != theirs))
        frames += len(ours)
        coefficients += ours.size
        mismatches += bad
        files_with_mismatch += bad > 0
    return {
        "signals": len(signals),
        "speech_clips": len(clips),
        "frames": frames,
        "coefficients": coefficients,
        "mismatched_coefficients": mismatches,
        "signals_with_mismatch": files_with_mismatch,
    }


def _best_time(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def speed(audio: np.ndarray, config: MfccConfig, repeats: int) -> dict:
    import librosa

    seconds = len(audio) / config.sample_rate
    reference = CmsisMfcc(config)
    chunk = config.sample_rate // 50  # 20 ms, a typical audio callback

    def run_stream():
        stream = MfccStream(config=config)
        for start in range(0, len(audio), chunk):
            stream.process(audio[start : start + chunk])

    def run_cmsis_loop():
        # Framing is included for the reference too: both produce features from samples.
        reference.frames_q15(frame_signal(audio, config=config))

    float_audio = audio.astype(np.float32) / 32768

    def run_librosa():
        librosa.feature.mfcc(
            y=float_audio, sr=config.sample_rate, n_mfcc=config.n_mfcc, n_fft=config.fft_length,
            hop_length=config.hop_length, win_length=config.frame_length, window=config.window,
            center=False, power=1.0, n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax,
            htk=True, norm=None,
        )

    mfcc_q15(audio[: config.sample_rate], config=config)  # build the cached tables first
    run_librosa()
    timings = {
        "dsp.mfcc_q15 (batch)": _best_time(lambda: mfcc_q15(audio, config=config), repeats),
        "dsp.MfccStream (20 ms chunks)": _best_time(run_stream, repeats),
        "cmsisdsp arm_mfcc_q15, per-frame loop": _best_time(run_cmsis_loop, repeats),
        "librosa.feature.mfcc (float)": _best_time(run_librosa, repeats),
    }
    reference_time = timings["cmsisdsp arm_mfcc_q15, per-frame loop"]
    return {
        name: {
            "seconds": t,
            "x_real_time": seconds / t,
            "speed_vs_cmsisdsp_loop": reference_time / t,
        }
        for name, t in timings.items()
    }


def _test_audio(clips: list[Path], seconds: float, rate: int) -> tuple[np.ndarray, str]:
    needed = int(seconds * rate)
    if clips:
        parts, total = [], 0
        for path in clips[:: max(1, len(clips) // 200)]:
            parts.append(_load_int16(path))
            total += len(parts[-1])
            if total >= needed:
                break
        audio = np.concatenate(parts)
        reps = -(-needed // len(audio))
        return np.tile(audio, reps)[:needed], "Speech Commands clips, concatenated"
    from signals import named_signals

    audio = np.concatenate(list(named_signals().values()))
    return np.tile(audio, -(-needed // len(audio)))[:needed], "synthetic test signals (no real speech found)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio length for the speed runs")
    parser.add_argument("--repeats", type=int, default=5, help="speed: best of this many runs")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="real speech folder")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if not plain_c_host():
        sys.exit("cmsisdsp on this host is built with Neon, not the plain-C reference: run on x86_64")
    pinning = _pin_to_one_core()
    config = MfccConfig()
    clips = _speech_clips(args.data)
    audio, audio_source = _test_audio(clips, args.seconds, config.sample_rate)

    exact = bit_exactness(clips, config)
    timings = speed(audio, config, args.repeats)
    machine = f"{_cpu_name()}, {os.cpu_count()} cores ({pinning}), Python {platform.python_version()}, numpy {np.__version__}"
    results = {"date": date.today().isoformat(), "machine": machine, "config": config.to_dict(),
               "audio": f"{len(audio) / config.sample_rate:.0f} s of {audio_source}",
               "bit_exactness": exact, "speed": timings}

    print(f"# Frontend benchmark, {results['date']}\n\nMachine: {machine}\n")
    print("| bit-exactness vs cmsisdsp.arm_mfcc_q15 | signals | frames | coefficients | mismatched |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {exact['speech_clips']} Speech Commands clips + 13 synthetic signals | {exact['signals']} | "
          f"{exact['frames']} | {exact['coefficients']} | {exact['mismatched_coefficients']} |\n")
    print(f"Speed on {results['audio']}, one core, best of {args.repeats}:\n")
    print("| extractor | x real time | speed vs cmsisdsp loop |")
    print("| --- | ---: | ---: |")
    for name, row in timings.items():
        print(f"| {name} | {row['x_real_time']:.0f}x | {row['speed_vs_cmsisdsp_loop']:.2f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
