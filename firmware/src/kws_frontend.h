/*
 * kws_frontend.h: the kws MFCC frontend on a Cortex-M, CMSIS-DSP's arm_mfcc_q15 over framed
 * audio. Bit-exact with Python's dsp.mfcc_q15 when CMSIS-DSP is built as plain C.
 *
 * CMSIS style: the caller owns every buffer. kws_frontend_init() fills an instance from a
 * config (sizes and constant tables, as kws.firmware.tables generates them from a
 * dsp.MfccConfig); the process functions then use only that instance and a scratch area the
 * caller provides. Nothing is allocated and nothing is global, so several instances, or one
 * instance shared by several callers with their own scratch, are fine.
 *
 * Framing, as dsp.mfcc_q15: frame i covers samples [i*hop_length, i*hop_length + frame_length),
 * zero-padded to fft_length; only whole frames are produced. The output is q8.7 int16
 * (divide by 128 for the coefficient values), n_mfcc values per frame.
 */
#ifndef KWS_FRONTEND_H
#define KWS_FRONTEND_H

#include <stdint.h>

#include "arm_math_types.h"
#include "dsp/transform_functions.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Sizes and constant tables of one frontend configuration (all tables stay owned by the caller). */
typedef struct {
    uint32_t sample_rate;          /**< Hz; informative, the frontend does not resample */
    uint32_t frame_length;         /**< samples per frame, 1..fft_length */
    uint32_t hop_length;           /**< samples between frame starts, >= 1 */
    uint32_t fft_length;           /**< 32, 64, ..., 4096 */
    uint32_t n_mels;               /**< mel filters */
    uint32_t n_mfcc;               /**< cepstral coefficients per frame, 1..n_mels */
    const q15_t *window;           /**< [fft_length] q15, zero beyond frame_length */
    const uint32_t *mel_positions; /**< [n_mels] first FFT bin of each filter */
    const uint32_t *mel_lengths;   /**< [n_mels] bins of each filter */
    const q15_t *mel_coefs;        /**< [sum of mel_lengths] q15 weights, filter after filter */
    const q15_t *dct;              /**< [n_mfcc * n_mels] q15, row-major */
    /** [fft_length] q15 each: the real FFT's split coefficients A and B for this length
     *  (fft_length/2 complex values, CMSIS-DSP's realCoefAQ15/BQ15 taken every 8192/fft_length
     *  points), or NULL for CMSIS-DSP's own 8192-point tables (32 KiB of flash). Used when
     *  built with KWS_FRONTEND_CFFT (see kws_frontend_init). */
    const q15_t *split_a;
    const q15_t *split_b;
} kws_frontend_config;

/** An initialised frontend. Read-only once kws_frontend_init() has returned. */
typedef struct {
    const kws_frontend_config *config;
    arm_mfcc_instance_q15 mfcc;
} kws_frontend_instance;

/** q15 values of the frame buffer: one FFT frame (arm_mfcc_q15 overwrites it). */
#define KWS_FRONTEND_FRAME_BUFFER_LENGTH(fft_length) (fft_length)
/** q31 words of the temporary buffer: the complex spectrum (2*fft_length q15), then the mel energies. */
#define KWS_FRONTEND_TMP_BUFFER_LENGTH(fft_length) (fft_length)

/** Working memory of the process functions, owned by the caller; contents need not survive calls. */
typedef struct {
    q15_t *frame; /**< [KWS_FRONTEND_FRAME_BUFFER_LENGTH(fft_length)], 4-byte aligned */
    q31_t *tmp;   /**< [KWS_FRONTEND_TMP_BUFFER_LENGTH(fft_length)] */
} kws_frontend_scratch;

/**
 * Check the config and initialise S from it (it keeps a pointer to config and its tables).
 * Returns ARM_MATH_SUCCESS, or ARM_MATH_ARGUMENT_ERROR for a NULL pointer, unsupported sizes,
 * a mel filter reaching past the spectrum, or (built with KWS_FRONTEND_FFT_LENGTH) another FFT length.
 *
 * Built with -DKWS_FRONTEND_FFT_LENGTH=N -DKWS_FRONTEND_CFFT=arm_cfft_sR_q15_len<N/2> (what
 * kws.firmware.frontend does), it needs split_a/split_b and fills the instance exactly as
 * arm_mfcc_init_N_q15 does (real FFT, no inverse, bit reversal) but with the config's split
 * tables at stride 1: only that length's complex-FFT tables are linked, and CMSIS-DSP's 32 KiB
 * of 8192-point split tables not at all. Built without them, it calls arm_mfcc_init_q15, which
 * references every length's tables. Same values, same arithmetic: bit-exact either way.
 */
arm_status kws_frontend_init(kws_frontend_instance *S, const kws_frontend_config *config);

/** Whole frames in n_samples samples (0 when fewer than frame_length). */
uint32_t kws_frontend_frame_count(const kws_frontend_instance *S, uint32_t n_samples);

/**
 * MFCC of one frame: frame_length samples from pSrc (left unchanged), zero-padded to
 * fft_length. Writes n_mfcc q8.7 values to pDst.
 */
arm_status kws_frontend_process_frame(const kws_frontend_instance *S,
                                      const q15_t *pSrc,
                                      q15_t *pDst,
                                      const kws_frontend_scratch *scratch);

/**
 * MFCC of every whole frame of n_samples samples: writes
 * kws_frontend_frame_count(S, n_samples) * n_mfcc values to pDst, frame after frame,
 * and that frame count to *pFrames.
 */
arm_status kws_frontend_process(const kws_frontend_instance *S,
                                const q15_t *pSrc,
                                uint32_t n_samples,
                                q15_t *pDst,
                                uint32_t *pFrames,
                                const kws_frontend_scratch *scratch);

#ifdef __cplusplus
}
#endif

#endif /* KWS_FRONTEND_H */
