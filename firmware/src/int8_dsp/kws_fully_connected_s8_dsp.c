/*
 * kws_fully_connected_s8_dsp.c - FULLY_CONNECTED with the DSP extension, integer-for-integer
 * equal to the plain kernel. See kws_int8_ops_dsp.h for what is specialised,
 * kws_int8_dsp_internal.h for how.
 */
#include "kws_int8_dsp_internal.h"

#if !KWS_USE_DSP

/* No DSP extension: the plain kernel. */
int kws_fully_connected_s8_dsp(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output)
{
    return kws_fully_connected_s8(p, input, weights, bias, output);
}

#else /* KWS_USE_DSP */

/* One input row x two filters, offset added: the fully-connected inner loop. */
static inline __attribute__((always_inline)) void mac_1x2(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                                           int32_t n, int32_t offset, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1], i;
    const int32_t off2 = lanes2(offset);
    for (i = n >> 2; i > 0; --i) {
        const int32_t vx = load4(x), u = load4(w0), v = load4(w1);
        const int32_t x02 = __sadd16(__sxtb16(vx), off2), x13 = __sadd16(sxtb16_ror8(vx), off2);
        x += 4;
        w0 += 4;
        w1 += 4;
        a0 = __smlad(x02, __sxtb16(u), a0);
        a0 = __smlad(x13, sxtb16_ror8(u), a0);
        a1 = __smlad(x02, __sxtb16(v), a1);
        a1 = __smlad(x13, sxtb16_ror8(v), a1);
    }
    for (i = n & 3; i > 0; --i) {
        const int32_t xv = *x++ + offset;
        a0 = wadd(a0, xv * *w0++);
        a1 = wadd(a1, xv * *w1++);
    }
    acc[0] = a0;
    acc[1] = a1;
}


/* ------------------------------------------------------------------ FULLY_CONNECTED */

int kws_fully_connected_s8_dsp(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output)
{
    int32_t b, u;
    if (p == NULL || input == NULL || weights == NULL || output == NULL || !offset_fits(p->input_offset))
        return kws_fully_connected_s8(p, input, weights, bias, output);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * p->depth;
        for (u = 0; u < p->units; u += 2) {
            const int two = u + 1 < p->units;
            const int32_t u1 = two ? u + 1 : u;
            const int8_t *w0 = weights + (size_t)u * p->depth;
            const int8_t *w1 = weights + (size_t)u1 * p->depth;
            const int32_t k0 = p->per_channel ? u : 0, k1 = p->per_channel ? u1 : 0;
            int32_t acc[2];
            acc[0] = bias != NULL ? bias[u] : 0;
            acc[1] = bias != NULL ? bias[u1] : 0;
            mac_1x2(row, w0, w1, p->depth, p->input_offset, acc);
            output[(size_t)b * p->units + u] = requantize(acc[0], p->multipliers[k0], p->shifts[k0], p->rounding,
                                                          p->output_offset, p->act_min, p->act_max);
            if (two)
                output[(size_t)b * p->units + u1] = requantize(acc[1], p->multipliers[k1], p->shifts[k1],
                                                               p->rounding, p->output_offset, p->act_min, p->act_max);
        }
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
