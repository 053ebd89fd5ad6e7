"""The whole always-on image in QEMU (`kws firmware build` / `kws firmware run`): frontend,
input rule, network and detector on the Cortex-M4 give the integers of `kws detect --scores`
and of LiteRT's BUILTIN_REF kernels, frame for frame."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_one_error_line

from firmware_helpers import TOOLCHAIN_MISSING, needs_toolchain, real_speech
from kws.cli import main
from kws.detector import Detection, Detector, DetectorConfig, Inference
from kws.firmware.stack import stack_usage
from kws.inference import Classifier
from kws.model_file import load_model


KB = 1024


def assert_same_events(firmware: list, python: list, what: str) -> None:
    """Every inference's scores and every detection equal; mismatching frames printed."""
    fw_inf = [e for e in firmware if isinstance(e, Inference)]
    py_inf = [e for e in python if isinstance(e, Inference)]
    assert [e.frame for e in fw_inf] == [e.frame for e in py_inf], f"{what}: inference frames differ"
    bad = [(a.frame, i) for a, b in zip(fw_inf, py_inf) for i, (x, y) in enumerate(zip(a.scores, b.scores)) if x != y]
    assert not bad, f"{what}: {len(bad)} scores differ at (frame, label) {bad[:20]}"
    fw_det = [e.to_dict() for e in firmware if isinstance(e, Detection)]
    py_det = [e.to_dict() for e in python if isinstance(e, Detection)]
    assert fw_det == py_det, f"{what}: detections differ\nfirmware {fw_det}\npython   {py_det}"


@pytest.fixture(scope="module", params=["plain", "dsp"])
def image(request, tmp_path_factory):
    if TOOLCHAIN_MISSING:
        pytest.skip(f"{' and '.join(TOOLCHAIN_MISSING)} missing")
    from kws.firmware.image import build_image

    model = load_model()
    return model, build_image(model, tmp_path_factory.mktemp("image"), kernels=request.param)



@needs_toolchain
def test_image_equals_reference_kernels_onreal_speech(image):
    from kws.firmware.run import run_image

    model, build = image
    audio = real_speech(12)
    events, summary = run_image(build, model, audio)
    # The detector with LiteRT's BUILTIN_REF kernels themselves (not the fast path).
    reference = Detector(model, DetectorConfig(), classifier=Classifier(model)).process(audio)
    assert_same_events(events, reference, "firmware vs BUILTIN_REF")
    assert summary.inferences == sum(isinstance(e, Inference) for e in reference) > 50
    assert any(isinstance(e, Detection) for e in reference), "the clips should make detections"
    assert summary.frames == 1 + (len(audio) - model.mfcc.frame_length) // model.mfcc.hop_length
    # Instruction counts are QEMU's (-icount), deterministic; sanity bounds only.
    assert 10_000 < summary.instructions_per_frame < 400_000
    assert summary.model_max >= summary.instructions_per_inference > 1_000_000


@needs_toolchain
def test_detector_settings_reach_the_firmware(tmp_path):
    """Threshold, keywords, smoothing, refractory and inference rate go into the image's config."""
    from kws.firmware.image import build_image
    from kws.firmware.run import run_image

    model = load_model()
    config = DetectorConfig(inference_every=7, smoothing=2, threshold=0.45, refractory_ms=600.0,
                            keywords=("right", "yes", "left", "no"))
    rng = np.random.default_rng(5)
    # Synthetic audio: noise bursts and chirps (no shared data needed).
    t = np.arange(16000 * 6) / 16000
    chirp = np.sin(2 * np.pi * (200 + 300 * t) * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    audio = np.clip(6000 * chirp + rng.normal(0, 800, t.size), -32768, 32767).astype(np.int16)
    build = build_image(model, tmp_path / "image", detector=config)
    events, _ = run_image(build, model, audio)
    assert_same_events(events, Detector(model, config).process(audio), "custom detector settings")
    record = json.loads((tmp_path / "image" / "size.json").read_text())
    assert record["pipeline"]["detector"]["keywords"] == list(config.keywords)
    assert record["pipeline"]["keyword_index"] == [model.labels.index(k) for k in config.keywords]


@needs_toolchain
def test_run_prints_what_detect_prints(tmp_path, capsys):
    audio = real_speech(6)
    wav = tmp_path / "words.wav"
    sf.write(wav, audio, 16000)
    assert main(["detect", "--scores", str(wav)]) == 0
    expected = capsys.readouterr().out.splitlines()
    assert main(["firmware", "run", "--json", "--build-dir", str(tmp_path / "build"), str(wav)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == expected
    summary = json.loads(lines[-1])["summary"]
    assert summary["inferences"] == sum('"scores"' in line for line in expected)
    assert summary["instructions_per_mfcc_frame"] > 0 and summary["instructions_per_inference"] > 0


@needs_toolchain
def test_size_json_and_budget(image):
    """The default DS-CNN-S image fits 64 KB of flash and 32 KB of RAM (either kernel set), with
    its breakdown: no stdio (the apps write through semihosting themselves), and with the DSP
    kernels none of the fallbacks its layers cannot reach."""
    model, build = image
    record = json.loads((build.out_dir / "size.json").read_text())
    assert record["flash"] == record["text"] + record["data"]
    assert record["ram"] == record["data"] + record["bss"] + record["stack"]["bytes"] + record["stack"]["interrupt_bytes"]
    assert record["flash"] <= 64 * KB, record["parts"]
    assert record["ram"] <= 32 * KB, record["parts"]
    assert record["parts"]["C library and runtime"]["flash"] < 1536, record["parts"]  # memcpy & co.
    nm = subprocess.run(["arm-none-eabi-nm", "--defined-only", str(build.elf)], capture_output=True, text=True,
                        check=True).stdout
    symbols = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    assert "main" in symbols and "board_host_write" in symbols
    for stdio in ("_vfprintf_r", "initialise_monitor_handles", "__sfvwrite_r", "_fread_r", "exit"):
        assert stdio not in symbols, stdio
    network = record["network"]
    if record["kernels"] == "dsp":
        assert network["fallbacks_replaced"] == ["kws_depthwise_conv_s8_dsp", "kws_fully_connected_s8",
                                                 "kws_avg_pool_s8"]
        # The general DSP depthwise kernel and the two plain kernels are not linked; their
        # replacements are.
        for gone in ("depthwise_m1", "depthwise_broadcast", "kws_depthwise_conv_s8_dsp", "kws_fully_connected_s8",
                     "kws_avg_pool_s8"):
            assert gone not in symbols, gone
        assert "__wrap_kws_depthwise_conv_s8_dsp" in symbols and "kws_depthwise_conv_s8" in symbols
    else:
        assert network["fallbacks_replaced"] == []
    parts = record["parts"]
    assert set(parts) == {"model", "kernels", "frontend", "pipeline", "app and board", "C library and runtime",
                          "alignment"}
    for column in ("text", "data", "bss"):
        assert sum(p[column] for p in parts.values()) == record[column]
        assert 0 <= parts["alignment"][column] < 256, parts["alignment"]  # the map's *fill* between sections
    # The network's weights are most of the model part; the stack path goes through our code.
    assert parts["model"]["text"] > 20_000
    assert record["stack"]["bytes"] > 100 and record["stack"]["path"][0] in ("Reset_Handler", "main")
    assert record["pipeline"]["model_sha256"] == json.loads(model.json_path.read_text())["tflite_sha256"]
    for suffix in (".elf", ".bin", ".hex"):
        assert (build.out_dir / f"kws{suffix}").stat().st_size > 0


@needs_toolchain
def test_build_cli_summary_and_bad_input(tmp_path, capsys):
    assert main(["firmware", "build", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "flash" in out[0] and "RAM" in out[0]
    assert_one_error_line(main(["firmware", "run", str(tmp_path / "missing.wav")]), capsys.readouterr().err)
    (tmp_path / "junk.wav").write_bytes(b"RIFF0000WAVEjunk")
    assert_one_error_line(main(["firmware", "run", str(tmp_path / "junk.wav")]), capsys.readouterr().err)
    assert_one_error_line(main(["firmware", "build", "--out", str(tmp_path / "x"), "--model",
                                str(tmp_path / "none.json")]), capsys.readouterr().err)


def test_stack_usage_takes_the_deepest_path(tmp_path):
    (tmp_path / "a.ci").write_text(
        'graph: { title: "a.c"\n'
        'node: { title: "main" label: "main\\na.c:1:1\\n16 bytes (static)" }\n'
        'node: { title: "a.c:cb" label: "cb\\na.c:2:1\\n40 bytes (static)" }\n'
        'node: { title: "work" label: "work\\na.c:3:1\\n24 bytes (static)" }\n'
        'node: { title: "memcpy" label: "memcpy" shape : ellipse }\n'
        'edge: { sourcename: "main" targetname: "work" label: "" }\n'
        'edge: { sourcename: "work" targetname: "__indirect_call" label: "" }\n'
        'edge: { sourcename: "work" targetname: "memcpy" label: "" }\n'
        'edge: { sourcename: "main" targetname: "memcpy" label: "" }\n}\n')
    usage = stack_usage([tmp_path / "a.ci"], ["main"], indirect_targets=["cb"])
    assert usage.bytes == 16 + 24 + 40
    assert usage.path == ("main", "work", "a.c:cb")
    assert usage.external == ("memcpy",)
