/*
 * kws_frontend.c: framing and argument checks around CMSIS-DSP's arm_mfcc_q15.
 * See kws_frontend.h.
 */
#include "kws_frontend.h"

#include <stddef.h>
#include <string.h>

#if defined(KWS_FRONTEND_FFT_LENGTH)
/* arm_mfcc_init_<N>_q15 for N = KWS_FRONTEND_FFT_LENGTH (a plain decimal literal). */
#define KWS_PASTE3_(a, b, c) a##b##c
#define KWS_PASTE3(a, b, c) KWS_PASTE3_(a, b, c)
#define KWS_MFCC_INIT_FIXED KWS_PASTE3(arm_mfcc_init_, KWS_FRONTEND_FFT_LENGTH, _q15)
#endif

static int supported_fft_length(uint32_t n)
{
    /* arm_rfft_init_q15: the powers of two 32..4096 (8192 would need a 4096-point complex FFT
       table the MFCC does not initialise). */
    return n >= 32u && n <= 4096u && (n & (n - 1u)) == 0u;
}

static arm_status check_config(const kws_frontend_config *c)
{
    uint32_t i;
    uint32_t n_bins;

    if (c == NULL || c->window == NULL || c->mel_positions == NULL || c->mel_lengths == NULL ||
        c->mel_coefs == NULL || c->dct == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    if (!supported_fft_length(c->fft_length) || c->frame_length == 0u ||
        c->frame_length > c->fft_length || c->hop_length == 0u || c->n_mels == 0u ||
        c->n_mfcc == 0u || c->n_mfcc > c->n_mels) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
#if defined(KWS_FRONTEND_FFT_LENGTH)
    if (c->fft_length != (uint32_t)KWS_FRONTEND_FFT_LENGTH) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
#endif
    /* arm_mfcc_q15 reads the magnitudes of bins 0..fft_length/2. */
    n_bins = c->fft_length / 2u + 1u;
    for (i = 0u; i < c->n_mels; i++) {
        if (c->mel_positions[i] >= n_bins || c->mel_lengths[i] > n_bins - c->mel_positions[i]) {
            return ARM_MATH_ARGUMENT_ERROR;
        }
    }
    return ARM_MATH_SUCCESS;
}

arm_status kws_frontend_init(kws_frontend_instance *S, const kws_frontend_config *config)
{
    arm_status status;

    if (S == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    status = check_config(config);
    if (status != ARM_MATH_SUCCESS) {
        return status;
    }
    S->config = config;
#if defined(KWS_FRONTEND_FFT_LENGTH)
    status = KWS_MFCC_INIT_FIXED(&S->mfcc, config->n_mels, config->n_mfcc, config->dct,
                                 config->mel_positions, config->mel_lengths, config->mel_coefs,
                                 config->window);
#else
    status = arm_mfcc_init_q15(&S->mfcc, config->fft_length, config->n_mels, config->n_mfcc,
                               config->dct, config->mel_positions, config->mel_lengths,
                               config->mel_coefs, config->window);
#endif
    return status;
}

uint32_t kws_frontend_frame_count(const kws_frontend_instance *S, uint32_t n_samples)
{
    const kws_frontend_config *c = S->config;

    if (n_samples < c->frame_length) {
        return 0u;
    }
    return 1u + (n_samples - c->frame_length) / c->hop_length;
}

arm_status kws_frontend_process_frame(const kws_frontend_instance *S,
                                      const q15_t *pSrc,
                                      q15_t *pDst,
                                      const kws_frontend_scratch *scratch)
{
    const kws_frontend_config *c;

    if (S == NULL || pSrc == NULL || pDst == NULL || scratch == NULL || scratch->frame == NULL ||
        scratch->tmp == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    c = S->config;
    memcpy(scratch->frame, pSrc, c->frame_length * sizeof(q15_t));
    memset(scratch->frame + c->frame_length, 0, (c->fft_length - c->frame_length) * sizeof(q15_t));
    return arm_mfcc_q15(&S->mfcc, scratch->frame, pDst, scratch->tmp);
}

arm_status kws_frontend_process(const kws_frontend_instance *S,
                                const q15_t *pSrc,
                                uint32_t n_samples,
                                q15_t *pDst,
                                uint32_t *pFrames,
                                const kws_frontend_scratch *scratch)
{
    uint32_t n_frames;
    uint32_t i;
    arm_status status = ARM_MATH_SUCCESS;

    if (S == NULL || pFrames == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    *pFrames = 0u;
    n_frames = kws_frontend_frame_count(S, n_samples);
    for (i = 0u; i < n_frames && status == ARM_MATH_SUCCESS; i++) {
        status = kws_frontend_process_frame(S, pSrc + (size_t)i * S->config->hop_length,
                                            pDst + (size_t)i * S->config->n_mfcc, scratch);
        if (status == ARM_MATH_SUCCESS) {
            *pFrames = i + 1u;
        }
    }
    return status;
}
