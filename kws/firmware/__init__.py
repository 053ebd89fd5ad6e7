"""The firmware side of kws: the MFCC frontend on a Cortex-M, built and run from Python.

* :mod:`kws.firmware.cmsis_dsp`: CMSIS-DSP's C sources from the pinned ``cmsisdsp`` sdist.
* :mod:`kws.firmware.tables`: C tables of a :class:`dsp.MfccConfig`, from :func:`dsp.tables.q15_tables`.
* :mod:`kws.firmware.build`: build ``firmware/apps/mfcc_dump.c`` for a board, out of tree.
* :mod:`kws.firmware.qemu`: run it under QEMU and read back the MFCC and instruction counts.

The C sources live in ``firmware/`` at the top of the repository. Nothing here is imported
by the rest of kws, and the toolchain (``arm-none-eabi-gcc``, ``qemu-system-arm``) is needed
only when these modules are used.
"""
