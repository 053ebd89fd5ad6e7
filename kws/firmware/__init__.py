"""The firmware side of kws: the keyword spotter on a Cortex-M, generated from a model file,
built with the Arm GNU toolchain and run under QEMU. One module per job:

* :mod:`~kws.firmware.sources`: where the C lives; the kernel sets and their files.
* :mod:`~kws.firmware.boards`: the boards (CPU flags, QEMU machine, start-up code, link).
* :mod:`~kws.firmware.toolchain`: find the tools, compile (cached), link, measure sizes.
* :mod:`~kws.firmware.cmsis_dsp`: CMSIS-DSP's C sources from the pinned ``cmsisdsp`` sdist.
* :mod:`~kws.firmware.tflite_graph`: an int8 .tflite read as the kernels take it (no TensorFlow).
* :mod:`~kws.firmware.c_emit`: C text (arrays, defines, headers) for the generators below.
* :mod:`~kws.firmware.tables`, :mod:`~kws.firmware.generate`, :mod:`~kws.firmware.pipeline_config`:
  C of the frontend's tables, of the network, of the pipeline's configuration.
* :mod:`~kws.firmware.frontend`: the MFCC frontend's compilations (CMSIS-DSP, wrapper, tables).
* :mod:`~kws.firmware.image`, :mod:`~kws.firmware.run`: ``kws firmware build`` and ``run``.
* :mod:`~kws.firmware.infer`: ``kws firmware infer``, a network alone on the kernels.
* :mod:`~kws.firmware.qemu`, :mod:`~kws.firmware.stack`: run an image in QEMU; its stack depth.

Test harnesses, never imported by the modules above: :mod:`~kws.firmware.int8_host` (the plain
kernels compiled for this host, via ctypes) and :mod:`~kws.firmware.mfcc_dump` (the frontend
alone on a board, ``firmware/apps/mfcc_dump.c``).

The C sources live in ``firmware/`` at the top of the repository. Nothing here is imported by
the rest of kws but its ``firmware`` command, and the toolchain (``arm-none-eabi-gcc``,
``qemu-system-arm``) is needed only when these modules are used.
"""
