/*
 * kws_fully_connected_s8.c - FULLY_CONNECTED, equal to LiteRT's BUILTIN_REF kernel.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_internal.h"

int kws_fully_connected_s8(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    int32_t b, u, d;
    if (input == NULL || weights == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * p->depth;
        for (u = 0; u < p->units; ++u) {
            const int8_t *w = weights + (size_t)u * p->depth;
            const int32_t k = p->per_channel ? u : 0;
            int32_t acc = 0;
            for (d = 0; d < p->depth; ++d) acc = add32(acc, (int32_t)w[d] * ((int32_t)row[d] + p->input_offset));
            if (bias != NULL) acc = add32(acc, bias[u]);
            output[(size_t)b * p->units + u] =
                requantize(acc, p->multipliers[k], p->shifts[k], p->rounding, p->output_offset, p->act_min, p->act_max);
        }
    }
    return KWS_OK;
}
