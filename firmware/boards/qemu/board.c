/*
 * board.c: the QEMU boards (qemu-mps2-an386, qemu-mps2-an500, qemu-mps3-an547), each described
 * by the board_config.h in its own directory: name, core clock as QEMU sets it.
 *
 * Counter: SysTick clocked from the core clock (CLKSOURCE = 1), free-running over its full
 * 24-bit range. The DWT cycle counter is not emulated (it reads 0). Under `-icount shift=0`
 * every instruction advances virtual time by exactly 1 ns, so one SysTick tick is
 * 1e9 / BOARD_CORE_CLOCK_HZ instructions (40 at the MPS2 boards' 25 MHz, 31.25 at AN547's
 * 32 MHz: measured, a 2,000,000-instruction loop takes 64,000 ticks there). The counts are
 * instructions, deterministic from run to run, not cycle counts of a real core.
 *
 * Host I/O: semihosting (`-semihosting-config enable=on,target=native`), called directly: the
 * command line, the host's files and console, and the exit status. The apps use no stdio, so
 * the image carries no C library I/O (newlib-nano's printf and librdimon were 11.9 KB of an
 * 80 KB image); a program that does use stdio still can (startup.c opens librdimon's handles
 * when it is linked).
 */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "board_config.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u) /* control and status */
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u) /* reload value */
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u) /* current value (counts down) */

#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_CLKSOURCE_CORE (1u << 2)
#define SYST_MASK 0x00FFFFFFu

/* Virtual nanoseconds (= instructions under -icount shift=0) per SysTick tick, as a fraction:
   1e9 / BOARD_CORE_CLOCK_HZ reduced by 1e6 (both clocks are whole MHz). */
#define INSTRUCTIONS_PER_TICK_NUMERATOR 1000u
#define INSTRUCTIONS_PER_TICK_DENOMINATOR (BOARD_CORE_CLOCK_HZ / 1000000u)

/* Semihosting operations (Arm's "Semihosting for AArch32 and AArch64"). */
#define SEMIHOSTING_SYS_OPEN 0x01
#define SEMIHOSTING_SYS_CLOSE 0x02
#define SEMIHOSTING_SYS_WRITE 0x05
#define SEMIHOSTING_SYS_READ 0x06
#define SEMIHOSTING_SYS_GET_CMDLINE 0x15
#define SEMIHOSTING_SYS_EXIT_EXTENDED 0x20
/* SYS_OPEN's modes are fopen()'s, numbered: "rb" = 1, "w" = 4, "wb" = 5, "a" = 8. ":tt" is the
   console: "w" stdout, "a" stderr, as newlib's librdimon opens them. */
#define SEMIHOSTING_MODE_READ_BINARY 1
#define SEMIHOSTING_MODE_WRITE 4
#define SEMIHOSTING_MODE_WRITE_BINARY 5
#define SEMIHOSTING_MODE_APPEND 8
#define SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT 0x20026u

const char *board_name(void)
{
    return BOARD_NAME;
}

void board_init(void)
{
    SYST_CSR = 0u;
    SYST_RVR = SYST_MASK;
    SYST_CVR = 0u; /* any write clears it; it reloads on the next tick */
    SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CLKSOURCE_CORE; /* no interrupt */
}

uint32_t board_counter_now(void)
{
    /* SysTick counts down; present it as an up-counter. */
    return SYST_MASK - (SYST_CVR & SYST_MASK);
}

uint32_t board_counter_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & SYST_MASK;
}

uint64_t board_counter_to_instructions(uint32_t ticks)
{
    return (uint64_t)ticks * INSTRUCTIONS_PER_TICK_NUMERATOR / INSTRUCTIONS_PER_TICK_DENOMINATOR;
}

static int semihosting_call(int operation, void *argument)
{
    register int r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int board_host_open(const char *path, int for_writing)
{
    uint32_t length = 0u;
    struct {
        const char *path;
        int mode;
        uint32_t length;
    } block;

    while (path[length] != '\0') {
        length++;
    }
    block.path = path;
    block.mode = for_writing ? SEMIHOSTING_MODE_WRITE_BINARY : SEMIHOSTING_MODE_READ_BINARY;
    block.length = length;
    return semihosting_call(SEMIHOSTING_SYS_OPEN, &block);
}

int32_t board_host_read(int handle, void *buffer, uint32_t size)
{
    struct {
        int handle;
        void *buffer;
        uint32_t size;
    } block = {handle, buffer, size};
    /* SYS_READ returns the bytes it did NOT read (size at the end of the file); -1 is not
       among its documented results, but a host error must not look like data. */
    int left = semihosting_call(SEMIHOSTING_SYS_READ, &block);

    return left < 0 || (uint32_t)left > size ? -1 : (int32_t)(size - (uint32_t)left);
}

int board_host_write(int handle, const void *data, uint32_t size)
{
    struct {
        int handle;
        const void *data;
        uint32_t size;
    } block = {handle, data, size};

    /* SYS_WRITE returns the bytes it did not write. */
    return semihosting_call(SEMIHOSTING_SYS_WRITE, &block) == 0 ? 0 : -1;
}

int board_host_close(int handle)
{
    return semihosting_call(SEMIHOSTING_SYS_CLOSE, &handle) == 0 ? 0 : -1;
}

/* The console, opened on first use: stdout ("w") or stderr ("a"). */
static int console_handle(int *handle, int mode)
{
    if (*handle < 0) {
        static const char console[] = ":tt";
        struct {
            const char *path;
            int mode;
            uint32_t length;
        } block = {console, mode, sizeof console - 1u};
        *handle = semihosting_call(SEMIHOSTING_SYS_OPEN, &block);
    }
    return *handle;
}

int board_host_stdout(void)
{
    static int handle = -1;
    return console_handle(&handle, SEMIHOSTING_MODE_WRITE);
}

int board_host_stderr(void)
{
    static int handle = -1;
    return console_handle(&handle, SEMIHOSTING_MODE_APPEND);
}

void board_exit(int status)
{
    /* SYS_EXIT_EXTENDED passes the status (plain SYS_EXIT on AArch32 can only say
       success or failure); QEMU exits with it. */
    struct {
        uint32_t reason;
        int status;
    } block = {SEMIHOSTING_ADP_STOPPED_APPLICATION_EXIT, status};

    for (;;) {
        (void)semihosting_call(SEMIHOSTING_SYS_EXIT_EXTENDED, &block);
    }
}

int board_command_line(char *buffer, size_t size, char **argv, int max_args)
{
    struct {
        char *buffer;
        int size;
    } block = {buffer, (int)size};
    int argc = 0;
    char *p = buffer;

    if (size == 0u || max_args <= 0) {
        return 0;
    }
    if (semihosting_call(SEMIHOSTING_SYS_GET_CMDLINE, &block) != 0) {
        return 0;
    }
    buffer[size - 1u] = '\0';
    while (*p != '\0' && argc < max_args) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        argv[argc++] = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
    }
    return argc;
}
