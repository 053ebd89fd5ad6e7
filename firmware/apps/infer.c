/*
 * infer: the generated int8 model (kws_model.{h,c}, from kws.firmware.generate) on inputs from
 * the host, with the instruction count of every inference.
 *
 *   infer INPUT OUTPUT
 *
 * INPUT: N int8 input tensors of KWS_MODEL_INPUT_SIZE bytes each, back to back (a host file,
 * through semihosting). OUTPUT: the N int8 output tensors, KWS_MODEL_OUTPUT_SIZE bytes each.
 *
 * stdout, one line each:
 *   infer board=<board> input=<size> output=<size> arena=<bytes>
 *   inference <i> instructions <n>
 *   done inferences=<n>
 *
 * Exit status: 0 done, 2 bad arguments or host I/O error, 3 a kernel refused its parameters.
 */
#include <stdio.h>

#include "board.h"
#include "kws_model.h"

#define EXIT_USAGE 2
#define EXIT_KERNEL 3

static int8_t input[KWS_MODEL_INPUT_SIZE];
static int8_t output[KWS_MODEL_OUTPUT_SIZE];
static int8_t arena[KWS_MODEL_ARENA_SIZE];

int main(int argc, char **argv)
{
    FILE *in_file;
    FILE *out_file;
    uint32_t index = 0u;
    int status = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: infer INPUT OUTPUT\n");
        return EXIT_USAGE;
    }
    printf("infer board=%s input=%lu output=%lu arena=%lu\n", board_name(), (unsigned long)KWS_MODEL_INPUT_SIZE,
           (unsigned long)KWS_MODEL_OUTPUT_SIZE, (unsigned long)KWS_MODEL_ARENA_SIZE);
    in_file = fopen(argv[1], "rb");
    if (in_file == NULL) {
        fprintf(stderr, "infer: cannot open %s\n", argv[1]);
        return EXIT_USAGE;
    }
    out_file = fopen(argv[2], "wb");
    if (out_file == NULL) {
        fprintf(stderr, "infer: cannot create %s\n", argv[2]);
        fclose(in_file);
        return EXIT_USAGE;
    }
    while (fread(input, 1u, KWS_MODEL_INPUT_SIZE, in_file) == KWS_MODEL_INPUT_SIZE) {
        uint32_t start = board_counter_now();
        int result = kws_model_invoke(input, output, arena);
        uint32_t ticks = board_counter_elapsed(start, board_counter_now());

        if (result != 0) {
            fprintf(stderr, "infer: inference %lu: kernel status %d\n", (unsigned long)index, result);
            status = EXIT_KERNEL;
            break;
        }
        printf("inference %lu instructions %lu\n", (unsigned long)index,
               (unsigned long)board_counter_to_instructions(ticks));
        if (fwrite(output, 1u, KWS_MODEL_OUTPUT_SIZE, out_file) != KWS_MODEL_OUTPUT_SIZE) {
            fprintf(stderr, "infer: cannot write %s\n", argv[2]);
            status = EXIT_USAGE;
            break;
        }
        index++;
    }
    fclose(in_file);
    if (fclose(out_file) != 0 && status == 0) {
        fprintf(stderr, "infer: cannot write %s\n", argv[2]);
        status = EXIT_USAGE;
    }
    if (status == 0) {
        printf("done inferences=%lu\n", (unsigned long)index);
    }
    fflush(stdout);
    return status;
}
