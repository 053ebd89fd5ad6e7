"""The MFCC frontend's compilations for one config and board: CMSIS-DSP (plain C), the
``kws_frontend`` wrapper, its stages (``firmware/src/frontend/``, one per file) and the config's
generated tables. Shared by every image that has a
frontend (the whole pipeline, :mod:`kws.firmware.image`, and the test app of
:mod:`kws.firmware.mfcc_dump`).

CMSIS-DSP is compiled as plain C (``-D__GNUC_PYTHON__``, no DSP intrinsics), the configuration
:func:`dsp.mfcc_q15` is bit-exact with; ``firmware/cmsis-dsp-sources.txt`` lists its files. The
stages give the same integers with the DSP extension where the core has it (``plain_stages``
builds their plain-C code instead, for the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dsp import MfccConfig

from ..errors import KwsError
from . import toolchain
from .boards import Board
from .cmsis_dsp import cmsis_dsp_sources
from .sources import BOARDS_DIR, FIRMWARE_DIR, FRONTEND_STAGES_DIR, SRC_DIR, require_checkout
from .tables import GeneratedTables, generate_tables
from .toolchain import Compile


def cmsis_dsp_file_list(firmware_dir: Path = FIRMWARE_DIR) -> tuple[str, ...]:
    """The CMSIS-DSP files the frontend needs (firmware/cmsis-dsp-sources.txt), relative to Source/."""
    listing = firmware_dir / "cmsis-dsp-sources.txt"
    try:
        lines = listing.read_text().splitlines()
    except OSError as error:
        raise KwsError(f"cannot read {listing}: {error.strerror or error}") from None
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


@dataclass(frozen=True)
class FrontendSources:
    """The compilations of the MFCC frontend for one config and board (see :func:`frontend_sources`)."""

    compiles: list[Compile]
    #: Compiler command for the project's own C (flags, includes; no -c/-o).
    own: tuple[str, ...]
    generated: Path
    objects: Path
    cmsis_dsp_files: tuple[str, ...]
    tables: GeneratedTables

    @property
    def cmsis_dsp_command(self) -> tuple[str, ...]:
        return self.compiles[0].command


def frontend_sources(config: MfccConfig, out_dir: Path, target: Board, *, gcc: str, cache: Path | None = None,
                     fixed_fft_length: bool = True, plain_stages: bool = False) -> FrontendSources:
    """Generate ``config``'s tables under ``out_dir/generated``, fetch CMSIS-DSP, copy its
    license beside the image, and list the compilations of CMSIS-DSP, kws_frontend.c and the
    tables (objects under ``out_dir/obj``).

    ``fixed_fft_length`` compiles the frontend with ``KWS_FRONTEND_FFT_LENGTH`` so that only
    that FFT length's tables are linked (else every length's complex-FFT tables are).
    ``plain_stages`` compiles the stages with ``KWS_FRONTEND_NO_DSP``: their plain-C code, the
    same integers without the DSP extension."""
    require_checkout()
    cmsis = cmsis_dsp_sources(cache)
    generated = toolchain.make_dir(out_dir / "generated")
    objects_dir = out_dir / "obj"

    tables = generate_tables(config)
    toolchain.write_if_changed(generated / tables.header_name, tables.header)
    toolchain.write_if_changed(generated / tables.source_name, tables.source)
    # The image contains CMSIS-DSP: its license travels with it.
    toolchain.write_if_changed(out_dir / "CMSIS-DSP-LICENSE.txt", cmsis.license.read_text())

    cmsis_files = cmsis_dsp_file_list()
    cmsis_command = (*toolchain.base_command(gcc, target), *toolchain.CMSIS_DSP_FLAGS, *toolchain.CMSIS_DSP_DEFINES,
                     f"-I{cmsis.include}", f"-I{cmsis.private_include}")
    compiles = [Compile(cmsis.source / name, objects_dir / "cmsis-dsp" / Path(name).with_suffix(".o"), cmsis_command)
                for name in cmsis_files]
    own = toolchain.own_command(gcc, target, [SRC_DIR, BOARDS_DIR, generated], defines=toolchain.CMSIS_DSP_DEFINES,
                                system_includes=[cmsis.include])
    # A fixed FFT length links that length's tables only; with the generated split tables,
    # CMSIS-DSP's 8192-point ones are not linked either.
    frontend_flags = own + ((f"-DKWS_FRONTEND_FFT_LENGTH={config.fft_length}",
                             f"-DKWS_FRONTEND_CFFT=arm_cfft_sR_q15_len{config.fft_length // 2}")
                            if fixed_fft_length else ())
    stage_flags = own + (("-DKWS_FRONTEND_NO_DSP",) if plain_stages else ())
    compiles += [
        Compile(SRC_DIR / "kws_frontend.c", objects_dir / "kws" / "kws_frontend.o", frontend_flags),
        *(Compile(source, objects_dir / "kws" / "frontend" / source.with_suffix(".o").name, stage_flags)
          for source in sorted(FRONTEND_STAGES_DIR.glob("*.c"))),
        Compile(generated / tables.source_name, objects_dir / "kws" / "kws_mfcc_tables.o", own),
    ]
    return FrontendSources(compiles, own, generated, objects_dir, cmsis_files, tables)
