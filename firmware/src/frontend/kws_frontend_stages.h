/*
 * kws_frontend_stages.h - the MFCC frontend's stages (firmware/src/frontend/, one per file), each
 * giving the same integers as the CMSIS-DSP functions arm_mfcc_q15 calls in its plain-C build
 * (the build dsp.mfcc_q15 matches), with the Cortex-M4's DSP extension where the core has it:
 *
 *   normalisation + window  arm_absmax_q15, arm_divide_q15, arm_scale_q15, arm_mult_q15
 *   FFT                     arm_rfft_q15 (arm_cfft_q15, arm_bitreversal_16, the split), bins asked for
 *   magnitude               arm_cmplx_mag_q15 (arm_sqrt_q31)
 *   log                     arm_scale_q31, arm_vlog_q31, arm_offset_q31, arm_shift_q31, cast to q15
 *
 * The mel filters (arm_dot_prod_q15) and the DCT (arm_mat_vec_mult_q15) stay CMSIS-DSP's: together
 * they are under 4 % of a frame. The caller (kws_frontend.c) owns every buffer.
 */
#ifndef KWS_FRONTEND_STAGES_H
#define KWS_FRONTEND_STAGES_H

#include <stdint.h>

#include "arm_math_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Normalisation and window, as arm_mfcc_q15 does them on a zero-padded frame: m = the largest
 * |sample| (|-32768| saturates to 32767); unless m is 0 or 32767, every sample is scaled by
 * 32767/m (arm_divide_q15, then arm_scale_q15); then multiplied by the window (arm_mult_q15).
 * Reads frame_length samples of pSrc (any alignment, left unchanged); writes fft_length values
 * to pDst, zero from frame_length on. The window must be zero from frame_length on (the
 * frontend's init checks it), so the padding needs no arithmetic. Returns m.
 */
q15_t kws_normalise_window_q15(const q15_t *pSrc, uint32_t frame_length, const q15_t *pWindow,
                               q15_t *pDst, uint32_t fft_length);

/** The real FFT's constant tables, for one length (CMSIS style: filled once, then read-only). */
typedef struct {
    uint32_t fft_length;     /**< real samples: 32, 64, ..., 4096 */
    const q15_t *twiddles;   /**< CMSIS-DSP's twiddleCoef_<fft_length/2>_q15 */
    const q15_t *split_a;    /**< fft_length q15: the split coefficients A, stride 1 */
    const q15_t *split_b;    /**< fft_length q15: B */
} kws_rfft_instance_q15;

/**
 * arm_rfft_q15 (forward, bit reversal on) for bins first_bin .. first_bin + n_bins - 1 only
 * (first_bin + n_bins <= fft_length/2 + 1): pDst[2k], pDst[2k+1] = the real and imaginary
 * parts of bin first_bin + k, the integers arm_rfft_q15 writes there. pSrc (fft_length q15,
 * 4-byte aligned) is used as the complex FFT's work area and destroyed, as arm_rfft_q15 does.
 * pDst 4-byte aligned.
 */
void kws_rfft_bins_q15(const kws_rfft_instance_q15 *S, q15_t *pSrc, uint32_t first_bin, uint32_t n_bins,
                       q15_t *pDst);

/** arm_cmplx_mag_q15: sqrt(re^2 + im^2) in q2.14 of n complex q15 values (pSrc 4-byte aligned). */
void kws_cmplx_mag_q15(const q15_t *pSrc, q15_t *pDst, uint32_t n);

/** arm_vlog_q31: natural log of n q31 values, in q5.26 (log(0) as CMSIS-DSP gives it). */
void kws_vlog_q31(const q31_t *pSrc, q31_t *pDst, uint32_t n);

/**
 * The log stage of arm_mfcc_q15 on n mel energies (q31, from the mel filters, still scaled by
 * the normalisation): unless peak is 0 or 32767, undo the normalisation (arm_scale_q31 by
 * peak << 16); natural log (arm_vlog_q31); add (log2(fft_length) + 12) * ln(2) in q26,
 * saturating (arm_offset_q31); >> 19 (arm_shift_q31); keep the low 16 bits. pDst: n q8.7 values.
 * pEnergies is overwritten.
 */
void kws_log_mel_q15(q31_t *pEnergies, q15_t peak, uint32_t fft_length, q15_t *pDst, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* KWS_FRONTEND_STAGES_H */
