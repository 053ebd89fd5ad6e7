/*
 * startup.c: vector table and reset handler of the Arduino Nano 33 BLE Sense (nRF52840,
 * Cortex-M4F at 64 MHz), for an image the Arduino bootloader starts at 0x10000.
 *
 *   set SP, point VTOR at this table, enable the FPU, copy .data, zero .bss,
 *   __libc_init_array(), board_init(), main().
 *
 * No semihosting: on a board without a debugger attached a BKPT instruction faults, so the
 * image links newlib's nosys stubs instead of librdimon. A fault lights the red LED and stops.
 *
 * Linked with -nostartfiles, like the QEMU boards.
 */
#include <stdint.h>

#include "board.h"
#include "board_startup.h"

/* From the linker script. */
extern uint32_t __stack_top;
extern uint32_t __vectors_start__;

/* From newlib. */
extern void __libc_init_array(void);

extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);

/* -nostartfiles leaves out crti.o, which defines these for __libc_init_array. */
void _init(void) {}
void _fini(void) {}

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)

/* NVIC: the nRF52840 has 48 interrupt lines, so two words of each register. */
#define NVIC_ICER(n) (*(volatile uint32_t *)(0xE000E180u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xE000E280u + 4u * (n)))

/* The red LED of the RGB LED: P0.24, active low (a fault indicator that needs no clock). */
#define P0_OUTCLR (*(volatile uint32_t *)0x5000050Cu)
#define P0_PIN_CNF(pin) (*(volatile uint32_t *)(0x50000700u + 4u * (pin)))
#define RED_LED_PIN 24u
#define PIN_CNF_OUTPUT 0x3u /* DIR = output, INPUT = disconnected */

void board_start(void) __attribute__((noreturn));

void board_start(void)
{

    /* The bootloader may leave its interrupts enabled (Arduino's core notes RTC1) and VTOR at
       its own table: take over both before anything can fire. */
    __asm__ volatile("cpsid i" ::: "memory");
    NVIC_ICER(0) = 0xFFFFFFFFu;
    NVIC_ICER(1) = 0xFFFFFFFFu;
    NVIC_ICPR(0) = 0xFFFFFFFFu;
    NVIC_ICPR(1) = 0xFFFFFFFFu;
    SCB_VTOR = (uint32_t)&__vectors_start__;

    board_enable_fpu();

    board_init_static_memory();

    __libc_init_array();
    board_init();
    __asm__ volatile("cpsie i" ::: "memory");

    (void)main();
    /* main() of a device app does not return; if it does, stop here with the CPU asleep. */
    for (;;) {
        __asm__ volatile("wfi");
    }
}

__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    /* The bootloader jumps here with its own SP; load ours. */
    __asm__ volatile(
        "ldr r0, =__stack_top\n\t"
        "mov sp, r0\n\t"
        "b board_start\n\t");
}

void Default_Handler(void)
{
    /* Whatever fired (a fault or an interrupt nobody enabled on purpose), the state cannot be
       trusted: light the red LED and stop, with interrupts off. */
    __asm__ volatile("cpsid i" ::: "memory");
    P0_PIN_CNF(RED_LED_PIN) = PIN_CNF_OUTPUT;
    P0_OUTCLR = 1u << RED_LED_PIN;
    for (;;) {
    }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
/* nRF52840 interrupt 29 (the PDM's peripheral ID, from its base address 0x4001D000). */
void PDM_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

#define NRF52840_IRQ_COUNT 48

typedef struct {
    uint32_t *initial_sp;
    void (*exceptions[15])(void);
    void (*interrupts[NRF52840_IRQ_COUNT])(void);
} vector_table_t;

/* Every external interrupt but the PDM's goes to Default_Handler; board_init() enables only
   the PDM's. The table is 64 words, so any 256-byte alignment (0x10000) suits VTOR. */
__attribute__((section(".vectors"), used)) static const vector_table_t vector_table = {
    &__stack_top,
    {
        Reset_Handler,
        NMI_Handler,
        HardFault_Handler,
        MemManage_Handler,
        BusFault_Handler,
        UsageFault_Handler,
        0,
        0,
        0,
        0,
        SVC_Handler,
        DebugMon_Handler,
        0,
        PendSV_Handler,
        SysTick_Handler,
    },
    {
        /*  0 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /*  4 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /*  8 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 12 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 16 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 20 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 24 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 28 */ Default_Handler, PDM_IRQHandler, Default_Handler, Default_Handler,
        /* 32 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 36 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 40 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
        /* 44 */ Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    },
};
