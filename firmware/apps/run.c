/*
 * run: the whole always-on pipeline (kws_pipeline with the generated model and config) on audio
 * from the host, for the QEMU boards.
 *
 *   run AUDIO
 *
 * AUDIO: int16 little-endian mono samples at KWS_MFCC_SAMPLE_RATE (a host file, through
 * semihosting), pushed one hop at a time as a microphone would deliver them.
 *
 * stdout, one line each:
 *   run board=<board> config=<KWS_PIPELINE_CONFIG_JSON>
 *   inference <frame> <score 0> ... <score n-1>
 *   detection <frame> <label index> <sum> <count>
 *   summary samples=<n> frames=<n> inferences=<n> pipeline_instructions=<n> model_instructions=<n> model_max=<n>
 *
 * pipeline_instructions counts everything inside kws_pipeline_process (frontend, input rule,
 * buffering, model and decisions); model_instructions the model alone (summed), model_max the
 * slowest inference. Exit status: 0 done, 2 bad arguments or host I/O error, 3 the pipeline failed.
 * Text goes out through host_text (no stdio in the image).
 */
#include "board.h"
#include "host_text.h"
#include "kws_model.h"
#include "kws_pipeline.h"
#include "kws_pipeline_config.h"

#define EXIT_USAGE 2
#define EXIT_PIPELINE 3

static uint64_t model_instructions;
static uint64_t model_max;

/* The generated network, timed. */
static int timed_invoke(const int8_t *input, int8_t *output, int8_t *arena)
{
    uint32_t start = board_counter_now();
    int status = kws_model_invoke(input, output, arena);
    uint64_t spent = board_counter_to_instructions(board_counter_elapsed(start, board_counter_now()));

    model_instructions += spent;
    if (spent > model_max) {
        model_max = spent;
    }
    return status;
}

/* Events are queued by the callback and printed after the timed call, so that printing's cost
 * does not count as the pipeline's. One hop makes at most one frame, hence one inference and
 * one detection. */
#define MAX_EVENTS 4
typedef struct {
    kws_event event;
    int8_t scores[KWS_N_LABELS];
} queued_event;

static queued_event queue[MAX_EVENTS];
static uint32_t queued;
static uint32_t dropped;

static void queue_event(void *context, const kws_event *event)
{
    uint32_t i;

    (void)context;
    if (queued == MAX_EVENTS) {
        dropped++;
        return;
    }
    queue[queued].event = *event;
    for (i = 0u; i < KWS_N_LABELS; i++) {
        queue[queued].scores[i] = event->scores[i];
    }
    queued++;
}

static void print_queue(host_text *out)
{
    uint32_t n;
    uint32_t i;

    for (n = 0u; n < queued; n++) {
        const kws_event *event = &queue[n].event;
        if (event->kind == KWS_EVENT_INFERENCE) {
            host_text_str(out, "inference ");
            host_text_uint(out, event->frame);
            for (i = 0u; i < KWS_N_LABELS; i++) {
                host_text_str(out, " ");
                host_text_int(out, queue[n].scores[i]);
            }
        } else {
            host_text_str(out, "detection ");
            host_text_uint(out, event->frame);
            host_text_str(out, " ");
            host_text_int(out, event->label);
            host_text_str(out, " ");
            host_text_int(out, event->sum);
            host_text_str(out, " ");
            host_text_uint(out, event->count);
        }
        host_text_end_line(out);
    }
    queued = 0u;
}

/* "name=value" after a space. */
static void print_field(host_text *out, const char *name, uint64_t value)
{
    host_text_str(out, " ");
    host_text_str(out, name);
    host_text_str(out, "=");
    host_text_uint(out, value);
}

static kws_pipeline_config config;
static kws_pipeline_instance pipeline;
static int16_t hop[KWS_MFCC_HOP_LENGTH];

int main(int argc, char **argv)
{
    host_text out;
    int audio;
    int32_t got;
    uint64_t samples = 0u;
    uint64_t pipeline_instructions = 0u;
    int status = 0;

    if (argc != 2) {
        host_text_complain("usage: run AUDIO", NULL);
        return EXIT_USAGE;
    }
    host_text_init(&out, board_host_stdout());
    config = kws_pipeline_default_config;
    config.invoke = timed_invoke;
    if (kws_pipeline_init(&pipeline, &config, &kws_pipeline_default_buffers) != 0) {
        host_text_complain("run: kws_pipeline_init failed", NULL);
        return EXIT_PIPELINE;
    }
    host_text_str(&out, "run board=");
    host_text_str(&out, board_name());
    host_text_str(&out, " config=");
    host_text_str(&out, KWS_PIPELINE_CONFIG_JSON);
    host_text_end_line(&out);
    audio = board_host_open(argv[1], 0);
    if (audio < 0) {
        host_text_complain("run: cannot open ", argv[1]);
        return EXIT_USAGE;
    }
    /* Whole samples only: a trailing odd byte is dropped, as fread of int16 elements drops it. */
    while ((got = board_host_read(audio, hop, sizeof hop)) >= (int32_t)sizeof(int16_t)) {
        uint32_t count = (uint32_t)got / sizeof(int16_t);
        uint32_t start = board_counter_now();
        int result = kws_pipeline_process(&pipeline, hop, count, queue_event, NULL);

        pipeline_instructions += board_counter_to_instructions(board_counter_elapsed(start, board_counter_now()));
        samples += count;
        print_queue(&out);
        if (result != 0) {
            host_text_complain_number("run: pipeline status ", result, "");
            status = EXIT_PIPELINE;
            break;
        }
    }
    if (got < 0) {
        host_text_complain("run: cannot read ", argv[1]);
        status = EXIT_USAGE;
    }
    (void)board_host_close(audio);
    if (dropped != 0u) {
        host_text_complain_number("run: ", dropped, " events lost");
        status = EXIT_PIPELINE;
    }
    if (status == 0) {
        host_text_str(&out, "summary");
        print_field(&out, "samples", samples);
        print_field(&out, "frames", pipeline.frames);
        print_field(&out, "inferences", pipeline.inferences);
        print_field(&out, "pipeline_instructions", pipeline_instructions);
        print_field(&out, "model_instructions", model_instructions);
        print_field(&out, "model_max", model_max);
        host_text_end_line(&out);
    }
    return status;
}
