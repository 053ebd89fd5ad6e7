/*
 * board_config.h: qemu-mps2-an386, Arm MPS2 FPGA image AN386: a Cortex-M4F at 25 MHz.
 * Read by the shared QEMU board sources in ../qemu/.
 */
#ifndef BOARD_CONFIG_H
#define BOARD_CONFIG_H

#define BOARD_NAME "qemu-mps2-an386"
/* SysTick's clock as QEMU sets it: under -icount shift=0 one tick is 1e9 / this instructions. */
#define BOARD_CORE_CLOCK_HZ 25000000u
/* 1 on Armv8-M (its vector table has SecureFault at entry 7). */
#define BOARD_ARMV8M 0

#endif /* BOARD_CONFIG_H */
