/*
 * kws_frontend.c: framing and argument checks around CMSIS-DSP's arm_mfcc_q15.
 * See kws_frontend.h.
 */
#include "kws_frontend.h"

#include <stddef.h>
#include <string.h>

#if defined(KWS_FRONTEND_CFFT)
#include "arm_const_structs.h"
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
#if defined(KWS_FRONTEND_FFT_LENGTH) && defined(KWS_FRONTEND_CFFT)
    /* Only this path is compiled, so that nothing references CMSIS-DSP's 8192-point tables. */
    if (config->split_a == NULL || config->split_b == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    {
        S->mfcc.fftLen = config->fft_length;
        S->mfcc.nbMelFilters = config->n_mels;
        S->mfcc.nbDctOutputs = config->n_mfcc;
        S->mfcc.dctCoefs = config->dct;
        S->mfcc.filterPos = config->mel_positions;
        S->mfcc.filterLengths = config->mel_lengths;
        S->mfcc.filterCoefs = config->mel_coefs;
        S->mfcc.windowCoefs = config->window;
        S->mfcc.rfft.fftLenReal = (uint16_t)config->fft_length;
        S->mfcc.rfft.ifftFlagR = 0u;
        S->mfcc.rfft.bitReverseFlagR = 1u;
        S->mfcc.rfft.twidCoefRModifier = 1u; /* the tables hold exactly this length's points */
        S->mfcc.rfft.pTwiddleAReal = config->split_a;
        S->mfcc.rfft.pTwiddleBReal = config->split_b;
        S->mfcc.rfft.pCfft = &KWS_FRONTEND_CFFT;
        status = ARM_MATH_SUCCESS;
    }
#elif defined(KWS_FRONTEND_FFT_LENGTH) || defined(KWS_FRONTEND_CFFT)
#error "KWS_FRONTEND_FFT_LENGTH and KWS_FRONTEND_CFFT go together"
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
