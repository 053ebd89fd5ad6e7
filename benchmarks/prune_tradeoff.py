"""Pruning's trade-off: accuracy on the speaker folds against MACs, flash and estimated cycles.

    python benchmarks/bench_kfold.py --recipe alone --seeds 0 1 --epochs 25             # the full width
    python benchmarks/bench_kfold.py --recipe alone --seeds 0 1 --epochs 25 --prune-to 48
    python benchmarks/bench_kfold.py --recipe alone --seeds 0 1 --epochs 25 --prune-to 32
    python benchmarks/prune_tradeoff.py --firmware        # -> results/prune_tradeoff.json and .png

Reads ``results/kfold_<recipe>.json`` (the unpruned students) and every
``results/kfold_<recipe>-prune<WIDTH>.json`` (``bench_kfold.py --prune-to WIDTH``), quick runs
left out. One row per width: MACs and parameters of its model, the int8 test-fold accuracy
(LiteRT reference kernels) as mean ± sample sd over its runs (folds × seeds), and its mean
difference from the unpruned runs of the same (seed, fold) pairs.

``--firmware``: for each width, the model of its first finished run is built into the QEMU
image (``kws firmware build``: flash and RAM, size.json) and run alone on ``--inferences`` of
its own test-fold windows (``kws firmware infer --cycles``: instructions and estimated
Cortex-M4 cycles per inference, kws.firmware.cycles). The image's int8 outputs must equal
LiteRT's reference kernels to 0 LSB, or the script stops without figures. The plot: accuracy
(mean ± sd) against MACs, each point labelled with its width, flash and cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
INT8 = "tflite_int8_reference_kernels"


def variants(recipe: str) -> dict[str, dict]:
    """'full' and 'prune<W>' -> their bench_kfold JSON (not quick), for ``recipe``'s students."""
    found = {}
    for path in sorted(RESULTS.glob(f"kfold_{recipe}*.json")):
        match = re.fullmatch(rf"kfold_{re.escape(recipe)}(-prune(\d+))?", path.stem)
        document = json.loads(path.read_text())
        if match and not document.get("quick"):
            found[f"prune{match.group(2)}" if match.group(1) else "full"] = document
    return found


def student_runs(document: dict) -> list[dict]:
    """The student rows' runs (a DS-CNN teacher's are not the model measured)."""
    return [run for row, runs in document["runs"].items() if row != "teacher" for run in runs]


def row_of(runs: list[dict], baseline: dict[tuple[int, int], float]) -> dict:
    scores = {(r["seed"], r["fold"]): 100 * r["test_fold"][INT8] for r in runs}
    values = list(scores.values())
    common = [k for k in scores if k in baseline]
    sizes = {k: runs[0].get(k) for k in ("channels", "parameters", "macs")}
    return {**sizes, "runs": len(values), "int8_test_accuracy_mean": statistics.mean(values),
            "int8_test_accuracy_sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "vs_full_same_runs": statistics.mean(scores[k] - baseline[k] for k in common) if common else None,
            "same_runs": len(common), "first_run": runs[0]["run"]}


def kws(*arguments: str) -> str:
    result = subprocess.run([sys.executable, "-m", "kws", *arguments], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode:
        sys.exit(f"kws {' '.join(arguments)} failed:\n{result.stderr.strip()}")
    return result.stdout


def firmware_figures(run_dir: Path, inferences: int) -> dict:
    """Flash and RAM of the model's image, and its instructions and estimated cycles per inference."""
    sys.path.insert(0, str(ROOT))
    from kws.inference import Classifier
    from kws.model_file import load_model

    model_path = run_dir / "model.json"
    model = load_model(model_path)
    with np.load(run_dir / "test.npz") as archive:
        windows = archive["features"][:inferences]
    inputs = np.stack([model.input_rule.apply(w) for w in windows])[..., None].astype(np.int8)
    reference = Classifier(model)  # LiteRT, reference kernels
    expected = np.stack([reference.scores_from_int8(x[..., 0]) for x in inputs])
    with tempfile.TemporaryDirectory() as work:
        kws("firmware", "build", "--model", str(model_path), "--out", f"{work}/image")
        size = json.loads(Path(f"{work}/image/size.json").read_text())
        np.save(f"{work}/inputs.npy", inputs)
        lines = [json.loads(line) for line in kws("firmware", "infer", "--model", str(model_path), "--inputs",
                                                  f"{work}/inputs.npy", "--cycles", "--json").splitlines() if line]
    outputs = [line for line in lines if "output" in line]
    got = np.array([line["output"] for line in outputs], dtype=np.int8)
    if got.shape != expected.shape or not np.array_equal(got, expected):
        where = np.argwhere(got != expected) if got.shape == expected.shape else got.shape
        sys.exit(f"{model_path}: the firmware's outputs differ from LiteRT's reference kernels at {where}; no figures")
    return {"flash": size["flash"], "ram": size["ram"], "inferences": len(outputs),
            "instructions": statistics.mean(line["instructions"] for line in outputs),
            "cycles": statistics.mean(line["cycles"] for line in outputs)}


def plot(rows: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for row in rows.values():
        axes.errorbar(row["macs"] / 1e6, row["int8_test_accuracy_mean"], yerr=row["int8_test_accuracy_sd"],
                      fmt="o", capsize=4, color="tab:blue")
        label = f"{row['channels']} ch"
        if "firmware" in row:
            label += f"\n{row['firmware']['flash'] / 1024:.1f} KiB, {row['firmware']['cycles'] / 1e6:.2f} M cycles"
        axes.annotate(label, (row["macs"] / 1e6, row["int8_test_accuracy_mean"]), textcoords="offset points",
                      xytext=(6, 4), fontsize=8)
    axes.set_xlabel("MACs per inference (millions)")
    axes.set_ylabel("int8 test-fold accuracy, % (mean ± sd)")
    axes.set_title("DS-CNN-S pruned: accuracy on speaker folds against cost")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="alone", help="bench_kfold's recipe and tag, e.g. alone (default)")
    parser.add_argument("--firmware", action="store_true", help="also flash, RAM and cycles of each width's image")
    parser.add_argument("--inferences", type=int, default=3, help="test windows run on the image (default 3)")
    parser.add_argument("--json", type=Path, default=RESULTS / "prune_tradeoff.json")
    args = parser.parse_args()
    found = variants(args.recipe)
    if "full" not in found:
        sys.exit(f"no {RESULTS / f'kfold_{args.recipe}.json'}: run bench_kfold.py --recipe {args.recipe} first")
    baseline = {(r["seed"], r["fold"]): 100 * r["test_fold"][INT8] for r in student_runs(found["full"])}
    rows = {name: row_of(student_runs(document), baseline) for name, document in found.items()
            if student_runs(document)}
    missing = [name for name, row in rows.items() if row["macs"] is None]
    if missing:
        sys.exit(f"no MACs recorded for {', '.join(missing)}: rerun its bench_kfold.py command (finished runs are "
                 f"reused) so that its JSON records each run's model size")
    if args.firmware:
        for row in rows.values():
            row["firmware"] = firmware_figures(ROOT / row["first_run"], args.inferences)
    rows = dict(sorted(rows.items(), key=lambda item: -item[1]["macs"]))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": date.today().isoformat(), "machine": machine, "recipe": args.recipe,
                                     "rows": rows}, indent=2) + "\n")
    plot(rows, args.json.with_suffix(".png"))
    print("| width | MACs | parameters | runs | int8 test-fold accuracy | vs full width (same runs) "
          "| flash | RAM | est. cycles / inference |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows.values():
        gain = "—" if row["vs_full_same_runs"] is None or row["channels"] == rows["full"]["channels"] else \
            f"{row['vs_full_same_runs']:+.2f} ({row['same_runs']})"
        firmware = row.get("firmware")
        cells = ([f"{firmware['flash']:,} B", f"{firmware['ram']:,} B", f"{firmware['cycles']:,.0f}"] if firmware
                 else ["", "", ""])
        print(f"| {row['channels']} | {row['macs']:,} | {row['parameters']:,} | {row['runs']} | "
              f"{row['int8_test_accuracy_mean']:.2f} ± {row['int8_test_accuracy_sd']:.2f} | {gain} | "
              + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
