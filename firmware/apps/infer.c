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
 * Text goes out through host_text (no stdio in the image).
 */
#include "board.h"
#include "host_text.h"
#include "kws_model.h"

#define EXIT_USAGE 2
#define EXIT_KERNEL 3

static int8_t input[KWS_MODEL_INPUT_SIZE];
static int8_t output[KWS_MODEL_OUTPUT_SIZE];
static int8_t arena[KWS_MODEL_ARENA_SIZE];

int main(int argc, char **argv)
{
    host_text out;
    int in_file;
    int out_file;
    uint32_t index = 0u;
    int status = 0;

    if (argc != 3) {
        host_text_complain("usage: infer INPUT OUTPUT", NULL);
        return EXIT_USAGE;
    }
    host_text_init(&out, board_host_stdout());
    host_text_str(&out, "infer board=");
    host_text_str(&out, board_name());
    host_text_str(&out, " input=");
    host_text_uint(&out, KWS_MODEL_INPUT_SIZE);
    host_text_str(&out, " output=");
    host_text_uint(&out, KWS_MODEL_OUTPUT_SIZE);
    host_text_str(&out, " arena=");
    host_text_uint(&out, KWS_MODEL_ARENA_SIZE);
    host_text_end_line(&out);
    in_file = board_host_open(argv[1], 0);
    if (in_file < 0) {
        host_text_complain("infer: cannot open ", argv[1]);
        return EXIT_USAGE;
    }
    out_file = board_host_open(argv[2], 1);
    if (out_file < 0) {
        host_text_complain("infer: cannot create ", argv[2]);
        (void)board_host_close(in_file);
        return EXIT_USAGE;
    }
    while (board_host_read(in_file, input, KWS_MODEL_INPUT_SIZE) == (int32_t)KWS_MODEL_INPUT_SIZE) {
        uint32_t start = board_counter_now();
        int result = kws_model_invoke(input, output, arena);
        uint32_t ticks = board_counter_elapsed(start, board_counter_now());

        if (result != 0) {
            host_text_complain_number("infer: kernel status ", result, "");
            status = EXIT_KERNEL;
            break;
        }
        host_text_str(&out, "inference ");
        host_text_uint(&out, index);
        host_text_str(&out, " instructions ");
        host_text_uint(&out, (uint32_t)board_counter_to_instructions(ticks));
        host_text_end_line(&out);
        if (board_host_write(out_file, output, KWS_MODEL_OUTPUT_SIZE) != 0) {
            host_text_complain("infer: cannot write ", argv[2]);
            status = EXIT_USAGE;
            break;
        }
        index++;
    }
    (void)board_host_close(in_file);
    if (board_host_close(out_file) != 0 && status == 0) {
        host_text_complain("infer: cannot write ", argv[2]);
        status = EXIT_USAGE;
    }
    if (status == 0) {
        host_text_str(&out, "done inferences=");
        host_text_uint(&out, index);
        host_text_end_line(&out);
    }
    return status;
}
