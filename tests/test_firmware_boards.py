"""The boards beyond qemu-mps2-an386: the same firmware, bit-exact on each (0 LSB).

- qemu-mps2-an500 (Cortex-M7, FPv5-D16) and qemu-mps3-an547 (Cortex-M55, FPv5 + MVE, another
  memory map): the MFCC frontend (``mfcc_dump``) equals ``dsp.mfcc_q15`` and the shipped model
  (``infer``) equals LiteRT's BUILTIN_REF kernels and the an386 build, in QEMU.
- nano33ble (Arduino Nano 33 BLE Sense, nRF52840): no emulator runs it; the image must link at
  the bootloader's application offset, fit the part, and come out as .bin and .hex.

Tests skip where arm-none-eabi-gcc, qemu-system-arm, a QEMU machine or the compiler's CPU is
missing, and where the CMSIS-DSP sources are not cached (scripts/setup.sh fetches them).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import assert_bit_exact, shared_data
from signals import named_signals

from dsp import MfccConfig, mfcc_q15
from firmware_helpers import FRONTEND_MISSING, litert_reference, needs_frontend_toolchain, real_speech
from kws.firmware import cmsis_dsp
from kws.firmware.boards import BOARDS, Board
from kws.firmware.mfcc_dump import build_mfcc_dump
from kws.model_file import load_model

QEMU_BOARDS = ["qemu-mps2-an500", "qemu-mps3-an547"]

_MISSING = FRONTEND_MISSING
needs_toolchain = needs_frontend_toolchain


@functools.lru_cache(maxsize=None)
def _qemu_machines() -> frozenset[str]:
    result = subprocess.run(["qemu-system-arm", "-M", "help"], capture_output=True, text=True, timeout=60)
    return frozenset(line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip())


@functools.lru_cache(maxsize=None)
def _gcc_accepts(flags: tuple[str, ...]) -> bool:
    result = subprocess.run(
        ["arm-none-eabi-gcc", *flags, "-x", "c", "-c", "-o", "/dev/null", "-"],
        input="int f(int x) { return x + 1; }\n", capture_output=True, text=True, timeout=60,
    )
    return result.returncode == 0


def _require_board(name: str) -> Board:
    """The board, or a skip saying what this machine lacks to build or run it."""
    board = BOARDS[name]
    if not _gcc_accepts(board.cpu_flags):
        pytest.skip(f"arm-none-eabi-gcc here does not accept {' '.join(board.cpu_flags)}")
    if board.qemu_machine is not None and board.qemu_machine not in _qemu_machines():
        pytest.skip(f"qemu-system-arm here has no machine {board.qemu_machine}")
    return board


DEFAULT = MfccConfig()
SIGNALS = named_signals()
#: A few of the named signals: silence, clipping, noise at both ends of the scale, a vowel.
SIGNAL_NAMES = ["silence", "sine_300hz_clipped", "noise_lsb", "noise_white_full_scale", "vowel_a_synthetic"]


@pytest.fixture(scope="module", params=QEMU_BOARDS)
def mfcc_build(request, tmp_path_factory):
    if _MISSING:
        pytest.skip(f"{' and '.join(_MISSING)} missing")
    _require_board(request.param)
    return build_mfcc_dump(DEFAULT, tmp_path_factory.mktemp(f"mfcc-{request.param}"), board=request.param)


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def reference_build(model, tmp_path_factory):
    """The model on qemu-mps2-an386, the board the other boards are compared with."""
    from kws.firmware.infer import build_infer

    if _MISSING:
        pytest.skip(f"{' and '.join(_MISSING)} missing")
    return build_infer(model.tflite, tmp_path_factory.mktemp("infer-an386"), board="qemu-mps2-an386",
                       kernels="plain")


@pytest.fixture(scope="module", params=QEMU_BOARDS)
def infer_build(request, model, tmp_path_factory):
    from kws.firmware.infer import build_infer

    if _MISSING:
        pytest.skip(f"{' and '.join(_MISSING)} missing")
    _require_board(request.param)
    return build_infer(model.tflite, tmp_path_factory.mktemp(f"infer-{request.param}"), board=request.param,
                       kernels="plain")



# --- the board table (no toolchain needed) ------------------------------------------------------


def test_boards_are_registered_with_their_sources():
    for name in ["qemu-mps2-an386", *QEMU_BOARDS, "nano33ble"]:
        board = BOARDS[name]
        assert board.name == name
        for part in (*board.sources, board.linker_script):
            assert (board.directory / part).is_file(), (name, part)
        if board.qemu_machine:
            assert (board.directory / "board_config.h").is_file(), name
    assert BOARDS["nano33ble"].qemu_machine is None


# --- QEMU boards: the frontend and the model, 0 LSB ---------------------------------------------


@needs_toolchain
@pytest.mark.parametrize("name", SIGNAL_NAMES)
def test_mfcc_bit_exact(mfcc_build, name):
    from kws.firmware.mfcc_dump import run_mfcc_dump

    samples = SIGNALS[name]
    dump = run_mfcc_dump(mfcc_build, samples)
    assert_bit_exact(dump.frames, mfcc_q15(samples), f"{mfcc_build.board.name}: {name}")
    assert np.all(dump.instructions > 0)


@needs_toolchain
def test_mfcc_real_speech_bit_exact(mfcc_build):
    from kws.firmware.mfcc_dump import run_mfcc_dump

    root = shared_data("speech_commands_v2_test_dev")
    word_dir = sorted(p for p in root.iterdir() if p.is_dir() and p.name != "_background_noise_")[0]
    path = sorted(word_dir.glob("*.wav"))[0]
    samples, rate = sf.read(path, dtype="int16")
    assert rate == DEFAULT.sample_rate
    dump = run_mfcc_dump(mfcc_build, samples)
    assert_bit_exact(dump.frames, mfcc_q15(samples), f"{mfcc_build.board.name}: {path.name}")
    median = int(np.median(dump.instructions))
    print(f"{mfcc_build.board.name}: MFCC instructions per frame, median {median:,}")
    assert 30_000 < median < 300_000
    assert not {src: text for src, text in mfcc_build.warnings.items() if "cmsisdsp-1.10.3" not in src}


@needs_toolchain
def test_model_bit_exact(model, infer_build, reference_build):
    """Random inputs (and the extremes) and real MFCC windows: LiteRT BUILTIN_REF = an386 = this board."""
    from kws.firmware.infer import run_infer

    shape = infer_build.model.input_shape
    rng = np.random.default_rng(21)
    inputs = [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(6)]
    inputs += [np.full(shape, v, np.int8) for v in (-128, 0, 127)]
    root = shared_data("speech_commands_v2_test_dev")
    for word_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "_background_noise_")[:3]:
        samples, _ = sf.read(sorted(word_dir.glob("*.wav"))[0], dtype="int16")
        samples = np.pad(samples, (0, max(0, 16000 - len(samples))))[:16000]
        inputs.append(model.input_rule.apply(mfcc_q15(samples, config=model.mfcc)).reshape(shape).astype(np.int8))
    inputs = np.stack(inputs)

    assert infer_build.warnings == {}
    outputs, instructions = run_infer(infer_build, inputs)
    reference, _ = run_infer(reference_build, inputs)
    assert_bit_exact(outputs, litert_reference(model.tflite, inputs), f"{infer_build.board.name} vs BUILTIN_REF")
    assert_bit_exact(outputs, reference, f"{infer_build.board.name} vs qemu-mps2-an386")
    print(f"{infer_build.board.name}: instructions per inference, median {int(np.median(instructions)):,}; "
          f"flash {infer_build.size.flash:,} B, static RAM {infer_build.size.ram:,} B")
    assert np.all(instructions > 1_000_000)


@needs_toolchain
def test_instruction_counts_are_deterministic(mfcc_build):
    from kws.firmware.mfcc_dump import run_mfcc_dump

    samples = SIGNALS["noise_white_full_scale"][:4000]
    first = run_mfcc_dump(mfcc_build, samples).instructions
    second = run_mfcc_dump(mfcc_build, samples).instructions
    np.testing.assert_array_equal(first, second)


# --- QEMU boards: the whole always-on image (kws firmware build/run) ------------------------------



@pytest.fixture(scope="module")
def reference_image(model, tmp_path_factory):
    """The whole image on qemu-mps2-an386 and what it detects on a few clips."""
    if _MISSING:
        pytest.skip(f"{' and '.join(_MISSING)} missing")
    from kws.firmware.image import build_image
    from kws.firmware.run import run_image

    audio = real_speech(12)  # the clips tests/test_firmware_pipeline.py uses: they make detections
    build = build_image(model, tmp_path_factory.mktemp("image-an386"), board="qemu-mps2-an386", kernels="plain")
    events, summary = run_image(build, model, audio)
    return audio, events, summary


def _kernel_sets() -> tuple[str, ...]:
    from kws.firmware.sources import KERNELS

    return KERNELS


@needs_toolchain
@pytest.mark.parametrize("kernels", _kernel_sets())
@pytest.mark.parametrize("name", QEMU_BOARDS)
def test_whole_image_same_events_as_an386(model, reference_image, name, kernels, tmp_path):
    """kws_pipeline with the generated model and config, with each kernel set: every inference's
    int8 scores and every detection equal the an386 plain-kernel image's (which
    tests/test_firmware_pipeline.py checks against LiteRT BUILTIN_REF and the Python detector)."""
    from kws.detector import Detection, Inference
    from kws.firmware.image import build_image
    from kws.firmware.run import run_image

    _require_board(name)
    audio, expected, expected_summary = reference_image
    build = build_image(model, tmp_path / "image", board=name, kernels=kernels)
    assert build.warnings == {}
    events, summary = run_image(build, model, audio)
    assert events == expected
    assert any(isinstance(e, Detection) for e in events)
    assert summary.inferences == expected_summary.inferences == sum(isinstance(e, Inference) for e in events) > 10
    print(f"{name} ({kernels} kernels): {summary.to_dict()}; flash {build.flash:,} B, RAM {build.ram:,} B")


# --- nano33ble: the image links for the part, at the bootloader's offset ------------------------


NANO_FLASH_ORIGIN = 0x10000
NANO_FLASH_END = 0x100000  # 1 MiB
NANO_RAM_START, NANO_RAM_END = 0x20000000, 0x20040000  # 256 KiB
PDM_IRQ = 29


def _sections(elf) -> dict[str, tuple[int, int]]:
    """name -> (address, size) of the allocated sections, from arm-none-eabi-objdump -h."""
    output = subprocess.run(["arm-none-eabi-objdump", "-h", str(elf)], capture_output=True, text=True,
                            check=True).stdout
    sections = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0].isdigit():
            sections[fields[1]] = (int(fields[3], 16), int(fields[2], 16))
    return sections


def _hex_data(text: str) -> tuple[int, bytes]:
    """Intel HEX -> (address of the first data byte, the data), checking that it is contiguous."""
    base, first, data = 0, None, bytearray()
    for line in text.split():
        record = bytes.fromhex(line[1:])
        assert line[0] == ":" and sum(record) % 256 == 0, line
        length, offset, kind, payload = record[0], int.from_bytes(record[1:3], "big"), record[3], record[4:-1]
        assert len(payload) == length
        if kind == 0x00:
            if first is None:
                first = base + offset
            assert base + offset == first + len(data), "gap in the .hex"
            data += payload
        elif kind == 0x02:
            base = int.from_bytes(payload, "big") << 4
        elif kind == 0x04:
            base = int.from_bytes(payload, "big") << 16
    return first, bytes(data)


@pytest.fixture(scope="module")
def nano_image(model, tmp_path_factory):
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-objcopy") is None:
        pytest.skip("arm-none-eabi-gcc missing (bash scripts/setup.sh installs it)")
    if not (cmsis_dsp.cache_dir() / cmsis_dsp.SDIST_NAME).exists():
        pytest.skip(f"the CMSIS-DSP sources are not cached ({cmsis_dsp.cache_dir()})")
    from kws.firmware.image import build_image

    return build_image(model, tmp_path_factory.mktemp("image-nano33ble"), board="nano33ble")


def test_nano33ble_board_entry():
    board = BOARDS["nano33ble"]
    assert board.qemu_machine is None and board.flash_origin == NANO_FLASH_ORIGIN
    # No semihosting on a board without a debugger: a BKPT would fault.
    assert not any("rdimon" in spec for spec in board.link_specs)


def test_nano33ble_image_links_at_the_bootloader_offset(nano_image):
    from kws.firmware.image import app_for

    build = nano_image
    assert app_for(build.board) == "listen" and build.record["app"] == "listen"
    assert build.warnings == {}
    sections = _sections(build.elf)
    assert sections[".vectors"] == (NANO_FLASH_ORIGIN, 4 * (16 + 48))
    # The .bin is the flash image from 0x10000 on: vector table first, then code and constants.
    image = build.bin.read_bytes()
    assert len(image) == build.size.flash <= NANO_FLASH_END - NANO_FLASH_ORIGIN
    words = np.frombuffer(image[: 4 * 64], dtype="<u4")
    assert words[0] == NANO_RAM_END  # initial stack pointer: the top of RAM
    reset, pdm_handler, default_handler = int(words[1]), int(words[16 + PDM_IRQ]), int(words[16])
    for vector in (reset, pdm_handler, default_handler):
        assert vector & 1 and NANO_FLASH_ORIGIN <= vector - 1 < NANO_FLASH_ORIGIN + len(image)  # Thumb, in the image
    assert pdm_handler != default_handler  # the PDM's interrupt has its own handler
    # The .hex holds the same bytes and says where they go.
    first, data = _hex_data(build.hex.read_text())
    assert first == NANO_FLASH_ORIGIN and data == image
    # Static RAM and the deepest stack path fit the part's 256 KiB.
    for name in (".data", ".bss"):
        if name in sections:
            address, size = sections[name]
            assert NANO_RAM_START <= address and address + size <= NANO_RAM_END
    assert build.ram < NANO_RAM_END - NANO_RAM_START
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", str(build.elf)], capture_output=True,
                                 text=True, check=True).stdout
    assert "bkpt" not in disassembly  # no semihosting left in
    print(build.summary())
