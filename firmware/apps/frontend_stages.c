/*
 * frontend_stages: each stage of the MFCC frontend (firmware/src/frontend/) alone, on inputs from
 * the host, so that tests compare every stage with its CMSIS-DSP reference (the cmsisdsp Python
 * binding) on many inputs, not only the whole frame.
 *
 *   frontend_stages STAGE INPUT OUTPUT
 *
 * Raw little-endian records in, records out, as many as INPUT holds:
 *   window  in: frame_length int16 samples    out: fft_length int16 (the windowed frame), int16 peak
 *   rfft    in: fft_length int16 (a frame)     out: (fft_length/2 + 1) x [re, im] int16, every bin
 *   mag     in: [re, im] int16                 out: int16 magnitude (q2.14)
 *   vlog    in: int32 (q31)                    out: int32 natural log (q5.26)
 *   logmel  in: n_mels int32 energies, int32 peak    out: n_mels int16 (q8.7)
 * The sizes are the generated tables' (kws_mfcc_tables.h). stdout: "frontend_stages STAGE
 * records=N". Exit status: 0 done, 2 bad arguments, I/O error or a partial record.
 */
#include <stdio.h>
#include <string.h>

#include "frontend_config.h"

#define EXIT_USAGE 2
#define EXIT_DSP 3
#define FFT KWS_MFCC_FFT_LENGTH
#define BINS (FFT / 2 + 1)
#define N_MELS KWS_MFCC_N_MELS
#define CHUNK 256u


static kws_frontend_instance frontend; /* for its real-FFT tables */
static q15_t samples[KWS_MFCC_FRAME_LENGTH];
static q15_t frame[FFT] __attribute__((aligned(4)));
static q15_t spectrum[2 * BINS] __attribute__((aligned(4)));
static q31_t energies[N_MELS + 1];
static q15_t q15_out[CHUNK > N_MELS ? CHUNK : N_MELS];
static q31_t q31_in[CHUNK], q31_out[CHUNK];
static q15_t pairs[2 * CHUNK] __attribute__((aligned(4)));

/* Reads up to `count` items of `size` bytes: how many, or -1 for a partial item. */
static long read_items(FILE *f, void *buffer, size_t size, size_t count)
{
    size_t bytes = fread(buffer, 1, size * count, f);
    return bytes % size == 0u ? (long)(bytes / size) : -1;
}

static int write_all(FILE *f, const void *buffer, size_t bytes)
{
    return fwrite(buffer, 1, bytes, f) == bytes ? 0 : -1;
}

/* Runs `stage` over every record of `in`; returns 0, or -1 for an I/O error or a partial record. */
static int run(const char *stage, FILE *in, FILE *out, unsigned long *records)
{
    long n;

    if (strcmp(stage, "window") == 0) {
        while ((n = read_items(in, samples, sizeof samples, 1u)) == 1) {
            const q15_t peak = kws_normalise_window_q15(samples, KWS_MFCC_FRAME_LENGTH, kws_mfcc_window, frame, FFT);
            if (write_all(out, frame, sizeof frame) != 0 || write_all(out, &peak, sizeof peak) != 0) {
                return -1;
            }
            ++*records;
        }
    } else if (strcmp(stage, "rfft") == 0) {
        while ((n = read_items(in, frame, sizeof frame, 1u)) == 1) {
            kws_rfft_bins_q15(&frontend.rfft, frame, 0u, BINS, spectrum);
            if (write_all(out, spectrum, sizeof spectrum) != 0) {
                return -1;
            }
            ++*records;
        }
    } else if (strcmp(stage, "mag") == 0) {
        while ((n = read_items(in, pairs, 2u * sizeof(q15_t), CHUNK)) > 0) {
            kws_cmplx_mag_q15(pairs, q15_out, (uint32_t)n);
            if (write_all(out, q15_out, (size_t)n * sizeof(q15_t)) != 0) {
                return -1;
            }
            *records += (unsigned long)n;
        }
    } else if (strcmp(stage, "vlog") == 0) {
        while ((n = read_items(in, q31_in, sizeof(q31_t), CHUNK)) > 0) {
            kws_vlog_q31(q31_in, q31_out, (uint32_t)n);
            if (write_all(out, q31_out, (size_t)n * sizeof(q31_t)) != 0) {
                return -1;
            }
            *records += (unsigned long)n;
        }
    } else if (strcmp(stage, "logmel") == 0) {
        while ((n = read_items(in, energies, sizeof energies, 1u)) == 1) {
            kws_log_mel_q15(energies, (q15_t)energies[N_MELS], FFT, q15_out, N_MELS);
            if (write_all(out, q15_out, N_MELS * sizeof(q15_t)) != 0) {
                return -1;
            }
            ++*records;
        }
    } else {
        return -2;
    }
    return n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    unsigned long records = 0ul;
    int status;

    if (argc != 4) {
        fprintf(stderr, "usage: frontend_stages window|rfft|mag|vlog|logmel INPUT OUTPUT\n");
        return EXIT_USAGE;
    }
    if (kws_frontend_init(&frontend, &config) != ARM_MATH_SUCCESS) {
        fprintf(stderr, "frontend_stages: kws_frontend_init rejected the configuration\n");
        return EXIT_DSP;
    }
    in = fopen(argv[2], "rb");
    if (in == NULL) {
        fprintf(stderr, "frontend_stages: cannot open %s\n", argv[2]);
        return EXIT_USAGE;
    }
    out = fopen(argv[3], "wb");
    if (out == NULL) {
        fprintf(stderr, "frontend_stages: cannot create %s\n", argv[3]);
        fclose(in);
        return EXIT_USAGE;
    }
    status = run(argv[1], in, out, &records);
    fclose(in);
    if (fclose(out) != 0 && status == 0) {
        status = -1;
    }
    if (status != 0) {
        fprintf(stderr, "frontend_stages: %s\n", status == -2 ? "unknown stage" : "I/O error or a partial record");
        return EXIT_USAGE;
    }
    printf("frontend_stages %s records=%lu\n", argv[1], records);
    return 0;
}
