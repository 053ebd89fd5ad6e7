/*
 * board_startup.h: what every board's reset code does the same way, for its startup.c.
 *
 * The linker scripts define __data_start__/__data_end__ (.data in RAM), __data_load__ (its
 * initial values in flash) and __bss_start__/__bss_end__, all word-aligned.
 */
#ifndef KWS_BOARD_STARTUP_H
#define KWS_BOARD_STARTUP_H

#include <stdint.h>

extern uint32_t __data_start__, __data_end__, __data_load__;
extern uint32_t __bss_start__, __bss_end__;

#define BOARD_SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define BOARD_CPACR_CP10_CP11_FULL (0xFu << 20)

/* The code is built with -mfloat-abi=hard: the FPU must be on before any C library call. */
static inline void board_enable_fpu(void)
{
    BOARD_SCB_CPACR |= BOARD_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* C's static storage: .data from its load image, .bss zeroed. */
static inline void board_init_static_memory(void)
{
    const uint32_t *source = &__data_load__;
    uint32_t *destination;

    for (destination = &__data_start__; destination < &__data_end__;) {
        *destination++ = *source++;
    }
    for (destination = &__bss_start__; destination < &__bss_end__;) {
        *destination++ = 0u;
    }
}

#endif /* KWS_BOARD_STARTUP_H */
