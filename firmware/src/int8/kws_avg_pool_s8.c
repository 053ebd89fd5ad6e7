/*
 * kws_avg_pool_s8.c - AVERAGE_POOL_2D, equal to LiteRT's BUILTIN_REF kernel.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_internal.h"

int kws_avg_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output)
{
    int32_t b, oy, ox, c, y, x;
    const kws_dims in = p->input, out = p->output;
    if (input == NULL || output == NULL) return KWS_ERROR_ARGUMENT;
    for (b = 0; b < out.n; ++b) {
        for (oy = 0; oy < out.h; ++oy) {
            int32_t ys, ye, xs, xe;
            pool_window(oy, p->stride_h, p->pad_h, p->filter_h, in.h, &ys, &ye);
            for (ox = 0; ox < out.w; ++ox) {
                pool_window(ox, p->stride_w, p->pad_w, p->filter_w, in.w, &xs, &xe);
                const int32_t count = (ye - ys) * (xe - xs);
                if (count <= 0) return KWS_ERROR_ARGUMENT; /* the reference kernel fails here too */
                for (c = 0; c < in.c; ++c) {
                    int32_t sum = 0, average;
                    for (y = ys; y < ye; ++y)
                        for (x = xs; x < xe; ++x) sum += input[(((size_t)b * in.h + y) * in.w + x) * in.c + c];
                    /* C99 division truncates toward zero, as the reference kernel's does. */
                    average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + c] =
                        (int8_t)clamp32(average, p->act_min, p->act_max);
                }
            }
        }
    }
    return KWS_OK;
}
