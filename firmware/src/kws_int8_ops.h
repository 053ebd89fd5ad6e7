/*
 * kws_int8_ops.h - plain-C99 reference int8 kernels for the keyword-spotting network.
 *
 * Integer-for-integer equal to LiteRT's BUILTIN_REF kernels (TFLite int8 quantisation spec):
 * CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, FULLY_CONNECTED and SOFTMAX.
 * tests/test_int8_kernels.py checks each against the reference kernels' own tensors on the
 * shipped model. The kernels are in src/int8/, one per file (the *_init helpers in
 * kws_int8_params.c).
 *
 * CMSIS style: a parameter struct per layer is filled once at init (the *_init helpers work
 * out output sizes and SAME/VALID padding); the caller owns every buffer; nothing allocates.
 * Tensors are NHWC int8. Weights are int8 with zero point 0, one (multiplier, shift) pair per
 * output channel (FULLY_CONNECTED may use one pair for all units), biases int32.
 * Requantisation by (multiplier, shift), multiplier in [2^30, 2^31) and shift in [-31, 30] as
 * TFLite's QuantizeMultiplier gives them, in one of two roundings, per layer (measured against
 * LiteRT on the default model, tests/test_int8_kernels.py):
 *   KWS_ROUNDING_DOUBLE: gemmlowp's two steps, RoundingDivideByPOT(SRDHM(acc << max(shift, 0),
 *     multiplier), max(-shift, 0)); what LiteRT's reference CONV_2D and DEPTHWISE_CONV_2D give.
 *     The *_conv_init helpers select it.
 *   KWS_ROUNDING_SINGLE: (int64 acc * multiplier + 2^(30 - shift)) >> (31 - shift); what
 *     LiteRT's FULLY_CONNECTED gives.
 * Activation ranges (act_min, act_max) already include the output zero point and any fused
 * ReLU / ReLU6; the host computes them (kws/firmware/tflite_graph.py).
 *
 * Assumes two's-complement int32 with arithmetic right shift of negative values (true of
 * gcc/clang on every target the firmware builds for).
 */
#ifndef KWS_INT8_OPS_H
#define KWS_INT8_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t n, h, w, c;
} kws_dims;

typedef enum { KWS_PADDING_VALID = 0, KWS_PADDING_SAME = 1 } kws_padding;

typedef enum { KWS_ROUNDING_DOUBLE = 0, KWS_ROUNDING_SINGLE = 1 } kws_rounding;

enum { KWS_OK = 0, KWS_ERROR_ARGUMENT = -1 };

/* CONV_2D and DEPTHWISE_CONV_2D. filter is [out_c, fh, fw, in_c] for CONV_2D and
 * [1, fh, fw, in_c * depth_multiplier] for DEPTHWISE_CONV_2D. */
typedef struct {
    kws_dims input, filter, output;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;          /* leading padding (top, left) */
    int32_t depth_multiplier;      /* DEPTHWISE_CONV_2D only; 1 for CONV_2D */
    int32_t input_offset;          /* -input zero point */
    int32_t output_offset;         /* +output zero point */
    int32_t act_min, act_max;
    const int32_t *multipliers;    /* [output.c] */
    const int32_t *shifts;         /* [output.c] */
    int32_t rounding;              /* kws_rounding; KWS_ROUNDING_DOUBLE after init */
} kws_conv_params;

typedef struct {
    kws_dims input, output;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;
} kws_pool_params;

typedef struct {
    int32_t batches, depth, units;  /* input [batches, depth], weights [units, depth] */
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;            /* 1: multipliers/shifts hold `units` pairs; 0: one pair */
    const int32_t *multipliers;
    const int32_t *shifts;
    int32_t rounding;               /* kws_rounding; LiteRT's FULLY_CONNECTED: KWS_ROUNDING_SINGLE */
} kws_fc_params;

/* int8 in/out, output scale 1/256 and zero point -128; parameters from the host
 * (kws.int8_reference.softmax_parameters). */
typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} kws_softmax_params;

/* Output extent and leading padding of one spatial dimension, as TFLite computes them. */
int32_t kws_output_size(kws_padding padding, int32_t in, int32_t filter, int32_t stride, int32_t dilation);
int32_t kws_leading_padding(int32_t in, int32_t out, int32_t filter, int32_t stride, int32_t dilation);

/* Fill p; output dims are computed (output.c = filter.n for CONV_2D, filter.c for depthwise). */
int kws_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t stride_h, int32_t stride_w,
                  int32_t dilation_h, int32_t dilation_w, kws_padding padding, int32_t input_zero_point,
                  int32_t output_zero_point, int32_t act_min, int32_t act_max, const int32_t *multipliers,
                  const int32_t *shifts);
int kws_depthwise_conv_init(kws_conv_params *p, kws_dims input, kws_dims filter, int32_t depth_multiplier,
                            int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
                            kws_padding padding, int32_t input_zero_point, int32_t output_zero_point,
                            int32_t act_min, int32_t act_max, const int32_t *multipliers, const int32_t *shifts);
int kws_avg_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max);
/* Same parameters for MAX_POOL_2D (kws_avg_pool_init fills them; this is the same function). */
int kws_max_pool_init(kws_pool_params *p, kws_dims input, int32_t filter_h, int32_t filter_w, int32_t stride_h,
                      int32_t stride_w, kws_padding padding, int32_t act_min, int32_t act_max);

/* The two requantisations (see above). */
int32_t kws_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
int32_t kws_multiply_by_quantized_multiplier_double(int32_t x, int32_t multiplier, int32_t shift);

int kws_conv_s8(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                int8_t *output);
int kws_depthwise_conv_s8(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, int8_t *output);
int kws_avg_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output);
/* MAX_POOL_2D: the maximum over the window's positions inside the input (padding excluded),
 * clamped to [act_min, act_max]; input and output share one quantisation. */
int kws_max_pool_s8(const kws_pool_params *p, const int8_t *input, int8_t *output);
int kws_fully_connected_s8(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output);
int kws_softmax_s8(const kws_softmax_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* KWS_INT8_OPS_H */
