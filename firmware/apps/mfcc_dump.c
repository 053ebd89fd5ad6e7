/*
 * mfcc_dump: the MFCC frontend on raw audio from the host, frame by frame, with the
 * instruction count of every frame.
 *
 *   mfcc_dump [--whole] INPUT [OUTPUT]
 *
 * INPUT: raw int16 little-endian mono samples at the configured sample rate (a host file,
 * through semihosting). OUTPUT: the q8.7 int16 MFCC, n_mfcc values a frame, frame after frame,
 * raw little-endian; without it the values go to stdout as text.
 *
 * stdout, one line each:
 *   mfcc_dump board=<board> config=<MfccConfig JSON>
 *   frame <i> instructions <n>[ mfcc <c0> ... <c(n_mfcc-1)>]
 *   done frames=<n>
 * The default streams: it keeps one frame of samples, reads hop_length more per frame and
 * times each kws_frontend_process_frame() call. --whole reads the input into memory (at most
 * MFCC_DUMP_MAX_SECONDS) and makes one kws_frontend_process() call over it, timed as a whole:
 *   whole frames=<n> instructions=<n>
 *
 * Exit status: 0 done, 2 bad arguments or host I/O error, 3 a CMSIS-DSP error status.
 * Text goes out through host_text (no stdio in the image).
 */
#include <string.h>

#include "board.h"
#include "host_text.h"
#include "frontend_config.h"

#ifndef MFCC_DUMP_MAX_SECONDS
#define MFCC_DUMP_MAX_SECONDS 30
#endif
#define MAX_WHOLE_SAMPLES ((uint32_t)KWS_MFCC_SAMPLE_RATE * MFCC_DUMP_MAX_SECONDS)
#define MAX_WHOLE_FRAMES                                                                        \
    (MAX_WHOLE_SAMPLES < KWS_MFCC_FRAME_LENGTH                                                  \
         ? 0u                                                                                   \
         : 1u + (MAX_WHOLE_SAMPLES - KWS_MFCC_FRAME_LENGTH) / KWS_MFCC_HOP_LENGTH)

#define EXIT_USAGE 2
#define EXIT_DSP 3


static kws_frontend_instance frontend;
static q15_t frame_buffer[KWS_FRONTEND_FRAME_BUFFER_LENGTH(KWS_MFCC_FFT_LENGTH)] __attribute__((aligned(4)));
static q31_t tmp_buffer[KWS_FRONTEND_TMP_BUFFER_LENGTH(KWS_MFCC_FFT_LENGTH)];
static const kws_frontend_scratch scratch = {frame_buffer, tmp_buffer};

static q15_t samples[KWS_MFCC_FRAME_LENGTH]; /* streaming: the current frame */
static q15_t whole_samples[MAX_WHOLE_SAMPLES];
static q15_t whole_mfcc[MAX_WHOLE_FRAMES * KWS_MFCC_N_MFCC];

static host_text out;

/* Reads up to count samples; returns how many it got (whole samples: a read error or a trailing
 * odd byte counts as the end of the input, as fread of int16 elements has it). */
static uint32_t read_samples(int input, q15_t *destination, uint32_t count)
{
    int32_t got = board_host_read(input, destination, count * (uint32_t)sizeof(q15_t));
    return got < 0 ? 0u : (uint32_t)got / (uint32_t)sizeof(q15_t);
}

/* output < 0: the coefficients as text on stdout, else raw to that host file. */
static int emit_frame(int output, uint32_t index, uint32_t instructions, const q15_t *mfcc)
{
    uint32_t k;

    host_text_str(&out, "frame ");
    host_text_uint(&out, index);
    host_text_str(&out, " instructions ");
    host_text_uint(&out, instructions);
    if (output >= 0) {
        host_text_end_line(&out);
        return board_host_write(output, mfcc, KWS_MFCC_N_MFCC * (uint32_t)sizeof(q15_t));
    }
    host_text_str(&out, " mfcc");
    for (k = 0u; k < KWS_MFCC_N_MFCC; k++) {
        host_text_str(&out, " ");
        host_text_int(&out, mfcc[k]);
    }
    host_text_end_line(&out);
    return 0;
}

static void print_done(uint32_t frames)
{
    host_text_str(&out, "done frames=");
    host_text_uint(&out, frames);
    host_text_end_line(&out);
}

static int run_streaming(int input, int output)
{
    const uint32_t frame_length = KWS_MFCC_FRAME_LENGTH;
    const uint32_t hop_length = KWS_MFCC_HOP_LENGTH;
    q15_t mfcc[KWS_MFCC_N_MFCC];
    uint32_t index = 0u;
    int have_frame = read_samples(input, samples, frame_length) == frame_length;

    while (have_frame) {
        uint32_t start = board_counter_now();
        arm_status status = kws_frontend_process_frame(&frontend, samples, mfcc, &scratch);
        uint32_t ticks = board_counter_elapsed(start, board_counter_now());

        if (status != ARM_MATH_SUCCESS) {
            host_text_complain_number("mfcc_dump: CMSIS-DSP status ", status, "");
            return EXIT_DSP;
        }
        if (emit_frame(output, index, (uint32_t)board_counter_to_instructions(ticks), mfcc) != 0) {
            host_text_complain("mfcc_dump: cannot write the output file", NULL);
            return EXIT_USAGE;
        }
        index++;
        /* The next frame starts hop_length samples later. */
        if (hop_length < frame_length) {
            const uint32_t kept = frame_length - hop_length;
            memmove(samples, samples + hop_length, kept * sizeof(q15_t));
            have_frame = read_samples(input, samples + kept, hop_length) == hop_length;
        } else {
            /* A gap between frames: skip it, then read a whole frame. */
            uint32_t gap = hop_length - frame_length;
            have_frame = 1;
            while (gap > 0u && have_frame) {
                uint32_t chunk = gap < frame_length ? gap : frame_length;
                have_frame = read_samples(input, samples, chunk) == chunk;
                gap -= chunk;
            }
            have_frame = have_frame && read_samples(input, samples, frame_length) == frame_length;
        }
    }
    print_done(index);
    return 0;
}

static int run_whole(int input, int output)
{
    uint32_t n_samples = read_samples(input, whole_samples, MAX_WHOLE_SAMPLES);
    uint32_t n_frames = 0u;
    uint32_t start;
    uint32_t ticks;
    uint32_t i;
    arm_status status;
    q15_t extra;

    if (n_samples == MAX_WHOLE_SAMPLES && read_samples(input, &extra, 1u) == 1u) {
        host_text_complain_number("mfcc_dump: --whole takes at most ", MAX_WHOLE_SAMPLES, " samples");
        return EXIT_USAGE;
    }
    start = board_counter_now();
    status = kws_frontend_process(&frontend, whole_samples, n_samples, whole_mfcc, &n_frames, &scratch);
    ticks = board_counter_elapsed(start, board_counter_now());
    if (status != ARM_MATH_SUCCESS) {
        host_text_complain_number("mfcc_dump: CMSIS-DSP status ", status, "");
        return EXIT_DSP;
    }
    host_text_str(&out, "whole frames=");
    host_text_uint(&out, n_frames);
    host_text_str(&out, " instructions=");
    host_text_uint(&out, (uint32_t)board_counter_to_instructions(ticks));
    host_text_end_line(&out);
    for (i = 0u; i < n_frames; i++) {
        /* Per-frame counts are not measured in this mode: 0. */
        if (emit_frame(output, i, 0u, whole_mfcc + (size_t)i * KWS_MFCC_N_MFCC) != 0) {
            host_text_complain("mfcc_dump: cannot write the output file", NULL);
            return EXIT_USAGE;
        }
    }
    print_done(n_frames);
    return 0;
}

int main(int argc, char **argv)
{
    const char *input_name = NULL;
    const char *output_name = NULL;
    int input;
    int output = -1;
    int whole = 0;
    int i;
    int status;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--whole") == 0) {
            whole = 1;
        } else if (input_name == NULL) {
            input_name = argv[i];
        } else if (output_name == NULL) {
            output_name = argv[i];
        } else {
            input_name = NULL; /* too many arguments */
            break;
        }
    }
    if (input_name == NULL) {
        host_text_complain("usage: mfcc_dump [--whole] INPUT [OUTPUT]", NULL);
        return EXIT_USAGE;
    }
    host_text_init(&out, board_host_stdout());
    host_text_str(&out, "mfcc_dump board=");
    host_text_str(&out, board_name());
    host_text_str(&out, " config=");
    host_text_str(&out, KWS_MFCC_CONFIG_JSON);
    host_text_end_line(&out);

    if (kws_frontend_init(&frontend, &config) != ARM_MATH_SUCCESS) {
        host_text_complain("mfcc_dump: kws_frontend_init rejected the configuration", NULL);
        return EXIT_DSP;
    }
    input = board_host_open(input_name, 0);
    if (input < 0) {
        host_text_complain("mfcc_dump: cannot open ", input_name);
        return EXIT_USAGE;
    }
    if (output_name != NULL) {
        output = board_host_open(output_name, 1);
        if (output < 0) {
            host_text_complain("mfcc_dump: cannot create ", output_name);
            (void)board_host_close(input);
            return EXIT_USAGE;
        }
    }
    status = whole ? run_whole(input, output) : run_streaming(input, output);
    (void)board_host_close(input);
    if (output >= 0 && board_host_close(output) != 0 && status == 0) {
        host_text_complain("mfcc_dump: cannot write ", output_name);
        status = EXIT_USAGE;
    }
    return status;
}
