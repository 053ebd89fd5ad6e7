/*
 * kws_cmplx_mag_q15.c - the frontend's magnitude stage: arm_cmplx_mag_q15 with arm_sqrt_q31, the
 * same integers (see kws_frontend_stages.h).
 *
 * arm_sqrt_q31 normalises its input with CMSIS-DSP's software __CLZ (a loop of up to 31 steps in
 * the plain-C build), seeds 1/sqrt from sqrt_initial_lut_q31 and runs three Newton steps, each
 * product a 64-bit one shifted and stored in 32 bits. Here the same steps run inline: one CLZ,
 * SMUAD for re^2 + im^2 (in 32 bits, which holds 2 * 32768^2 as the reference's unsigned sum does),
 * and each 64-bit product is SMULL and a funnel shift, as the reference's C compiles.
 */
#include "kws_frontend_dsp.h"

#include "arm_common_tables.h"

/* (int32_t)((a * b) >> shift), the reference's q63 product stored in a q31_t. */
KWS_INLINE int32_t mul_shift(int32_t a, int32_t b, uint32_t shift)
{
    return (int32_t)(((int64_t)a * b) >> shift);
}

/* arm_sqrt_q31 of a value in [0, 2^31): 0 for 0. */
KWS_INLINE int32_t sqrt_q31(int32_t number)
{
    int32_t inv_sqrt, temp, root;
    uint32_t even_shift;
    int i;

    if (number <= 0) {
        return 0;
    }
    /* An even shift, so that the square root's shift back is exact. */
    even_shift = (kws_clz((uint32_t)number) - 1u) & ~1u;
    number <<= even_shift;
    inv_sqrt = sqrt_initial_lut_q31[(number >> 26) - (0x20000000 >> 26)];
    for (i = 0; i < 3; i++) {
        /* inv_sqrt * (3 - number * inv_sqrt^2) / 2 */
        temp = mul_shift(inv_sqrt, inv_sqrt, 28);
        temp = mul_shift(number, temp, 31);
        temp = 0x30000000 - temp;
        inv_sqrt = mul_shift(inv_sqrt, temp, 29);
    }
    root = mul_shift(number, inv_sqrt, 28);
    return root >> (even_shift >> 1);
}

void kws_cmplx_mag_q15(const q15_t *pSrc, q15_t *pDst, uint32_t n)
{
    const kws_q15x2_t *z = (const kws_q15x2_t *)(const void *)pSrc;
    uint32_t i;

    for (i = 0u; i < n; i++) {
        /* ((uint32_t)re^2 + (uint32_t)im^2) >> 1: at most 2^30, a positive q31 */
        const uint32_t power = (uint32_t)kws_smuad(z[i], z[i]) >> 1;
        pDst[i] = (q15_t)(sqrt_q31((int32_t)power) >> 16);
    }
}
