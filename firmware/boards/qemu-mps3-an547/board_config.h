/*
 * board_config.h: qemu-mps3-an547, Arm MPS3 FPGA image AN547: Corstone SSE-300 with a Cortex-M55 (FPv5, MVE/Helium),
 * which QEMU clocks at 32 MHz.
 * Read by the shared QEMU board sources in ../qemu/.
 */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#define BOARD_NAME "qemu-mps3-an547"
/* SysTick's clock as QEMU sets it: under -icount shift=0 one tick is 1e9 / this instructions. */
#define BOARD_CORE_CLOCK_HZ 32000000u
/* 1 on Armv8-M (its vector table has SecureFault at entry 7). */
#define BOARD_ARMV8M 1

#endif /* BOARD_CONFIG_H */
