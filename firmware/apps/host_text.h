/*
 * host_text.h: lines of text to the host (the QEMU boards' console, through board.h's
 * semihosting calls) without stdio: strings and decimal integers into a line buffer, written
 * out at the end of each line or when the buffer is full.
 *
 * What the apps print is parsed on the host (kws.firmware.run, .infer, .mfcc_dump), so the
 * text is exactly what printf's %s, %d, %ld, %lu and %llu would give.
 */
#ifndef HOST_TEXT_H
#define HOST_TEXT_H

#include <stdint.h>

#define HOST_TEXT_BUFFER 128u

typedef struct {
    int handle; /* board_host_stdout() or board_host_stderr(); -1: text is dropped */
    uint32_t length;
    char buffer[HOST_TEXT_BUFFER];
} host_text;

/** Start writing to handle (the caller owns the instance). */
void host_text_init(host_text *text, int handle);

/** Append a NUL-terminated string. */
void host_text_str(host_text *text, const char *string);

/** Append an unsigned or signed integer in decimal. */
void host_text_uint(host_text *text, uint64_t value);
void host_text_int(host_text *text, int32_t value);

/** Append '\n' and write the line out. */
void host_text_end_line(host_text *text);

/** One line on the host's stderr: what, then detail (NULL: none), e.g. "cannot open ", a path. */
void host_text_complain(const char *what, const char *detail);

/** One line on the host's stderr: before, number, after. */
void host_text_complain_number(const char *before, int64_t number, const char *after);

/** Write out what is buffered. */
void host_text_flush(host_text *text);

#endif /* HOST_TEXT_H */
