/*
 * kws_max_pool_s8.c - MAX_POOL_2D, equal to LiteRT's BUILTIN_REF kernel.
 * See kws_int8_ops.h for the conventions.
 */
#include "kws_int8_internal.h"

int kws_max_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output)
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
                for (c = 0; c < in.c; ++c) {
                    /* An empty window gives -128 before the clamp, as the reference kernel does. */
                    int32_t max = -128;
                    for (y = ys; y < ye; ++y) {
                        for (x = xs; x < xe; ++x) {
                            const int32_t v = input[(((size_t)b * in.h + y) * in.w + x) * in.c + c];
                            if (v > max) max = v;
                        }
                    }
                    output[(((size_t)b * out.h + oy) * out.w + ox) * out.c + c] =
                        (int8_t)clamp32(max, p->act_min, p->act_max);
                }
            }
        }
    }
    return KWS_OK;
}
