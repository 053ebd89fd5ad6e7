/*
 * board.h: what an application needs from a board, and nothing else.
 *
 * Each directory under firmware/boards/ implements this interface together with its own
 * reset handler and linker script. The start-up code calls board_init() before main().
 *
 * The counter measures work done, not wall time: on the QEMU boards, run with
 * `-icount shift=0`, virtual time advances exactly 1 ns per executed instruction, so a timer
 * clocked from virtual time counts instructions. On silicon the same counter would count core
 * clock cycles; board_counter_to_instructions() says which unit the numbers are in.
 */
#ifndef KWS_BOARD_H
#define KWS_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Board name, as kws.firmware.boards spells it (the directory under firmware/boards/). */
const char *board_name(void);

/** Start the counter; called by the start-up code before main(). */
void board_init(void);

/** Free-running up-counter in board ticks; it wraps (on qemu-mps2-an386 every 2^24 ticks). */
uint32_t board_counter_now(void);

/** Ticks from start to end (both from board_counter_now), correct across one wrap. */
uint32_t board_counter_elapsed(uint32_t start, uint32_t end);

/** Ticks -> instructions (QEMU with -icount shift=0). */
uint64_t board_counter_to_instructions(uint32_t ticks);

/**
 * The program's command line as the host passes it (semihosting SYS_GET_CMDLINE), split at
 * spaces into at most max_args arguments stored in buffer (NUL-terminated). Returns argc;
 * 0 if the host gives none.
 */
int board_command_line(char *buffer, size_t size, char **argv, int max_args);

/*
 * ---- Boards with a host (the QEMU boards: semihosting) -----------------------------------
 *
 * The host's files and console without the C library's stdio. Handles are the host's; every
 * call blocks. The boards without a host (nano33ble) do not implement these.
 */

/** Open a host file for reading (for_writing 0) or writing ("wb"): a handle >= 0, or -1. */
int board_host_open(const char *path, int for_writing);

/** Read up to size bytes: the number read (0 at the end of the file), or -1 on an error. */
int32_t board_host_read(int handle, void *buffer, uint32_t size);

/** Write size bytes: 0, or -1 if the host wrote fewer. */
int board_host_write(int handle, const void *data, uint32_t size);

/** Close a handle: 0, or -1. */
int board_host_close(int handle);

/** The host's standard output and standard error (opened on first use; -1 if they cannot be). */
int board_host_stdout(void);
int board_host_stderr(void);

/** End the program; the host (QEMU) exits with status. */
void board_exit(int status) __attribute__((noreturn));

/*
 * ---- Boards with a microphone -------------------------------------------------------------
 *
 * What apps/listen.c needs besides the above. Only boards with a microphone implement these
 * (nano33ble); the QEMU boards do not, and listen.c is not built for them. All four are
 * blocking and called from the main loop only, never from an interrupt handler.
 */

/** The sample rate board_mic_read delivers, Hz. */
uint32_t board_mic_sample_rate(void);

/**
 * Power the microphone and start capturing mono int16 samples at board_mic_sample_rate() into
 * the board's buffer. 0 on success, -1 if the board cannot.
 */
int board_mic_start(void);

/**
 * Block until count samples are available and copy them, oldest first. Returns the number of
 * samples the board dropped from the stream while filling this request because the caller had
 * fallen a whole buffer behind (0 while it keeps up), or -1 if the microphone is not started.
 */
int32_t board_mic_read(int16_t *samples, uint32_t count);

/** Turn the board's user LED on (nonzero) or off (0). */
void board_led_set(int on);

/** Write a NUL-terminated text to the board's serial port (blocks until it is sent). */
void board_serial_write(const char *text);

#ifdef __cplusplus
}
#endif

#endif /* KWS_BOARD_H */
