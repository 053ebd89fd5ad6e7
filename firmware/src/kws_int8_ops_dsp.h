/*
 * kws_int8_ops_dsp.h - int8 kernels for Cortex-M cores with the DSP extension (Cortex-M4/M7/M33
 * with DSP), integer-for-integer equal to the plain-C reference kernels of kws_int8_ops.h (and so
 * to LiteRT's BUILTIN_REF kernels).
 *
 * Same signatures, parameter structs and conventions as the plain kernels; a generated model
 * switches by calling the *_dsp names (kws.firmware.generate, kernels="dsp"). The kernels are in
 * src/int8_dsp/, one per file. All but kws_depthwise_3x3_s8_dsp and kws_conv_im2col_s8_dsp need
 * no scratch memory: int8 operands are widened in
 * registers (SXTB16), the input offset is added in registers (SADD16) or folded into the
 * accumulator as offset * sum(weights), and pairs of products are accumulated by SMLAD. Nothing
 * allocates and nothing is static.
 *
 * Bit-exactness: the int32 accumulators wrap exactly as the reference's (SMLAD and add32 are
 * both sums modulo 2^32, so the summation order is free), and requantisation is the same
 * function as the plain kernels' (kws_multiply_by_quantized_multiplier{,_double}), rewritten
 * for speed and checked equal (tests/test_firmware_dsp.py).
 *
 * What is specialised (everything else calls the plain kernel, so every model stays correct):
 *   kws_conv_s8_dsp (dilation_w == 1): any filter size, stride, padding, dilation_h. Two output
 *     channels x two pixels per inner loop. 1x1 filters without padding (pointwise) fold
 *     offset * sum(weights) into the accumulators; over consecutive pixels (DS-CNN's pointwise
 *     layers) they are one matrix product (kws_dsp_conv_gemm), whose pairs of rows run in
 *     assembler where the depth is a multiple of 8: 43 instructions per 32 MACs, and the
 *     requantisation of kws_rqf (below), 30 for four outputs. Filter rows of exactly 4 int8
 *     (in.c * filter width == 4) have their own loop, edge rows included (shifted filter words).
 *   kws_conv_im2col_s8_dsp (scratch from the caller): any CONV_2D as that matrix product over
 *     its windows; the generator calls it for filters whose rows are under 16 int8 (DS-CNN's
 *     10x4 single-channel first layer), the matrix in an activation slot the layer leaves free.
 *   kws_depthwise_conv_s8_dsp: depth_multiplier 1 (four channels per load, two vertically
 *     adjacent pixels per loop where their windows match), or a multiple of 4 (one input
 *     channel broadcast over four outputs; with one input channel, four taps per load: TFLM's
 *     micro_speech).
 *   Both: KWS_ROUNDING_DOUBLE (what LiteRT's convolutions use), and every output channel's
 *     accumulator provably within |acc| < 2^(30 - left shift), checked per call from the
 *     weights and biases (|bias| + max|x + offset| * sum|w|; real layers pass by orders of
 *     magnitude): the requantisation then takes 17 instructions (SMMULR, assembler); where
 *     every channel's right shift is 1 to 21 and the clamp is int8's whole range, 6 (kws_rqf in
 *     src/int8_dsp/kws_int8_dsp_internal.h: SMMLAR with the nudge, sign and offset folded).
 *   kws_avg_pool_s8_dsp: windows of at most 256 elements (int16 lane sums cannot overflow).
 *   kws_fully_connected_s8_dsp: everything (both roundings, C requantisation).
 *   kws_depthwise_3x3_s8_dsp (scratch from the caller): 3x3, depth multiplier 1, stride_h 1;
 *     the generator calls it for such layers, with scratch behind the activation slots.
 * Built with -DKWS_DSP_NO_ASM the same kernels use C for every loop and the requantisation
 * (same integers, slower). On a target without __ARM_FEATURE_DSP every *_dsp function calls
 * its plain kernel.
 *
 * Operands are read with unaligned 32-bit loads (memcpy), which Armv7E-M supports; weight
 * arrays aligned to 4 bytes (the generator does it) avoid the unaligned-access penalty.
 */
#ifndef KWS_INT8_OPS_DSP_H
#define KWS_INT8_OPS_DSP_H

#include "kws_int8_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

int kws_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter, const int32_t *bias,
                    int8_t *output);
int kws_depthwise_conv_s8_dsp(const kws_conv_params *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output);
int kws_avg_pool_s8_dsp(const kws_pool_params *p, const int8_t *input, int8_t *output);

/*
 * DEPTHWISE_CONV_2D 3x3, depth multiplier 1, stride_h 1, dilation 1 (DS-CNN's depthwise layers),
 * with scratch the caller owns: int16 planes of four channels (the input, padding as its zero
 * point), so that SMLAD takes two vertically adjacent taps of a channel per instruction and each
 * output is requantised as soon as it is summed (src/int8_dsp/kws_depthwise_3x3_s8_dsp.c says how).
 * kws_depthwise_3x3_s8_dsp_scratch_size gives the bytes for p (no alignment needed), 0 for a shape
 * this kernel does not take. Any shape, too little scratch or a layer outside its preconditions
 * runs on kws_depthwise_conv_s8_dsp: the same integers whichever runs.
 */
int32_t kws_depthwise_3x3_s8_dsp_scratch_size(const kws_conv_params *p);
int kws_depthwise_3x3_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output);
/*
 * CONV_2D through im2col (src/int8_dsp/kws_conv_im2col_s8_dsp.c): each output pixel's window copied
 * into a matrix row in scratch the caller owns (padding as the input zero point), then the same
 * SMLAD matrix product as the pointwise layers. For filters with short rows (DS-CNN's 10x4 first
 * layer over one channel). kws_conv_im2col_s8_dsp_scratch_size gives the bytes for the whole
 * matrix (no alignment needed); less, down to two rows, works in chunks of pixels. Any shape, too
 * little scratch or a layer outside its preconditions runs on kws_conv_s8_dsp: the same integers.
 */
int32_t kws_conv_im2col_s8_dsp_scratch_size(const kws_conv_params *p);
int kws_conv_im2col_s8_dsp(const kws_conv_params *p, void *scratch, int32_t scratch_size, const int8_t *input,
                           const int8_t *filter, const int32_t *bias, int8_t *output);
int kws_fully_connected_s8_dsp(const kws_fc_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output);

/* 1 where this build uses the DSP extension, 0 where the *_dsp functions are the plain ones. */
int kws_dsp_enabled(void);

/* The requantisation the DSP kernels use (without output offset and clamp), exported so that
 * tests can check it equals kws_multiply_by_quantized_multiplier{,_double} on any host. */
int32_t kws_dsp_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding);

#ifdef __cplusplus
}
#endif

#endif /* KWS_INT8_OPS_DSP_H */
