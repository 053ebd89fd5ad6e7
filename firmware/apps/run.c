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
 */
#include <stdio.h>

#include "board.h"
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

/* Events are queued by the callback and printed after the timed call, so that printf's cost
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

static void print_queue(void)
{
    uint32_t n;
    uint32_t i;

    for (n = 0u; n < queued; n++) {
        const kws_event *event = &queue[n].event;
        if (event->kind == KWS_EVENT_INFERENCE) {
            printf("inference %lu", (unsigned long)event->frame);
            for (i = 0u; i < KWS_N_LABELS; i++) {
                printf(" %d", (int)queue[n].scores[i]);
            }
            printf("\n");
        } else {
            printf("detection %lu %ld %ld %lu\n", (unsigned long)event->frame, (long)event->label,
                   (long)event->sum, (unsigned long)event->count);
        }
    }
    queued = 0u;
}

/* newlib-nano's printf has no %llu: a uint64_t in decimal. */
static const char *u64(uint64_t value, char buffer[21])
{
    char *p = buffer + 20;

    *p = '\0';
    do {
        *--p = (char)('0' + (int)(value % 10u));
        value /= 10u;
    } while (value != 0u);
    return p;
}

static kws_pipeline_config config;
static kws_pipeline_instance pipeline;
static int16_t hop[KWS_MFCC_HOP_LENGTH];

int main(int argc, char **argv)
{
    FILE *audio;
    size_t got;
    uint64_t samples = 0u;
    uint64_t pipeline_instructions = 0u;
    int status = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: run AUDIO\n");
        return EXIT_USAGE;
    }
    config = kws_pipeline_default_config;
    config.invoke = timed_invoke;
    if (kws_pipeline_init(&pipeline, &config, &kws_pipeline_default_buffers) != 0) {
        fprintf(stderr, "run: kws_pipeline_init failed\n");
        return EXIT_PIPELINE;
    }
    printf("run board=%s config=%s\n", board_name(), KWS_PIPELINE_CONFIG_JSON);
    audio = fopen(argv[1], "rb");
    if (audio == NULL) {
        fprintf(stderr, "run: cannot open %s\n", argv[1]);
        return EXIT_USAGE;
    }
    while ((got = fread(hop, sizeof(int16_t), KWS_MFCC_HOP_LENGTH, audio)) > 0u) {
        uint32_t start = board_counter_now();
        int result = kws_pipeline_process(&pipeline, hop, (uint32_t)got, queue_event, NULL);

        pipeline_instructions += board_counter_to_instructions(board_counter_elapsed(start, board_counter_now()));
        samples += got;
        print_queue();
        if (result != 0) {
            fprintf(stderr, "run: pipeline status %d after %lu samples\n", result, (unsigned long)samples);
            status = EXIT_PIPELINE;
            break;
        }
    }
    fclose(audio);
    if (dropped != 0u) {
        fprintf(stderr, "run: %lu events lost\n", (unsigned long)dropped);
        status = EXIT_PIPELINE;
    }
    if (status == 0) {
        char a[21], b[21], c[21], d[21];
        printf("summary samples=%s frames=%lu inferences=%lu pipeline_instructions=%s model_instructions=%s "
               "model_max=%s\n",
               u64(samples, a), (unsigned long)pipeline.frames, (unsigned long)pipeline.inferences,
               u64(pipeline_instructions, b), u64(model_instructions, c), u64(model_max, d));
    }
    fflush(stdout);
    return status;
}
