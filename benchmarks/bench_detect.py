"""Detection benchmark: speed of kws detect, keyword-to-detection latency, memory over an hour.

    python benchmarks/bench_detect.py [--model M] [--data ../shared/data] [--json OUT]

* **Speed** (one core, BLAS and LiteRT on one thread): `kws detect`'s detector with the default
  model over 10 minutes of audio fed in 10 s chunks, in × real time; next to it, in the same
  run, the same detector on LiteRT's reference kernels alone, and the detector fed 100 ms
  chunks as a live microphone feeds it.
* **Latency**: keyword clips of speakers the model did not train on, placed at 20 dB SNR into
  background noise; latency = detection time minus the end of the spoken word (the last
  10 ms block within 30 dB of the clip's loudest), for every clip detected as its keyword
  between 0.5 s before and 1 s after that end (negative: it fired before the word died away).
* **Memory**: one hour of audio streamed through one detector; resident memory sampled every
  simulated minute must stay flat.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsp import MfccStream  # noqa: E402
from dsp.config import SAMPLE_RATE  # noqa: E402
from kws.audio import load_audio  # noqa: E402
from kws.detector import Detection, Detector  # noqa: E402
from kws.detector_config import DetectorConfig  # noqa: E402
from kws.inference import Classifier  # noqa: E402
from kws.model_file import load_model  # noqa: E402

FILE_CHUNK = 160000  # 10 s, as kws detect reads a file
LIVE_CHUNK = 1600  # 100 ms, a typical audio callback


def _pin() -> None:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stream(feed, audio: np.ndarray, chunk: int = FILE_CHUNK) -> float:
    start = time.perf_counter()
    for i in range(0, len(audio), chunk):
        feed(audio[i : i + chunk])
    return time.perf_counter() - start


def _background(data: Path, seconds: float, rng: np.random.Generator) -> np.ndarray:
    noise_dir = data / "speech_commands_v2_test_dev" / "_background_noise_"
    librispeech = data / "librispeech_test_other"
    parts = [load_audio(p).samples for p in sorted(noise_dir.glob("*.wav"))]
    parts += [load_audio(p).samples for p in sorted(librispeech.glob("*.flac"))[:40]]
    audio = np.concatenate(parts) if parts else rng.normal(0, 300, int(seconds * SAMPLE_RATE)).astype(np.int16)
    return np.tile(audio, -(-int(seconds * SAMPLE_RATE) // len(audio)))[: int(seconds * SAMPLE_RATE)]


def speed(model, audio: np.ndarray) -> dict:
    seconds = len(audio) / model.mfcc.sample_rate
    _stream(Detector(model).process, audio[: SAMPLE_RATE * 5])  # warm up
    timings = {
        "kws detect (fast kernels + reference head, 10 s chunks)": _stream(Detector(model).process, audio),
        "reference kernels only (BUILTIN_REF), 10 s chunks": _stream(
            Detector(model, classifier=Classifier(model)).process, audio),
        "kws detect's detector fed 100 ms chunks (live)": _stream(Detector(model).process, audio, LIVE_CHUNK),
        "streaming MFCC alone, 100 ms chunks": _stream(MfccStream(config=model.mfcc).process, audio, LIVE_CHUNK),
    }
    base = timings["reference kernels only (BUILTIN_REF), 10 s chunks"]
    return {name: {"x_real_time": seconds / t, "speed_vs_reference_kernels": base / t} for name, t in timings.items()}


def _word_end(clip: np.ndarray) -> int:
    """Sample index just after the last 10 ms block within 30 dB of the clip's loudest block."""
    blocks = clip[: len(clip) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = 10 * np.log10(np.mean(blocks**2, axis=1) + 1e-9)
    loud = np.flatnonzero(energy > energy.max() - 30)
    return int((loud[-1] + 1) * 160)


def latency(model, data: Path, held_out_speakers: set[str] | None, rng: np.random.Generator) -> dict:
    from kws.data.speech_commands import KEYWORDS, scan

    clips, _ = scan(data / "speech_commands_v2_test_dev")
    clips = [c for c in clips if c.label in KEYWORDS and (held_out_speakers is None or c.speaker in held_out_speakers)]
    clips = [clips[i] for i in rng.permutation(len(clips))[:200]]
    gap = SAMPLE_RATE * 2
    background = _background(data, len(clips) * (1 + gap / SAMPLE_RATE) + 2, rng).astype(np.float64)
    stream = background.copy()
    placed = []
    position = SAMPLE_RATE
    for clip in clips:
        samples = load_audio(clip.path).samples[:SAMPLE_RATE].astype(np.float64)
        segment = slice(position, position + len(samples))
        local = np.sqrt(np.mean(background[segment] ** 2)) + 1.0
        speech = np.sqrt(np.mean(samples**2)) + 1.0
        stream[segment] = background[segment] * (speech / local) / 10 ** (20 / 20) + samples
        placed.append((clip.label, (position + _word_end(samples)) / SAMPLE_RATE))
        position += len(samples) + gap
    stream = np.clip(np.rint(stream), -32768, 32767).astype(np.int16)
    detections = [e for e in Detector(model).process(stream) if isinstance(e, Detection)]
    latencies = []
    for word, end in placed:
        hits = [d for d in detections if d.keyword == word and end - 0.5 <= d.time <= end + 1.0]
        if hits:
            latencies.append(hits[0].time - end)
    latencies = np.array(latencies) * 1000
    return {"clips": len(placed), "detected": len(latencies),
            "median_ms": float(np.median(latencies)) if len(latencies) else None,
            "p90_ms": float(np.percentile(latencies, 90)) if len(latencies) else None}


def soak(model, audio: np.ndarray, minutes: int = 60) -> dict:
    detector = Detector(model)
    minute = 60 * model.mfcc.sample_rate
    samples = []
    for m in range(minutes):
        offset = (m * minute) % max(1, len(audio) - minute)
        _stream(detector.process, audio[offset : offset + minute], LIVE_CHUNK)
        samples.append(_rss_mb())
    return {"minutes": minutes, "rss_mb_first": samples[0], "rss_mb_last": samples[-1],
            "rss_mb_max": max(samples), "growth_after_first_minute_mb": samples[-1] - samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model (default: the shipped one)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--held-out", type=Path, help="a training run's split.json: latency on its held-out speakers only")
    parser.add_argument("--minutes", type=int, default=60, help="soak length")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "detect.json")
    args = parser.parse_args()
    _pin()
    rng = np.random.default_rng(0)
    model = load_model(args.model)
    audio = _background(args.data, 600, rng)
    held = set(json.loads(args.held_out.read_text())["validation_speakers"]) if args.held_out else None
    results = {"date": date.today().isoformat(),
               "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, pinned to one",
               "model": str(model.json_path), "detector": DetectorConfig().to_dict(),
               "speed": speed(model, audio), "latency": latency(model, args.data, held, rng),
               "soak": soak(model, audio, args.minutes)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
