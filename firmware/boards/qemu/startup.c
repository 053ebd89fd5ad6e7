/*
 * startup.c: vector table and reset handler of the QEMU boards (board_config.h names each).
 *
 * Linked with -nostartfiles: newlib's rdimon-crt0 takes its stack from SYS_HEAPINFO, which is
 * not portable across QEMU's boards (on AN547 malloc and fopen then fail with ENOMEM), so the
 * board starts itself:
 *
 *   set SP, enable the FPU, copy .data, zero .bss, [initialise_monitor_handles()],
 *   board_init(), board_exit(main(argc, argv)).
 *
 * The apps talk to the host through board.c's semihosting calls, without stdio, so neither
 * newlib's exit() (whose librdimon _exit pulls in all of librdimon's host I/O) nor its
 * constructors (C has none) are needed: board_exit() hands main's return value to QEMU as its
 * exit status. A program that uses stdio links librdimon, and then the weak reference below
 * finds initialise_monitor_handles (in the same object as librdimon's _write) and opens its
 * stdin/stdout/stderr; its output to the console is line buffered, so a line is out once its
 * '\n' is (or after fflush). A fault prints one line on the host's stderr and exits with
 * status 1.
 */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "board_startup.h"
#include "board_config.h"

/* From the linker script. */
extern uint32_t __stack_top;

/* From librdimon, if the program's stdio brought it in (a weak reference does not). */
extern void initialise_monitor_handles(void) __attribute__((weak));

extern int main(int argc, char **argv);

void Reset_Handler(void);
void Default_Handler(void);


#define MAX_ARGS 8
static char command_line[256];
static char *arguments[MAX_ARGS + 1];

void board_start(void) __attribute__((noreturn));

void board_start(void)
{
    int argc;

    /* On the M55 MVE shares the FPU's coprocessor interface (CP10/CP11) and the core runs
       Secure, so CPACR alone enables both. The M7's caches stay off: QEMU does not model them. */
    board_enable_fpu();

    board_init_static_memory();

    if (initialise_monitor_handles != NULL) {
        initialise_monitor_handles();
    }
    board_init();

    argc = board_command_line(command_line, sizeof command_line, arguments, MAX_ARGS);
    arguments[argc] = NULL;
    board_exit(main(argc, arguments));
}

__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    /* QEMU loads SP from the vector table, but a debugger's "jump to entry" does not. */
    __asm__ volatile(
        "ldr r0, =__stack_top\n\t"
        "mov sp, r0\n\t"
        "b board_start\n\t");
}

/* Semihosting without the C library: the state may be too broken for stdio. */
static void semihosting_fault_exit(void) __attribute__((noreturn));

static void semihosting_fault_exit(void)
{
    static const char message[] = BOARD_NAME ": fault (unhandled exception); exiting with status 1\n";
    register uint32_t r0 __asm__("r0");
    register const void *r1 __asm__("r1");

    r0 = 0x04u; /* SYS_WRITE0 */
    r1 = message;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    r0 = 0x18u;       /* SYS_EXIT */
    r1 = (const void *)0x20023u; /* ADP_Stopped_RunTimeErrorUnknown: QEMU exits with status 1 */
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}

void Default_Handler(void)
{
    semihosting_fault_exit();
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
#if BOARD_ARMV8M
void SecureFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
#define SECURE_FAULT_HANDLER SecureFault_Handler
#else
#define SECURE_FAULT_HANDLER 0
#endif

/* The initial stack pointer, then the 15 system exception handlers (Armv8-M adds SecureFault
   at entry 7); the QEMU apps enable no external interrupt. */
typedef struct {
    uint32_t *initial_sp;
    void (*handlers[15])(void);
} vector_table_t;

__attribute__((section(".vectors"), used)) static const vector_table_t vector_table = {
    &__stack_top,
    {
        Reset_Handler,
        NMI_Handler,
        HardFault_Handler,
        MemManage_Handler,
        BusFault_Handler,
        UsageFault_Handler,
        SECURE_FAULT_HANDLER,
        0,
        0,
        0,
        SVC_Handler,
        DebugMon_Handler,
        0,
        PendSV_Handler,
        SysTick_Handler,
    },
};
