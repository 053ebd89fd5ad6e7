"""`kws listen`: the live engine against the file detector, the CLI's errors and Ctrl-C, the view,
and one run through the real sounddevice/PortAudio/ALSA path with a file standing in for a mic."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from signals import named_signals
from conftest import assert_one_error_line

from kws.cli import main
from kws.detector import Detection, Detector, Inference
from kws.detector_config import DetectorConfig
from kws.live import Listener, LiveState, LoggedDetection, Summary, dbfs
from kws.live_view import BAR, LiveView, render, render_summary
from kws.model_file import DEFAULT_MODEL, load_model

REPO = Path(__file__).resolve().parents[1]
RATE = 16000


@pytest.fixture(scope="module")
def model_json() -> Path:
    if not DEFAULT_MODEL.exists():
        pytest.skip(f"the shipped default model is not in this checkout ({DEFAULT_MODEL})")
    return DEFAULT_MODEL


@pytest.fixture(scope="module")
def model(model_json):
    return load_model(model_json)


def spoken_stream() -> np.ndarray:
    """6 s: noise, a synthetic vowel, noise, the same vowel 6 dB quieter, noise. Deterministic,
    and made here: the tests use no file that a clean checkout lacks."""
    yes = named_signals(n_samples=11000)["vowel_a_synthetic"]
    rng = np.random.default_rng(11)

    def noise(seconds: float) -> np.ndarray:
        return rng.normal(0, 300, int(seconds * RATE)).round().astype(np.int16)

    parts = [noise(1.2), yes, noise(1.3), (yes // 2).astype(np.int16)]
    parts.append(noise(6.0 - sum(len(p) for p in parts) / RATE))
    return np.concatenate(parts)


class FakeStream:
    """Plays samples into a sounddevice-style callback from its own thread, then goes inactive."""

    def __init__(self, callback, samples: np.ndarray, block_size: int, *, overflow_every: int = 0) -> None:
        self.callback = callback
        self.samples = samples
        self.block_size = block_size
        self.overflow_every = overflow_every
        self.active = False
        self.started = self.stopped = self.closed = False
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)

    def _play(self) -> None:
        for n, start in enumerate(range(0, len(self.samples), self.block_size)):
            if self._halt.is_set():
                break
            block = self.samples[start : start + self.block_size].reshape(-1, 1)  # (frames, channels)
            overflow = self.overflow_every and n % self.overflow_every == 0
            self.callback(block, len(block), None, SimpleNamespace(input_overflow=True) if overflow else None)
        self.active = False

    def start(self) -> None:
        self.started = self.active = True
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._thread.join()
        self.stopped, self.active = True, False

    def close(self) -> None:
        self.closed = True


def listen(model, samples, config, block_size, duration=None, overflow_every=0):
    """Run a Listener over ``samples``; returns (listener, summary, events, stream)."""
    streams, events = [], []

    def open_stream(callback):
        streams.append(FakeStream(callback, samples, block_size, overflow_every=overflow_every))
        return streams[0]

    listener = Listener(Detector(model, config), open_stream, block_size=block_size, queue_seconds=60)
    summary = listener.run(duration, on_event=events.append, update_interval=0.0)
    return listener, summary, events, streams[0]


# --- the engine against `kws detect`'s detector ----------------------------------------------


@pytest.mark.parametrize("threshold, block_size", [(0.6, 1600), (0.02, 1000)])
def test_listener_equals_the_file_detector(model, threshold, block_size):
    samples = spoken_stream()
    config = DetectorConfig(threshold=threshold)
    listener, summary, events, stream = listen(model, samples, config, block_size)
    expected = Detector(model, config).process(samples)  # what `kws detect` runs
    assert [e for e in events if isinstance(e, Inference)] == [e for e in expected if isinstance(e, Inference)]
    detections = [e for e in events if isinstance(e, Detection)]
    assert detections == [e for e in expected if isinstance(e, Detection)]
    if threshold == 0.02:
        assert detections, "a 0.02 threshold fires on the two vowels"
    # The state and the summary say the same.
    assert summary.seconds == len(samples) / RATE
    assert summary.inferences == sum(isinstance(e, Inference) for e in expected) > 0
    counts = {}
    for d in detections:
        counts[d.keyword] = counts.get(d.keyword, 0) + 1
    assert summary.counts == counts
    state = listener.state()
    assert [(d.keyword, d.audio_time, d.score) for d in state.detections] == \
        [(d.keyword, d.time, d.score) for d in detections[-8:]]
    last = [e for e in events if isinstance(e, Inference)][-1]
    probabilities = listener.detector.classifier.probabilities(np.array(last.scores))
    assert dict(state.probabilities) == {label: float(p) for label, p in zip(model.labels, probabilities)}
    assert [p for _, p in state.probabilities] == sorted(probabilities, reverse=True)
    assert state.level_dbfs == pytest.approx(dbfs(samples[-int(0.3 * RATE) :]))
    assert stream.started and stream.stopped and stream.closed
    assert (summary.overflows, summary.dropped, summary.interrupted) == (0, 0, False)


def test_duration_stops_after_exactly_that_much_audio(model):
    samples = spoken_stream()
    config = DetectorConfig(threshold=0.02)
    _, summary, events, stream = listen(model, samples, config, 1000, duration=2.05)
    expected = Detector(model, config).process(samples[:32800])
    assert events == expected and summary.seconds == 2.05
    assert stream.stopped and stream.closed


def test_overflows_and_a_full_queue_are_counted_not_fatal(model):
    samples = spoken_stream()[: 3 * RATE]
    _, summary, _, _ = listen(model, samples, DetectorConfig(), 1600, overflow_every=10)
    assert summary.overflows == 3 and summary.dropped == 0 and summary.seconds == 3.0

    # A source faster than real time into a queue of 2 blocks: the rest is dropped, and counted.
    class Burst(FakeStream):
        def start(self):  # every block arrives before the main loop takes one
            self.started = True
            self._play()

        def stop(self):
            self.stopped = True

    listener = Listener(Detector(model), lambda cb: Burst(cb, samples, 1600), block_size=1600, queue_seconds=0.01)
    summary = listener.run()
    assert summary.dropped == 30 - 2 and summary.seconds == 2 * 1600 / RATE
    assert "dropped: 28" in render_summary(summary)


# --- the command line, with sounddevice replaced -----------------------------------------------


def fake_sounddevice(devices: list[dict], default_input: int = -1, samples: np.ndarray | None = None):
    streams: list[FakeStream] = []

    def input_stream(*, device, samplerate, channels, dtype, blocksize, callback):
        assert (samplerate, channels, dtype) == (RATE, 1, "int16")
        stream = FakeStream(callback, samples if samples is not None else np.zeros(0, np.int16), blocksize)
        stream.device = device
        streams.append(stream)
        return stream

    return SimpleNamespace(
        query_devices=lambda: list(devices),
        query_hostapis=lambda index: {"name": "ALSA"},
        default=SimpleNamespace(device=[default_input, -1]),
        PortAudioError=type("PortAudioError", (Exception,), {}),
        InputStream=input_stream,
        streams=streams,
    )


HDMI = {"name": "HDMI out", "max_input_channels": 0, "default_samplerate": 48000.0, "hostapi": 0}
USB = {"name": "USB mic", "max_input_channels": 1, "default_samplerate": 16000.0, "hostapi": 0}
BUILT_IN = {"name": "Built-in Audio", "max_input_channels": 2, "default_samplerate": 44100.0, "hostapi": 0}


@pytest.mark.parametrize("devices", [[], [HDMI]], ids=["nothing", "output-only"])
@pytest.mark.parametrize("extra", [[], ["--list-devices"]], ids=["listen", "list"])
def test_no_input_device_is_one_line(monkeypatch, capsys, devices, extra):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(devices))
    code = main(["listen", *extra])
    captured = capsys.readouterr()
    line = assert_one_error_line(code, captured.err)
    assert line.startswith("kws: error: no audio input device found")
    # It names what to do; it does not send the user to --list-devices, which would only repeat it.
    assert "--device" in line and "arecord -l" in line and "--list-devices" not in line
    assert ("0 HDMI out" in line) == bool(devices)
    assert captured.out == ""


def test_list_devices(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([HDMI, USB, BUILT_IN], default_input=2))
    assert main(["listen", "--list-devices"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert "index" in rows[0] and len(rows) == 3
    assert rows[1].startswith(" ") and rows[1].split()[:3] == ["1", "1", "16000"] and "USB mic" in rows[1]
    assert rows[2].startswith("*") and "Built-in Audio" in rows[2]


@pytest.mark.parametrize("device, expected", [
    ("7", "--device 7 is not an input device"),
    ("0", "--device 0 is not an input device"),  # HDMI: output only
    ("webcam", "no input device matches --device 'webcam'"),
    ("i", "matches several input devices"),
])
def test_bad_device_is_one_line_listing_the_inputs(monkeypatch, capsys, device, expected):
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([HDMI, USB, BUILT_IN]))
    line = assert_one_error_line(main(["listen", "--device", device]), capsys.readouterr().err)
    assert expected in line
    assert "1 USB mic" in line and "2 Built-in Audio" in line


@pytest.mark.parametrize("args, expected", [
    (["--duration", "0"], "--duration: must be positive"),
    (["--block-ms", "0"], "--block-ms: must be 1 to 1000"),
])
def test_bad_options_are_one_line(capsys, args, expected):
    assert expected in assert_one_error_line(main(["listen", *args]), capsys.readouterr().err)


def test_without_portaudio(without_portaudio, capsys):
    line = assert_one_error_line(main(["listen"]), capsys.readouterr().err)
    assert "libportaudio2" in line and "brew install portaudio" in line


def test_device_by_name_and_duration(monkeypatch, capsys, model_json):
    sounddevice = fake_sounddevice([HDMI, USB, BUILT_IN], default_input=2, samples=spoken_stream()[: 3 * RATE])
    monkeypatch.setitem(sys.modules, "sounddevice", sounddevice)
    assert main(["listen", "--device", "usb", "--duration", "2", "--model", str(model_json)]) == 0
    captured = capsys.readouterr()
    assert sounddevice.streams[0].device == 1 and sounddevice.streams[0].block_size == 1600
    assert "summary: listened 2.0 s" in captured.out and "6 inferences" in captured.out
    assert "device 1 (USB mic)" in captured.err


def test_ctrl_c_ends_cleanly_with_a_summary(monkeypatch, capsys, model_json):
    sounddevice = fake_sounddevice([USB], default_input=0, samples=spoken_stream()[: 4 * RATE])
    monkeypatch.setitem(sys.modules, "sounddevice", sounddevice)
    calls = []
    process = Detector.process

    def interrupted(self, chunk):  # Ctrl-C lands while the main loop is busy with audio
        calls.append(1)
        if len(calls) == 11:
            raise KeyboardInterrupt
        return process(self, chunk)

    monkeypatch.setattr(Detector, "process", interrupted)
    assert main(["listen", "--model", str(model_json)]) == 0
    captured = capsys.readouterr()
    stream = sounddevice.streams[0]
    assert stream.stopped and stream.closed
    assert "Traceback" not in captured.err
    summary = captured.out[captured.out.index("summary:"):]
    assert "listened 1.0 s" in summary and "stopped by Ctrl-C" in summary  # 10 blocks of 100 ms
    assert "inferences" in summary and "detections:" in summary and "% of one core" in summary
    assert "overflows: 0" in summary


# --- the view ---------------------------------------------------------------------------------


def state(**changes) -> LiveState:
    fields = dict(
        seconds=12.3, level_dbfs=-23.44, peak_dbfs=-6.0,
        probabilities=(("yes", 0.8125), ("_unknown_", 0.125), ("no", 0.0390625), ("up", 0.0234375)),
        detections=(LoggedDetection(1_700_000_000.25, 3.42, "no", 0.703),
                    LoggedDetection(1_700_000_005.0, 8.42, "yes", 0.91)),
        counts={"yes": 4, "no": 1}, inferences=61, overflows=0, dropped=0, threshold=0.6, device="1 USB mic",
    )
    return LiveState(**{**fields, **changes})


def test_render_shows_level_top_scores_and_detections():
    text = render(state())
    lines = text.splitlines()
    assert "12.3 s" in lines[0] and "61 inferences" in lines[0] and "USB mic" in lines[0]
    assert lines[1].startswith("level") and "-23.4 dBFS" in lines[1] and "peak -6.0 dBFS" in lines[1]
    assert lines[1].count("#") == round((96 - 23.44) / 96 * BAR)
    assert [line.split()[:2] for line in lines[2:5]] == [["yes", "0.81"], ["_unknown_", "0.12"], ["no", "0.04"]]
    assert "up" not in text.split("detections")[0]  # top 3 only
    assert lines[2].count("#") == round(0.8125 * BAR) and "|" in lines[3]  # the threshold mark
    assert lines[5] == "detections: 5 (yes 4, no 1)"
    assert "yes" in lines[6] and "0.910" in lines[6] and "8.42 s" in lines[6]  # newest first
    assert "no" in lines[7] and "0.703" in lines[7] and ".2  " in lines[7]  # clock time with tenths
    assert "overflows" not in text and max(len(line) for line in lines) < 80
    assert render(state(overflows=2, dropped=1)).splitlines()[2] == "lost audio: overflows 2, dropped 1"
    assert "waiting" in render(state(probabilities=(), detections=(), counts={}))


def test_live_view_redraws_in_place_on_a_tty_and_prints_lines_otherwise():
    out = io.StringIO()
    view = LiveView(out, tty=True)
    view.update(state())
    view.update(state(seconds=12.5))
    view.close()
    first, second = out.getvalue().split(LiveView.CLEAR_BELOW)[1:3]
    assert f"\x1b[{len(render(state()).splitlines())}A" in first  # moved back over the first frame
    assert "12.5 s" in second and out.getvalue().endswith(LiveView.SHOW_CURSOR)

    out = io.StringIO()
    ticks = iter([0.0, 0.5, 5.0])
    view = LiveView(out, tty=False, plain_interval=2.0, clock=lambda: next(ticks))
    view.update(state(detections=(), counts={}))
    view.update(state(detections=state().detections[:1], counts={"no": 1}))
    view.update(state(counts={"no": 1, "yes": 1}))
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    assert "level  -23.4 dBFS" in lines[0] and "detections 0" in lines[0]
    assert "no" in lines[1] and "0.703" in lines[1]  # each detection once, as it comes
    assert "yes" in lines[2] and "0.910" in lines[2]
    assert "detections 2" in lines[3] and len(lines) == 4  # a status line every 2 s only


def test_render_summary():
    summary = Summary(seconds=30.0, wall_seconds=30.2, cpu_seconds=1.51, inferences=146, counts={"yes": 2, "go": 1},
                      overflows=1, dropped=0, interrupted=True)
    text = render_summary(summary)
    assert "listened 30.0 s" in text and "146 inferences" in text and "stopped by Ctrl-C" in text
    assert "detections: 3 (yes 2, go 1)" in text
    assert "cpu: 1.51 s, 5.0 % of one core" in text and "overflows: 1" in text


# --- the real PortAudio path, with an ALSA file PCM as the microphone ----------------------------


ASOUNDRC = """\
pcm.fakemic {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
pcm.!default {{
    type asym
    capture.pcm "fakemic"
    playback.pcm "null"
}}
"""


def test_real_sounddevice_with_an_alsa_file_as_the_microphone(tmp_path, model_json):
    """sounddevice imported fresh in a child whose HOME holds an .asoundrc: PortAudio's ALSA host
    API opens the default capture PCM, which reads our raw file. The file PCM is not paced in real
    time (blocks beyond the queue are dropped) and may repeat or return junk after the file ends,
    so the file is longer than the queue and only what holds either way is checked."""
    seconds = 10
    t = np.arange(seconds * RATE) / RATE
    tone = np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")  # RMS -15.3 dBFS
    infile = tmp_path / "in.raw"
    infile.write_bytes(tone.tobytes())
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(infile=infile))
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}

    probe = subprocess.run([sys.executable, "-c", "import sounddevice as sd; print(sd.default.device[0], "
                            "sum(d['max_input_channels'] > 0 for d in sd.query_devices()))"],
                           env=env, capture_output=True, text=True, timeout=60)
    if probe.returncode != 0 or probe.stdout.split()[-1:] == ["0"]:
        pytest.skip(f"PortAudio sees no ALSA capture device through ~/.asoundrc here: {probe.stdout}{probe.stderr}")

    result = subprocess.run([sys.executable, "-m", "kws", "listen", "--duration", "2", "--model", str(model_json)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "kws: note: listening on device" in result.stderr and "16000 Hz" in result.stderr
    summary = result.stdout[result.stdout.index("summary:"):]
    assert "listened 2.0 s" in summary and ", 6 inferences" in summary  # 2 s: frames 48, 58, ..., 98
    assert "% of one core" in summary
    assert "level  -15.3 dBFS" in result.stdout  # the first blocks are the file's tone

    # Ctrl-C through the same real stream: stopped and closed without hanging, a summary, status 0.
    # (Restore SIGINT's default in the child: a shell runs background jobs with it ignored.)
    child = subprocess.Popen([sys.executable, "-m", "kws", "listen", "--model", str(model_json)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    try:
        first = child.stdout.readline()  # the first status line: the main loop has audio
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        watchdog.cancel()
        child.kill()
    assert "level" in first, err
    assert child.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped by Ctrl-C" in out[out.index("summary:"):]
