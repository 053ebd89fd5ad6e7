/*
 * kws_log_mel_q15.c - the frontend's log stage: what arm_mfcc_q15 does between the mel filters
 * and the DCT (arm_scale_q31, arm_vlog_q31, arm_offset_q31, arm_shift_q31, the cast to q15), the
 * same integers (see kws_frontend_stages.h).
 *
 * arm_vlog_q31 (Clay Turner's log2 by repeated squaring) normalises with the software __CLZ and
 * squares the q30 mantissa 31 times, each a 64-bit product shifted back to 32 bits. Only the
 * first 26 squarings can change the result: each yields one bit of the q26 log2, and the
 * increment CMSIS-DSP adds is 2^(25-i), zero from the 27th on. So: one CLZ, and 26 steps of
 * UMULL and three shifts. Keeping the mantissa doubled (q31, still below 2^32) makes the high word
 * of its square exactly the reference's (x * x) >> 30, so no funnel shift is needed. Then the
 * q26 result is converted to a natural log as the reference does, and the offset, shift and cast
 * follow in the same loop.
 */
#include "kws_frontend_dsp.h"

#define LOG_STEPS 26u             /* squarings that add a bit (see above) */
#define INV_LOG2_E_Q31 0x58B90BFB /* ln(2) = 1 / log2(e), q31 */
#define LN2_Q26 0x02C5C860        /* ln(2) in q26 (CMSIS-DSP's LOG2TOLOG_Q15) */
#define MEL_SHIFT 10u             /* arm_mfcc_q15's SHIFT_MELFILTER_SATURATION_Q15 */
#define Q8_7_SHIFT 19u            /* q5.26 -> q8.7 */

KWS_INLINE int32_t vlog_q31(uint32_t src)
{
    const uint32_t leading = kws_clz(src);
    /* q30 mantissa in [1, 2) (0 for src = 0), kept doubled as q31 */
    uint32_t x2 = (leading >= 1u ? src << (leading - 1u) : src >> 1) << 1;
    uint32_t y = 0u; /* q26 log2 of the mantissa, one bit per step */
    uint32_t i;
    int32_t tmp;

#if KWS_FRONTEND_USE_DSP
    /* The same step in five instructions: LSLS puts "square >= 2.0" in the carry, ADC shifts it
       into y, and a set carry halves the square (its doubled form is the square, low bit cleared). */
    for (i = 0u; i < LOG_STEPS; i += 2u) {
        uint32_t lo, square;
        __asm__("umull %[lo], %[sq], %[x], %[x]\n\t"
                "lsls %[x], %[sq], #1\n\t"
                "adc %[y], %[y], %[y]\n\t"
                "it cs\n\t"
                "biccs %[x], %[sq], #1\n\t"
                "umull %[lo], %[sq], %[x], %[x]\n\t"
                "lsls %[x], %[sq], #1\n\t"
                "adc %[y], %[y], %[y]\n\t"
                "it cs\n\t"
                "biccs %[x], %[sq], #1"
                : [x] "+r"(x2), [y] "+r"(y), [lo] "=&r"(lo), [sq] "=&r"(square)
                :
                : "cc");
    }
#else
    for (i = 0u; i < LOG_STEPS; i++) {
        const uint32_t square = (uint32_t)(((uint64_t)x2 * x2) >> 32); /* (x * x) >> 30 */
        const uint32_t over = square >> 31;                             /* square >= 2.0 */
        y = (y << 1) | over;
        x2 = (square >> over) << 1;
    }
#endif
    /* (y - leading) / log2(e), in 32-bit wrapping arithmetic as the reference (log(0) included) */
    tmp = (int32_t)(y - (leading << 26));
    return (int32_t)(((int64_t)tmp * INV_LOG2_E_Q31) >> 31);
}

void kws_vlog_q31(const q31_t *pSrc, q31_t *pDst, uint32_t n)
{
    uint32_t i;

    for (i = 0u; i < n; i++) {
        pDst[i] = vlog_q31((uint32_t)pSrc[i]);
    }
}

/* __QADD: a + b saturated to q31 */
KWS_INLINE int32_t qadd(int32_t a, int32_t b)
{
#if KWS_FRONTEND_USE_DSP
    return __qadd(a, b);
#else
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
#endif
}

void kws_log_mel_q15(q31_t *pEnergies, q15_t peak, uint32_t fft_length, q15_t *pDst, uint32_t n)
{
    const int unscale = peak != 0 && peak != 0x7FFF;
    const int32_t scale = (int32_t)peak << 16;
    /* the FFT's and the magnitude's scalings (2^(log2 N + 2)) and the mel filters' shift, as a log */
    const int32_t offset = (int32_t)((31u - kws_clz(fft_length)) + 2u + MEL_SHIFT) * LN2_Q26;
    uint32_t i;

    for (i = 0u; i < n; i++) {
        int32_t e = pEnergies[i];
        if (unscale) {
            /* arm_scale_q31(e, peak << 16, 0): (e * scale) >> 32, then doubled with saturation */
            const int32_t product = (int32_t)(((int64_t)e * scale) >> 32);
            e = product > 0x3FFFFFFF ? INT32_MAX : (product < -0x40000000 ? INT32_MIN : product * 2);
        }
        pDst[i] = (q15_t)(qadd(vlog_q31((uint32_t)e), offset) >> Q8_7_SHIFT);
    }
}
