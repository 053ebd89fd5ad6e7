/*
 * host_text.c: see host_text.h. A few hundred bytes where newlib-nano's printf, its stdio and
 * librdimon took 11.9 KB of the whole image.
 */
#include "host_text.h"

#include <stddef.h>

#include "board.h"

void host_text_init(host_text *text, int handle)
{
    text->handle = handle;
    text->length = 0u;
}

void host_text_flush(host_text *text)
{
    if (text->length > 0u && text->handle >= 0) {
        (void)board_host_write(text->handle, text->buffer, text->length);
    }
    text->length = 0u;
}

static void put(host_text *text, char c)
{
    if (text->length == HOST_TEXT_BUFFER) {
        host_text_flush(text);
    }
    text->buffer[text->length++] = c;
}

void host_text_str(host_text *text, const char *string)
{
    while (*string != '\0') {
        put(text, *string++);
    }
}

void host_text_uint(host_text *text, uint64_t value)
{
    char digits[20]; /* 2^64 - 1 has 20 */
    uint32_t n = 0u;

    do {
        digits[n++] = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    while (n > 0u) {
        put(text, digits[--n]);
    }
}

void host_text_int(host_text *text, int32_t value)
{
    if (value < 0) {
        put(text, '-');
        /* -INT32_MIN is not an int32_t; its magnitude is a uint32_t. */
        host_text_uint(text, 0u - (uint32_t)value);
    } else {
        host_text_uint(text, (uint32_t)value);
    }
}

void host_text_end_line(host_text *text)
{
    put(text, '\n');
    host_text_flush(text);
}

void host_text_complain(const char *what, const char *detail)
{
    host_text err;

    host_text_init(&err, board_host_stderr());
    host_text_str(&err, what);
    if (detail != NULL) {
        host_text_str(&err, detail);
    }
    host_text_end_line(&err);
}

void host_text_complain_number(const char *before, int64_t number, const char *after)
{
    host_text err;

    host_text_init(&err, board_host_stderr());
    host_text_str(&err, before);
    if (number < 0) {
        host_text_str(&err, "-");
    }
    host_text_uint(&err, number < 0 ? 0u - (uint64_t)number : (uint64_t)number);
    host_text_str(&err, after);
    host_text_end_line(&err);
}
