"""``kws features FILE``: the q8.7 MFCC of an audio file, as the model and the device see it.

Outputs are produced in memory first and written atomically together, and stdout is printed
last, so a failure at any step leaves no output file and no partial result.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import KwsError

if TYPE_CHECKING:  # the heavy imports happen when the command runs, not when kws starts
    import numpy as np

    from dsp import MfccConfig

#: q8.7: a stored int16 of ``v`` means ``v / 2**7``.
Q8_7_SCALE = 128

DESCRIPTION = """\
Compute the MFCC of an audio file with the default frontend (dsp.MfccConfig): the int16
q8.7 values (stored / 128 = value) bit-exact with CMSIS-DSP's arm_mfcc_q15. The file is
read as 16 kHz mono; other rates are resampled and channels averaged, with a note on stderr.
Without --npy or --json, prints a summary.
"""


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "features",
        help="compute the q8.7 MFCC features of an audio file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="wav, flac or ogg file")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--npy", metavar="OUT", type=Path, help="write the int16 (n_frames, n_mfcc) array to OUT (.npy)"
    )
    output.add_argument(
        "--json", action="store_true", help="print one JSON object with the config and the stored integers"
    )
    parser.add_argument(
        "--png", metavar="OUT.png", type=Path, help="also plot the MFCC image to OUT.png (needs matplotlib)"
    )
    parser.set_defaults(run=run)


def require_matplotlib() -> None:
    """The one-line error for --png without matplotlib, before any work (every command's --png)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise KwsError("--png needs matplotlib: pip install matplotlib (or pip install 'kws[plot]')") from None


def _npy_bytes(mfcc: "np.ndarray") -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, mfcc, allow_pickle=False)
    return buffer.getvalue()


def _png_bytes(mfcc: "np.ndarray", config: "MfccConfig", title: str) -> bytes:
    import numpy as np

    # Figure without pyplot: no global state, no GUI backend, works on a headless machine.
    from matplotlib.figure import Figure

    n_frames, n_mfcc = mfcc.shape
    values = mfcc / Q8_7_SCALE
    # Frame i starts at i*hop; each column spans one hop.
    times = (0.5 + np.arange(n_frames)) * config.hop_length / config.sample_rate
    end = n_frames * config.hop_length / config.sample_rate
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    energy_axes, image_axes = figure.subplots(2, 1, sharex=True, height_ratios=(1, 2.2))
    # c0 (log energy) spans tens of units while c1.. span a few: one colour scale would show
    # only c0, so it gets its own panel.
    energy_axes.plot(times, values[:, 0], color="tab:blue")
    energy_axes.set_ylabel("c0 (log energy)")
    energy_axes.set_title(title)
    energy_axes.grid(alpha=0.3)
    if n_mfcc > 1:
        limit = float(np.abs(values[:, 1:]).max()) or 1.0
        image = image_axes.imshow(
            values[:, 1:].T, origin="lower", aspect="auto", interpolation="nearest", cmap="RdBu_r",
            vmin=-limit, vmax=limit, extent=(0.0, end, 0.5, n_mfcc - 0.5),
        )
        image_axes.set_yticks(range(1, n_mfcc))
        figure.colorbar(image, ax=image_axes, label="value (q8.7 stored / 128)")
    image_axes.set_ylabel("MFCC coefficient")
    image_axes.set_xlabel("time (s)")
    image_axes.set_xlim(0.0, end)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _summary(path: str, n_samples: int, mfcc: "np.ndarray", config: "MfccConfig") -> str:
    values = mfcc.astype("float64") / Q8_7_SCALE
    n_frames, n_mfcc = mfcc.shape
    lines = [
        f"file:      {path}",
        f"audio:     {n_samples / config.sample_rate:.3f} s, {n_samples} samples at {config.sample_rate} Hz",
        f"frontend:  {config.frame_length * 1000 // config.sample_rate} ms {config.window} frames every "
        f"{config.hop_length * 1000 // config.sample_rate} ms, {config.fft_length}-point FFT, "
        f"{config.n_mels} mel bands {config.fmin:g}-{config.fmax:g} Hz",
        f"mfcc:      {n_frames} frames x {n_mfcc} coefficients, shape {mfcc.shape}, "
        f"int16 q8.7 (value = stored / {Q8_7_SCALE})",
        "",
        f"{'coef':>4} {'min':>9} {'max':>9} {'mean':>9}",
    ]
    for index in range(n_mfcc):
        column = values[:, index]
        lines.append(f"{index:>4} {column.min():9.3f} {column.max():9.3f} {column.mean():9.3f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_outputs

    if args.png is not None:
        require_matplotlib()  # before the work, not after it
    check_outputs(files={"--npy": args.npy, "--png": args.png}, inputs={"the input": args.file})

    from dsp import MfccConfig, mfcc_q15

    from ..atomic import write_files_atomically
    from ..audio import load_audio
    from ..console import note

    config = MfccConfig()
    audio = load_audio(args.file, sample_rate=config.sample_rate)
    for message in audio.notes:
        note(message)
    if len(audio.samples) < config.frame_length:
        raise KwsError(
            f"{audio.path} is too short for one frame: {len(audio.samples)} samples "
            f"({audio.duration * 1000:.1f} ms), a frame needs {config.frame_length} "
            f"({config.frame_length * 1000 / config.sample_rate:g} ms)"
        )
    mfcc = mfcc_q15(audio.samples, config=config)

    outputs: dict[Path, bytes] = {}
    if args.npy is not None:
        outputs[args.npy] = _npy_bytes(mfcc)
    if args.png is not None:
        outputs[args.png] = _png_bytes(mfcc, config, title=os.path.basename(audio.path))
    write_files_atomically(outputs)

    n_frames, n_mfcc = mfcc.shape
    if args.json:
        document = {
            "path": audio.path,
            "sample_rate": audio.sample_rate,
            "n_frames": n_frames,
            "n_mfcc": n_mfcc,
            "format": "q8.7",
            "config": config.to_dict(),
            "mfcc": mfcc.tolist(),  # Python ints, exactly the stored int16 values
        }
        sys.stdout.write(json.dumps(document) + "\n")
        if args.png is not None:
            note(f"wrote {args.png} (MFCC image, {n_frames} frames x {n_mfcc} coefficients)")
        return 0
    if args.npy is not None:
        print(f"wrote {args.npy}: int16 q8.7 MFCC, shape ({n_frames}, {n_mfcc}), from {audio.path}")
    else:
        print(_summary(audio.path, len(audio.samples), mfcc, config))
    if args.png is not None:
        print(f"wrote {args.png}: MFCC image, {n_frames} frames x {n_mfcc} coefficients")
    return 0
