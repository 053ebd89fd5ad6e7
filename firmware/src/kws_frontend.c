/*
 * kws_frontend.c: framing and argument checks, and arm_mfcc_q15's steps in its order: our stages
 * (frontend/) for normalisation and window, FFT, magnitude and log; CMSIS-DSP's arm_dot_prod_q15
 * for the mel filters and arm_mat_vec_mult_q15 for the DCT. See kws_frontend.h.
 */
#include "kws_frontend.h"

#include <stddef.h>
#include <string.h>

#include "arm_const_structs.h"
#include "dsp/basic_math_functions.h"
#include "dsp/matrix_functions.h"

/* arm_mfcc_q15's mel accumulation: + MICRO_Q15, >> SHIFT_MELFILTER_SATURATION_Q15, __SSAT(.., 31). */
#define MEL_ROUNDING 0x219
#define MEL_SHIFT 10


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
        c->n_mfcc == 0u || c->n_mfcc > c->n_mels || c->n_mels > c->fft_length ||
        c->split_a == NULL || c->split_b == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    /* The window stage writes zeros past the frame without multiplying (the padding is zero). */
    for (i = c->frame_length; i < c->fft_length; i++) {
        if (c->window[i] != 0) {
            return ARM_MATH_ARGUMENT_ERROR;
        }
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

/* CMSIS-DSP's complex FFT of `length` points (its twiddles). */
static const arm_cfft_instance_q15 *complex_fft(uint32_t length)
{
#if defined(KWS_FRONTEND_FFT_LENGTH) && defined(KWS_FRONTEND_CFFT)
    /* Only this length's tables are referenced, so only they are linked. */
    return length == (uint32_t)KWS_FRONTEND_FFT_LENGTH / 2u ? &KWS_FRONTEND_CFFT : NULL;
#elif defined(KWS_FRONTEND_FFT_LENGTH) || defined(KWS_FRONTEND_CFFT)
#error "KWS_FRONTEND_FFT_LENGTH and KWS_FRONTEND_CFFT go together"
#else
    switch (length) {
    case 16u: return &arm_cfft_sR_q15_len16;
    case 32u: return &arm_cfft_sR_q15_len32;
    case 64u: return &arm_cfft_sR_q15_len64;
    case 128u: return &arm_cfft_sR_q15_len128;
    case 256u: return &arm_cfft_sR_q15_len256;
    case 512u: return &arm_cfft_sR_q15_len512;
    case 1024u: return &arm_cfft_sR_q15_len1024;
    case 2048u: return &arm_cfft_sR_q15_len2048;
    default: return NULL;
    }
#endif
}

arm_status kws_frontend_init(kws_frontend_instance *S, const kws_frontend_config *config)
{
    arm_status status;
    const arm_cfft_instance_q15 *cfft;
    uint32_t i;

    if (S == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    status = check_config(config);
    if (status != ARM_MATH_SUCCESS) {
        return status;
    }
    S->config = config;
    cfft = complex_fft(config->fft_length / 2u);
    if (cfft == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    S->rfft.fft_length = config->fft_length;
    S->rfft.twiddles = cfft->pTwiddle;
    S->rfft.split_a = config->split_a;
    S->rfft.split_b = config->split_b;
    /* Only the bins some mel filter reads are computed (and their magnitudes). */
    S->first_bin = 0u;
    S->n_bins = 0u;
    for (i = 0u; i < config->n_mels; i++) {
        const uint32_t first = config->mel_positions[i], end = first + config->mel_lengths[i];
        if (config->mel_lengths[i] == 0u) {
            continue;
        }
        if (S->n_bins == 0u) {
            S->first_bin = first;
            S->n_bins = end - first;
        } else {
            const uint32_t lo = first < S->first_bin ? first : S->first_bin;
            const uint32_t old_end = S->first_bin + S->n_bins;
            S->first_bin = lo;
            S->n_bins = (end > old_end ? end : old_end) - lo;
        }
    }
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
    q15_t *frame;
    q31_t *tmp;
    q15_t peak;
    uint32_t i, coefs;
    arm_matrix_instance_q15 dct;

    if (S == NULL || pSrc == NULL || pDst == NULL || scratch == NULL || scratch->frame == NULL ||
        scratch->tmp == NULL) {
        return ARM_MATH_ARGUMENT_ERROR;
    }
    c = S->config;
    frame = scratch->frame;
    tmp = scratch->tmp;

    /* normalisation and window: frame_length samples -> the zero-padded FFT frame */
    peak = kws_normalise_window_q15(pSrc, c->frame_length, c->window, frame, c->fft_length);
    /* FFT (frame is its work area) -> the mel filters' bins in tmp; magnitudes (q2.14) -> frame */
    kws_rfft_bins_q15(&S->rfft, frame, S->first_bin, S->n_bins, (q15_t *)tmp);
    kws_cmplx_mag_q15((const q15_t *)tmp, frame, S->n_bins);
    /* mel filters -> tmp (q31), as arm_mfcc_q15 accumulates them */
    coefs = 0u;
    for (i = 0u; i < c->n_mels; i++) {
        q63_t sum = 0;
        int32_t shifted;
        if (c->mel_lengths[i] != 0u) {
            arm_dot_prod_q15(frame + (c->mel_positions[i] - S->first_bin), c->mel_coefs + coefs,
                             c->mel_lengths[i], &sum);
        }
        coefs += c->mel_lengths[i];
        shifted = (int32_t)((sum + MEL_ROUNDING) >> MEL_SHIFT); /* __SSAT takes the low 32 bits */
        tmp[i] = shifted > 0x3FFFFFFF ? 0x3FFFFFFF : (shifted < -0x40000000 ? -0x40000000 : shifted);
    }
    /* log, q8.7 -> frame */
    kws_log_mel_q15(tmp, peak, c->fft_length, frame, c->n_mels);
    /* DCT -> pDst */
    dct.numRows = (uint16_t)c->n_mfcc;
    dct.numCols = (uint16_t)c->n_mels;
    dct.pData = (q15_t *)c->dct;
    arm_mat_vec_mult_q15(&dct, frame, pDst);
    return ARM_MATH_SUCCESS;
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
