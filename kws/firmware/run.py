"""Run a QEMU image of the whole pipeline (``apps/run.c``) on audio: ``kws firmware run``.

:func:`run_image` writes the int16 samples to a host file, runs the image under QEMU and parses
what it prints into the same events as :class:`kws.detector.Detector`
(:class:`~kws.detector.Inference`, :class:`~kws.detector.Detection`) plus a
:class:`RunSummary` of the instruction counts. With ``cycles=True`` the run goes through QEMU's
execution log and the summary also carries estimated Cortex-M4 cycles (:mod:`kws.firmware.cycles`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..detector import Detection, Event, Inference
from ..errors import KwsError
from ..model_file import KwsModel
from .cortex_m4 import Cost
from .cycles import MODEL, CycleEstimate, profile_elf
from .image import ImageBuild
from .qemu import check_exit, run_app
from .toolchain import make_dir


#: The functions the summary's figures are made of (firmware/apps/run.c, kws.firmware.generate).
PIPELINE = "kws_pipeline_process"
INVOKE = "kws_model_invoke"


@dataclass(frozen=True)
class RunCycles:
    """Estimated Cortex-M4 cycles of a run (each :class:`Cost` with its bounds)."""
    pipeline: CycleEstimate  # everything inside kws_pipeline_process
    model: CycleEstimate  # the network alone, summed over inferences
    model_max: int  # the slowest inference

    def per_frame(self, frames: int) -> Cost:
        """Frontend, input rule, buffering and decisions per MFCC frame: the pipeline less the network."""
        rest = self.pipeline.cost - self.model.cost
        return Cost(*(round(v / frames) for v in (rest.cycles, rest.low, rest.high))) if frames else Cost()

    def per_inference(self, inferences: int) -> Cost:
        cost = self.model.cost
        return Cost(*(round(v / inferences) for v in (cost.cycles, cost.low, cost.high))) if inferences else Cost()


@dataclass(frozen=True)
class RunSummary:
    samples: int
    frames: int
    inferences: int
    pipeline_instructions: int  # everything inside kws_pipeline_process
    model_instructions: int  # the network alone, summed over inferences
    model_max: int  # the slowest inference
    cycles: RunCycles | None = None  # with run_image(..., cycles=True)

    @property
    def instructions_per_inference(self) -> float:
        return self.model_instructions / self.inferences if self.inferences else 0.0

    @property
    def instructions_per_frame(self) -> float:
        """Frontend, input rule, buffering and decisions per MFCC frame: the pipeline less the network."""
        return (self.pipeline_instructions - self.model_instructions) / self.frames if self.frames else 0.0

    def to_dict(self) -> dict:
        result = {"samples": self.samples, "frames": self.frames, "inferences": self.inferences,
                  "instructions_per_mfcc_frame": round(self.instructions_per_frame),
                  "instructions_per_inference": round(self.instructions_per_inference),
                  "instructions_max_inference": self.model_max,
                  "instructions_total": self.pipeline_instructions}
        if self.cycles is not None:
            frame, inference = self.cycles.per_frame(self.frames), self.cycles.per_inference(self.inferences)
            result.update({
                "cycles_per_mfcc_frame": frame.cycles, "cycles_per_mfcc_frame_range": [frame.low, frame.high],
                "cycles_per_inference": inference.cycles,
                "cycles_per_inference_range": [inference.low, inference.high],
                "cycles_max_inference": self.cycles.model_max, "cycles_total": self.cycles.pipeline.cycles,
                "cycle_model": MODEL})
        return result


def run_image(build: ImageBuild, model: KwsModel, samples: np.ndarray, *, timeout: float = 600.0,
              cycles: bool = False) -> tuple[list[Event], RunSummary]:
    """Push ``samples`` (int16 mono at the model's rate) through ``build`` in QEMU; with
    ``cycles``, under QEMU's execution log (about ten times slower), the summary with estimated
    cycles."""
    if not build.board.qemu_machine:
        raise KwsError(f"{build.board.name} is not a QEMU board; `kws firmware run` needs one")
    samples = np.ascontiguousarray(samples, dtype="<i2")
    work = make_dir(build.out_dir / "run")
    samples.tofile(work / "audio.raw")
    arguments = ["run", "audio.raw"]
    if not cycles:
        result = run_app(build.elf, arguments, board=build.board, cwd=work, timeout=timeout, what="the image")
        return parse_output(result.stdout, model)
    traced, profile = profile_elf(build.elf, arguments, machine=build.board.qemu_machine, cwd=work,
                                  split=[INVOKE], timeout=timeout * 10)
    check_exit(traced, f"the image on {build.board.name}")
    events, summary = parse_output(traced.stdout, model)
    slowest = max((profile.within(frame).cycles for frame in profile.frames(INVOKE)), default=0)
    return events, replace(summary, cycles=RunCycles(profile.within(PIPELINE), profile.within(INVOKE), slowest))


def parse_output(stdout: str, model: KwsModel) -> tuple[list[Event], RunSummary]:
    """The events and summary of ``apps/run.c``'s output (see its header comment)."""
    events: list[Event] = []
    summary = None
    mfcc = model.mfcc
    scale = model.output_quantization.scale
    n_labels = len(model.labels)
    for line in stdout.splitlines():
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "inference":
                scores = tuple(int(w) for w in words[2:])
                if len(scores) != n_labels:
                    raise ValueError(f"{len(scores)} scores")
                events.append(Inference(int(words[1]), scores))
            elif words[0] == "detection":
                frame, label, total, count = (int(w) for w in words[1:5])
                events.append(Detection(mfcc.frame_end_seconds(frame), model.labels[label], total * scale / count,
                                        frame))
            elif words[0] == "summary":
                values = dict(word.split("=", 1) for word in words[1:])
                summary = RunSummary(*(int(values[k]) for k in (
                    "samples", "frames", "inferences", "pipeline_instructions", "model_instructions", "model_max")))
        except (ValueError, IndexError, KeyError) as error:
            raise KwsError(f"unexpected line from the image: {line!r} ({error})") from None
    if summary is None:
        raise KwsError("the image ended without its summary line")
    if summary.inferences != sum(isinstance(e, Inference) for e in events):
        raise KwsError("the image's inference count does not match its output")
    return events, summary
