/*
 * kws_int8_params.c - the kernels' parameter structs from a layer's shapes and options
 * (TFLite's output size and padding); see kws_int8_ops.h. The generated models fill them at
 * generation time, so these are for hosts and hand-written callers.
 */
#include "kws_int8_internal.h"

int32_t kws_output_size(kws_padding padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation)
{
    const int32_t effective = (filter - 1) * dilation + 1;
    if (stride <= 0) return 0;
    if (padding == KWS_PADDING_SAME) return (in + stride - 1) / stride;
    return (in - effective + stride) / stride;
}

int32_t kws_leading_padding(int32_t in, int32_t out, int32_t filter, int32_t stride, int32_t dilation)
{
    const int32_t effective = (filter - 1) * dilation + 1;
    const int32_t total = (out - 1) * stride + effective - in;
    return total > 0 ? total / 2 : 0;
}

static int fill_conv(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t out_c, int32_t depth_multiplier,
                     int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, kws_padding padding,
                     int32_t input_zero_point, int32_t output_zero_point, int32_t act_min, int32_t act_max,
                     const int32_t *multipliers, const int32_t *shifts)
{
    if (p == NULL || stride_h <= 0 || stride_w <= 0 || dilation_h <= 0 || dilation_w <= 0 || multipliers == NULL ||
        shifts == NULL || act_min > act_max)
        return KWS_ERROR_ARGUMENT;
    p->input = input;
    p->filter = filter;
    p->output.n = input.n;
    p->output.h = kws_output_size(padding, input.h, filter.h, stride_h, dilation_h);
    p->output.w = kws_output_size(padding, input.w, filter.w, stride_w, dilation_w);
    p->output.c = out_c;
    if (p->output.h <= 0 || p->output.w <= 0) return KWS_ERROR_ARGUMENT;
    p->stride_h = stride_h;
    p->stride_w = stride_w;
    p->dilation_h = dilation_h;
    p->dilation_w = dilation_w;
    p->pad_h = padding == KWS_PADDING_SAME
                   ? kws_leading_padding(input.h, p->output.h, filter.h, stride_h, dilation_h) : 0;
    p->pad_w = padding == KWS_PADDING_SAME
                   ? kws_leading_padding(input.w, p->output.w, filter.w, stride_w, dilation_w) : 0;
    p->depth_multiplier = depth_multiplier;
    p->input_offset = -input_zero_point;
    p->output_offset = output_zero_point;
    p->act_min = act_min;
    p->act_max = act_max;
    p->multipliers = multipliers;
    p->shifts = shifts;
    p->rounding = KWS_ROUNDING_DOUBLE;
    return KWS_OK;
}

int kws_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t stride_h, int32_t stride_w,
                  int32_t dilation_h, int32_t dilation_w, kws_padding padding, int32_t input_zero_point,
                  int32_t output_zero_point, int32_t act_min, int32_t act_max, const int32_t *multipliers,
                  const int32_t *shifts)
{
    if (filter.c != input.c) return KWS_ERROR_ARGUMENT;
    return fill_conv(p, input, filter, filter.n, 1, stride_h, stride_w, dilation_h, dilation_w, padding,
                     input_zero_point, output_zero_point, act_min, act_max, multipliers, shifts);
}

int kws_depthwise_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t depth_multiplier,
                            int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                            kws_padding padding, int32_t input_zero_point, int32_t output_zero_point,
                            int32_t act_min, int32_t act_max, const int32_t *multipliers, const int32_t *shifts)
{
    if (depth_multiplier <= 0 || filter.n != 1 || filter.c != input.c * depth_multiplier) return KWS_ERROR_ARGUMENT;
    return fill_conv(p, input, filter, filter.c, depth_multiplier, stride_h, stride_w, dilation_h, dilation_w,
                     padding, input_zero_point, output_zero_point, act_min, act_max, multipliers, shifts);
}

int kws_avg_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max)
{
    if (p == NULL || filter_h <= 0 || filter_w <= 0 || stride_h <= 0 || stride_w <= 0 || act_min > act_max)
        return KWS_ERROR_ARGUMENT;
    p->input = input;
    p->output.n = input.n;
    p->output.h = kws_output_size(padding, input.h, filter_h, stride_h, 1);
    p->output.w = kws_output_size(padding, input.w, filter_w, stride_w, 1);
    p->output.c = input.c;
    if (p->output.h <= 0 || p->output.w <= 0) return KWS_ERROR_ARGUMENT;
    p->filter_h = filter_h;
    p->filter_w = filter_w;
    p->stride_h = stride_h;
    p->stride_w = stride_w;
    p->pad_h = padding == KWS_PADDING_SAME ? kws_leading_padding(input.h, p->output.h, filter_h, stride_h, 1) : 0;
    p->pad_w = padding == KWS_PADDING_SAME ? kws_leading_padding(input.w, p->output.w, filter_w, stride_w, 1) : 0;
    p->act_min = act_min;
    p->act_max = act_max;
    return KWS_OK;
}

int kws_max_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max)
{
    return kws_avg_pool_init(p, input, filter_h, filter_w, stride_h, stride_w, padding, act_min, act_max);
}
