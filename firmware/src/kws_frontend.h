/*
 * kws_frontend.h: the kws MFCC frontend on a Cortex-M: CMSIS-DSP's arm_mfcc_q15 over framed
 * audio, bit-exact with Python's dsp.mfcc_q15 (CMSIS-DSP's plain-C build). The expensive stages
 * (normalisation and window, FFT, magnitude, log) are our own (frontend/, one stage per file:
 * the same integers, with the DSP extension where the core has it); the mel filters and the DCT
 * are CMSIS-DSP's.
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
#include "frontend/kws_frontend_stages.h"

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
    const q15_t *window;           /**< [fft_length] q15, zero beyond frame_length (checked) */
    const uint32_t *mel_positions; /**< [n_mels] first FFT bin of each filter */
    const uint32_t *mel_lengths;   /**< [n_mels] bins of each filter */
    const q15_t *mel_coefs;        /**< [sum of mel_lengths] q15 weights, filter after filter */
    const q15_t *dct;              /**< [n_mfcc * n_mels] q15, row-major */
    /** [fft_length] q15 each: the real FFT's split coefficients A and B for this length
     *  (fft_length/2 complex values, CMSIS-DSP's realCoefAQ15/BQ15 taken every 8192/fft_length
     *  points; 4-byte aligned). */
    const q15_t *split_a;
    const q15_t *split_b;
} kws_frontend_config;

/** An initialised frontend. Read-only once kws_frontend_init() has returned. */
typedef struct {
    const kws_frontend_config *config;
    kws_rfft_instance_q15 rfft;
    uint32_t first_bin; /**< the lowest FFT bin a mel filter reads */
    uint32_t n_bins;    /**< bins first_bin .. first_bin + n_bins - 1 are computed */
} kws_frontend_instance;

/** q15 values of the frame buffer: the windowed frame, the FFT's work area, then the magnitudes
 *  and the log mel energies. */
#define KWS_FRONTEND_FRAME_BUFFER_LENGTH(fft_length) (fft_length)
/** q31 words of the temporary buffer: the spectrum's bins (one word each), then the mel energies. */
#define KWS_FRONTEND_TMP_BUFFER_LENGTH(fft_length) (fft_length)

/** Working memory of the process functions, owned by the caller; contents need not survive calls. */
typedef struct {
    q15_t *frame; /**< [KWS_FRONTEND_FRAME_BUFFER_LENGTH(fft_length)], 4-byte aligned */
    q31_t *tmp;   /**< [KWS_FRONTEND_TMP_BUFFER_LENGTH(fft_length)], 4-byte aligned */
} kws_frontend_scratch;

/**
 * Check the config and initialise S from it (it keeps a pointer to config and its tables).
 * Returns ARM_MATH_SUCCESS, or ARM_MATH_ARGUMENT_ERROR for a NULL pointer, unsupported sizes,
 * a mel filter reaching past the spectrum, a window not zero beyond frame_length, more mel
 * filters than fft_length, or (built with KWS_FRONTEND_FFT_LENGTH) another FFT length.
 *
 * The complex FFT's twiddles are CMSIS-DSP's. Built with -DKWS_FRONTEND_FFT_LENGTH=N
 * -DKWS_FRONTEND_CFFT=arm_cfft_sR_q15_len<N/2> (what kws.firmware.frontend does), only that
 * length's tables are linked; built without, every length's. The real FFT's split tables are
 * the config's (stride 1), so CMSIS-DSP's 32 KiB of 8192-point ones are never linked.
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
