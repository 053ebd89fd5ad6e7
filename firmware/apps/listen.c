/*
 * listen: the always-on keyword spotter on a board with a microphone (nano33ble).
 *
 * Reads the microphone one hop (KWS_MFCC_HOP_LENGTH samples) at a time and pushes it through
 * kws_pipeline (the generated model and config: kws_pipeline_config.h). On each detection it
 * lights the board's LED for LED_ON_MS and writes one line to the serial port:
 *
 *   <label> <score>\r\n        e.g. "yes 0.87"
 *
 * score is the smoothed probability the detector fired on: sum / (KWS_OUTPUT_SCALE_INVERSE *
 * count), the mean of the label's last `count` dequantised softmax outputs, with two decimals.
 * Lines starting with '#' are diagnostics: the start-up banner, audio the board had to drop
 * because the pipeline fell behind the microphone, and errors.
 *
 * The LED is timed in samples of audio, so it needs no timer of its own. Everything runs in
 * the main loop; the board's interrupt handler only moves microphone blocks.
 */
#include <stdint.h>

#include "board.h"
#include "kws_pipeline.h"
#include "kws_pipeline_config.h"

#define LED_ON_MS 200u
#define LED_ON_SAMPLES (KWS_MFCC_SAMPLE_RATE / 1000u * LED_ON_MS)

typedef struct {
    uint32_t samples;       /* samples pushed into the pipeline so far */
    uint32_t led_off_at;    /* value of samples at which the LED goes off */
    int led_on;
} listen_state;

static kws_pipeline_instance pipeline;
static int16_t hop[KWS_MFCC_HOP_LENGTH];
static listen_state state;

/* ---- text without printf: the image carries no stdio ---- */

typedef struct {
    char text[96];
    uint32_t length;
} line_buffer;

static void line_append(line_buffer *line, const char *text)
{
    while (*text != '\0' && line->length + 1u < sizeof line->text) {
        line->text[line->length++] = *text++;
    }
    line->text[line->length] = '\0';
}

static void line_append_uint(line_buffer *line, uint32_t value, uint32_t min_digits)
{
    char digits[11];
    uint32_t n = 0u;

    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u || n < min_digits);
    while (n > 0u && line->length + 1u < sizeof line->text) {
        line->text[line->length++] = digits[--n];
    }
    line->text[line->length] = '\0';
}

/* ---- the pipeline's callback ---- */

static void on_event(void *context, const kws_event *event)
{
    listen_state *listening = (listen_state *)context;
    const kws_pipeline_config *config = &kws_pipeline_default_config;
    line_buffer line = {{0}, 0u};
    uint32_t denominator;
    uint32_t hundredths;

    if (event->kind != KWS_EVENT_DETECTION || event->label < 0 ||
        (uint32_t)event->label >= config->n_labels) {
        return;
    }
    board_led_set(1);
    listening->led_on = 1;
    listening->led_off_at = listening->samples + LED_ON_SAMPLES;

    /* sum >= 0 for a detection (it reached a positive threshold); round to 0.01. */
    denominator = KWS_OUTPUT_SCALE_INVERSE * (event->count > 0u ? event->count : 1u);
    hundredths = ((uint32_t)(event->sum > 0 ? event->sum : 0) * 100u + denominator / 2u) / denominator;
    line_append(&line, config->labels[event->label]);
    line_append(&line, " ");
    line_append_uint(&line, hundredths / 100u, 1u);
    line_append(&line, ".");
    line_append_uint(&line, hundredths % 100u, 2u);
    line_append(&line, "\r\n");
    board_serial_write(line.text);
}

/* Report and stop: blink the LED fast forever, since nobody may be watching the serial port. */
static void fail(const char *what) __attribute__((noreturn));

static void fail(const char *what)
{
    line_buffer line = {{0}, 0u};

    line_append(&line, "# listen: ");
    line_append(&line, what);
    line_append(&line, "\r\n");
    board_serial_write(line.text);
    for (;;) {
        uint32_t start = board_counter_now();
        static int on;

        on = !on;
        board_led_set(on);
        while (board_counter_elapsed(start, board_counter_now()) < 1000000u) {
        }
    }
}

int main(void)
{
    const kws_pipeline_config *config = &kws_pipeline_default_config;
    line_buffer banner = {{0}, 0u};

    if (kws_pipeline_init(&pipeline, config, &kws_pipeline_default_buffers) != 0) {
        fail("kws_pipeline_init refused the generated config");
    }
    if (board_mic_sample_rate() != KWS_MFCC_SAMPLE_RATE) {
        fail("the microphone's sample rate is not the model's");
    }
    line_append(&banner, "# kws listen on ");
    line_append(&banner, board_name());
    line_append(&banner, ": ");
    line_append_uint(&banner, config->n_labels, 1u);
    line_append(&banner, " labels, ");
    line_append_uint(&banner, KWS_MFCC_SAMPLE_RATE, 1u);
    line_append(&banner, " Hz\r\n");
    board_serial_write(banner.text);
    if (board_mic_start() != 0) {
        fail("the microphone did not start");
    }

    for (;;) {
        int32_t lost = board_mic_read(hop, KWS_MFCC_HOP_LENGTH);
        int status;

        if (lost < 0) {
            fail("the microphone stopped");
        }
        if (lost > 0) {
            /* The stream has a gap: the pipeline carries on across it (its window briefly
               spans the cut), as a detector on a live stream has to. */
            line_buffer line = {{0}, 0u};

            line_append(&line, "# audio dropped: ");
            line_append_uint(&line, (uint32_t)lost, 1u);
            line_append(&line, " samples\r\n");
            board_serial_write(line.text);
        }
        status = kws_pipeline_process(&pipeline, hop, KWS_MFCC_HOP_LENGTH, on_event, &state);
        state.samples += KWS_MFCC_HOP_LENGTH;
        if (status != 0) {
            /* A frontend or kernel refusal is a bug, not a property of the audio: say so and
               start a fresh stream rather than stop listening. */
            board_serial_write("# listen: kws_pipeline_process failed; stream reset\r\n");
            kws_pipeline_reset(&pipeline);
        }
        if (state.led_on && (int32_t)(state.samples - state.led_off_at) >= 0) {
            board_led_set(0);
            state.led_on = 0;
        }
    }
}
