/*
 * kws_normalise_window_q15.c - the frontend's first stage: peak, normalisation and window in one
 * pass over the frame's samples (see kws_frontend_stages.h).
 *
 * arm_mfcc_q15 runs arm_absmax_q15 and arm_scale_q15 over the whole zero-padded FFT frame, then
 * arm_mult_q15 with the window: three passes over fft_length values. Here the peak is found over
 * the frame_length real samples only (the padding is zero and cannot be the peak), and each
 * sample is scaled and windowed in registers, written once. The padding's products are zero
 * (the window is zero there), so the padding is written as zeros.
 *
 * With the DSP extension the peak takes two halfword lanes per SSUB16/SEL pair: the largest and
 * the smallest value are tracked, and |min| saturates at the end as arm_absmax_q15 saturates each
 * |-32768|. The products are SMULBB/SMULTB (16x16 -> 32) and SSAT, the same integers as the
 * reference's (q31_t) products, shifts and __SSAT.
 */
#include "kws_frontend_dsp.h"

#if KWS_FRONTEND_USE_DSP
/* max and min over halfword lanes: GE flags from SSUB16 choose each lane in SEL (one asm block, so
   that nothing can come between the flags and their use). */
KWS_INLINE void peak_lanes(uint32_t x, uint32_t *hi, uint32_t *lo)
{
    uint32_t h = *hi, l = *lo, t;
    __asm__("ssub16 %[t], %[x], %[h]\n\t"
            "sel %[h], %[x], %[h]\n\t"
            "ssub16 %[t], %[l], %[x]\n\t"
            "sel %[l], %[x], %[l]"
            : [h] "+r"(h), [l] "+r"(l), [t] "=&r"(t)
            : [x] "r"(x)
            : "cc");
    *hi = h;
    *lo = l;
}
#endif

static int32_t frame_peak(const q15_t *pSrc, uint32_t n)
{
    int32_t largest = 0, smallest = 0;
    uint32_t i = 0u;
#if KWS_FRONTEND_USE_DSP
    uint32_t hi = 0u, lo = 0u; /* both lanes 0: the padding's value, so no effect on the result */
    for (; i + 4u <= n; i += 4u) {
        peak_lanes(kws_read_q15x2(pSrc + i), &hi, &lo);
        peak_lanes(kws_read_q15x2(pSrc + i + 2u), &hi, &lo);
    }
    largest = kws_lo(hi) > kws_hi(hi) ? kws_lo(hi) : kws_hi(hi);
    smallest = kws_lo(lo) < kws_hi(lo) ? kws_lo(lo) : kws_hi(lo);
#endif
    for (; i < n; i++) {
        const int32_t v = pSrc[i];
        largest = v > largest ? v : largest;
        smallest = v < smallest ? v : smallest;
    }
    return kws_sat16(-smallest) > largest ? kws_sat16(-smallest) : largest;
}

q15_t kws_normalise_window_q15(const q15_t *pSrc, uint32_t frame_length, const q15_t *pWindow,
                               q15_t *pDst, uint32_t fft_length)
{
    const int32_t m = frame_peak(pSrc, frame_length);
    uint32_t i = 0u;

    if (m != 0 && m != 0x7FFF) {
        /* arm_divide_q15(0x7FFF, m): the q15 quotient 32767/m as a mantissa and a left shift. */
        int32_t quotient = (int32_t)((0x7FFFu << 15) / (uint32_t)m);
        const int32_t normalise = 17 - (int32_t)kws_clz((uint32_t)quotient);
        const int32_t shift = normalise > 0 ? normalise : 0;
        /* arm_scale_q15(x, quotient, shift): (x * quotient) >> (15 - shift), saturated. */
        const int32_t k_shift = 15 - shift;

        quotient >>= shift;
#if KWS_FRONTEND_USE_DSP
        for (; i + 2u <= frame_length; i += 2u) {
            const uint32_t x = kws_read_q15x2(pSrc + i);
            const uint32_t w = kws_read_q15x2(pWindow + i);
            const int32_t s0 = __ssat(kws_smulbb(x, (uint32_t)quotient) >> k_shift, 16);
            const int32_t s1 = __ssat(kws_smultb(x, (uint32_t)quotient) >> k_shift, 16);
            kws_write_q15x2(pDst + i, kws_pack_halves(__ssat(kws_smulbb((uint32_t)s0, w) >> 15, 16),
                                                      __ssat(kws_smulbt((uint32_t)s1, w) >> 15, 16)));
        }
#endif
        for (; i < frame_length; i++) {
            const int32_t s = kws_sat16((pSrc[i] * quotient) >> k_shift);
            pDst[i] = (q15_t)kws_sat16((s * pWindow[i]) >> 15);
        }
    } else {
#if KWS_FRONTEND_USE_DSP
        for (; i + 2u <= frame_length; i += 2u) {
            const uint32_t x = kws_read_q15x2(pSrc + i);
            const uint32_t w = kws_read_q15x2(pWindow + i);
            kws_write_q15x2(pDst + i, kws_pack_halves(__ssat(kws_smulbb(x, w) >> 15, 16),
                                                      __ssat(kws_smultt(x, w) >> 15, 16)));
        }
#endif
        for (; i < frame_length; i++) {
            pDst[i] = (q15_t)kws_sat16((pSrc[i] * pWindow[i]) >> 15);
        }
    }
    memset(pDst + frame_length, 0, (fft_length - frame_length) * sizeof(q15_t));
    return (q15_t)m;
}
