"""CPU use of `kws listen`: the live engine and view fed in real time, as a microphone feeds them.

    python benchmarks/bench_listen.py [--seconds 60] [--block-ms 100] [--json OUT]

A paced source thread delivers 16 kHz audio (background noise and speech from ../shared/data
when present, else synthetic) in --block-ms blocks at real-time speed to the same `Listener`
and terminal view `kws listen` uses (the view renders into memory as on a terminal).
CPU use = process CPU time / wall time over the run, in % of one core. In the same run, as a
reference, the same paced source feeding a listener that only takes blocks off the queue:
the floor that pacing and Python's threads cost before any DSP.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_detect import _background, _pin  # noqa: E402

from kws.detector import Detector  # noqa: E402
from kws.live import Listener  # noqa: E402
from kws.live_view import LiveView  # noqa: E402
from kws.model_file import load_model  # noqa: E402


class PacedStream:
    """Calls a sounddevice-style callback with consecutive blocks at real-time pace."""

    def __init__(self, callback, samples: np.ndarray, block: int, rate: int) -> None:
        self.callback, self.samples, self.block, self.rate = callback, samples, block, rate
        self.active = False
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)

    def _play(self) -> None:
        start = time.monotonic()
        for n, offset in enumerate(range(0, len(self.samples), self.block)):
            due = start + n * self.block / self.rate
            delay = due - time.monotonic()
            if delay > 0 and self._halt.wait(delay):
                break
            block = self.samples[offset : offset + self.block].reshape(-1, 1)
            self.callback(block, len(block), None, None)
        self.active = False

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join()
        self.active = False

    def close(self) -> None:
        pass


def _cpu_percent(run) -> float:
    wall, cpu = time.monotonic(), time.process_time()
    run()
    return 100.0 * (time.process_time() - cpu) / (time.monotonic() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--block-ms", type=int, default=100)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "listen.json")
    args = parser.parse_args()
    _pin()
    model = load_model()
    rate = model.mfcc.sample_rate
    block = rate * args.block_ms // 1000
    audio = _background(args.data, args.seconds, np.random.default_rng(1))

    def listen() -> None:
        listener = Listener(Detector(model), lambda callback: PacedStream(callback, audio, block, rate),
                            block_size=block)
        view = LiveView(io.StringIO(), tty=True)
        listener.run(args.seconds, on_update=view.update)

    def floor() -> None:
        done = threading.Event()
        received = []

        def callback(indata, frames, time_info, status):
            received.append(indata.copy())

        stream = PacedStream(callback, audio, block, rate)
        stream.start()
        while stream.active:
            done.wait(args.block_ms / 1000)
        stream.stop()

    results = {"date": date.today().isoformat(), "seconds": args.seconds, "block_ms": args.block_ms,
               "listen_cpu_percent_of_one_core": _cpu_percent(listen),
               "reference_paced_source_only_cpu_percent": _cpu_percent(floor)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
