/*
 * kws_conv_im2col_s8_dsp.c - CONV_2D through im2col, with the DSP extension and caller-owned
 * scratch; integer-for-integer equal to the plain kernel. What it is for: filters whose rows are
 * short runs of int8 (DS-CNN's first layer, 10x4 over one channel: rows of 4 bytes at any
 * offset, a third of its pixels cut by the padding), which kws_conv_s8_dsp walks row by row.
 *
 * Each output pixel's window is copied into one row of a matrix in scratch, [fh][fw][c] like the
 * filters, taps outside the input holding the input's zero point. A padded tap then adds
 * w * (zero point + offset) = 0, exactly what the reference's skipping adds, so every pixel is a
 * whole window and the offset folds out as offset * sum(w) (kws_dsp_conv_gemm). The convolution is
 * then the same matrix product as the pointwise layers: the assembler SMLAD loop over two rows x
 * two filters and the requantisation of kws_rqf where the layer allows it.
 *
 * Scratch: rows of the matrix, as many as fit (at least two); fewer than all pixels is done in
 * chunks of pixels (the per-channel set-up is repeated per chunk). Any shape, any dilation; a
 * layer outside the DSP kernels' preconditions (kws_conv_s8_dsp), an input zero point outside
 * int8, or too little scratch runs on kws_conv_s8_dsp: the same integers whichever runs.
 */
#include "kws_int8_dsp_internal.h"

static int im2col_shape_ok(const kws_conv_params *p)
{
    return p != NULL && p->filter.c == p->input.c && p->depth_multiplier == 1 && p->stride_h >= 1 &&
           p->stride_w >= 1 && p->dilation_h >= 1 && p->dilation_w >= 1 && p->filter.h > 0 && p->filter.w > 0 &&
           p->filter.c > 0 && p->output.n > 0 && p->output.h > 0 && p->output.w > 0 && p->output.c > 0;
}

/* The whole matrix (every pixel's window) and 3 bytes to align it; 0 for a shape it cannot take. */
int32_t kws_conv_im2col_s8_dsp_scratch_size(const kws_conv_params *p)
{
    if (!im2col_shape_ok(p)) return 0;
    return p->output.n * p->output.h * p->output.w * p->filter.h * p->filter.w * p->filter.c + 3;
}

#if !KWS_USE_DSP

int kws_conv_im2col_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    (void)scratch;
    (void)scratch_size;
    return kws_conv_s8_dsp(p, input, filter, bias, output);
}

#else /* KWS_USE_DSP */

/* n bytes from src to dst (either unaligned), a word at a time. */
static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        const int32_t v = load4(src);
        memcpy(dst, &v, sizeof v);
    }
    for (; n > 0; --n) *dst++ = *src++;
}

/* n bytes of the zero point (zp4: four copies of it). */
static inline void fill_bytes(int8_t *dst, int32_t zp4, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4) memcpy(dst, &zp4, sizeof zp4);
    for (; n > 0; --n) *dst++ = (int8_t)zp4;
}

/* The window of output pixel (b, oy, ox) into one matrix row ([fh][fw][c], padding = zp): the
 * filter rows above and below the input as one fill each, each valid row as its valid run. */
static void im2col_row(const kws_conv_params *p, const int8_t *input, int32_t b, int32_t oy, int32_t ox, int32_t zp4,
                       int8_t *row)
{
    const kws_dims in = p->input, f = p->filter;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w, run = f.w * f.c;
    const size_t step = (size_t)p->dilation_h * in.w * in.c;
    const int8_t *src = input;
    int32_t fy, fx, fy0, fy1, fx0, fx1;
    valid_taps(y0, p->dilation_h, f.h, in.h, &fy0, &fy1);
    valid_taps(x0, p->dilation_w, f.w, in.w, &fx0, &fx1);
    if (fx0 >= fx1) fy1 = fy0; /* no column inside: every row padding */
    fill_bytes(row, zp4, fy0 * run);
    row += fy0 * run;
    if (fy0 < fy1) /* the first valid tap of the first valid row */
        src = input + (((size_t)b * in.h + (y0 + fy0 * p->dilation_h)) * in.w + (x0 + fx0 * p->dilation_w)) * in.c;
    for (fy = fy0; fy < fy1; ++fy, row += run, src += step) {
        if (p->dilation_w == 1) { /* the valid taps are one run of the input row */
            fill_bytes(row, zp4, fx0 * f.c);
            copy_bytes(row + fx0 * f.c, src, (fx1 - fx0) * f.c);
            fill_bytes(row + fx1 * f.c, zp4, (f.w - fx1) * f.c);
        } else {
            for (fx = 0; fx < f.w; ++fx) {
                if (fx < fx0 || fx >= fx1)
                    fill_bytes(row + fx * f.c, zp4, f.c);
                else
                    copy_bytes(row + fx * f.c, src + (size_t)(fx - fx0) * p->dilation_w * in.c, f.c);
            }
        }
    }
    fill_bytes(row, zp4, (f.h - fy1) * run);
}

int kws_conv_im2col_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int8_t *matrix;
    int32_t depth, pixels, chunk, zp, zp4, q, b = 0, oy = 0, ox = 0;
    if (!im2col_shape_ok(p) || scratch == NULL || input == NULL || filter == NULL || output == NULL)
        return kws_conv_s8_dsp(p, input, filter, bias, output);
    depth = p->filter.h * p->filter.w * p->filter.c;
    pixels = p->output.n * p->output.h * p->output.w;
    matrix = (int8_t *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
    chunk = (scratch_size - (int32_t)(matrix - (int8_t *)scratch)) / depth;
    zp = -p->input_offset;
    if (chunk < (pixels < 2 ? pixels : 2) || zp < -128 || zp > 127 || !offset_fits(p->input_offset) ||
        p->rounding != KWS_ROUNDING_DOUBLE || !kws_dsp_conv_bound_ok(p, filter, bias))
        return kws_conv_s8_dsp(p, input, filter, bias, output);
    if (chunk > pixels) chunk = pixels;
    zp4 = (int32_t)(((uint32_t)zp & 0xFFu) * 0x01010101u);
    for (q = 0; q < pixels; q += chunk) {
        const int32_t rows = pixels - q < chunk ? pixels - q : chunk;
        int32_t r;
        for (r = 0; r < rows; ++r) {
            im2col_row(p, input, b, oy, ox, zp4, matrix + (size_t)r * depth);
            if (++ox == p->output.w) {
                ox = 0;
                if (++oy == p->output.h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        kws_dsp_conv_gemm(p, matrix, rows, depth, filter, bias, output + (size_t)q * p->output.c);
    }
    return KWS_OK;
}

#endif /* KWS_USE_DSP */
