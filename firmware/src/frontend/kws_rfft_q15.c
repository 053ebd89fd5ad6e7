/*
 * kws_rfft_q15.c - the frontend's FFT stage: CMSIS-DSP's arm_rfft_q15 (plain-C arithmetic) for
 * the bins the mel filters read (see kws_frontend_stages.h).
 *
 * The same steps as arm_rfft_q15: the N real samples as N/2 complex ones, the radix-4
 * decimation-in-frequency complex FFT in place (radix-4-by-2 when N/2 is not a power of 4), each
 * stage scaling down as arm_radix4_butterfly_q15 does, then the split into the real spectrum.
 * What differs is how, not what:
 *   - a complex value is one 32-bit word, so a butterfly is word loads and stores and packed
 *     halfword arithmetic (kws_frontend_dsp.h says which instruction equals which C expression);
 *     a twiddle rotation, (c*x + s*y) >> 16 and (c*y - s*x) >> 16 stored as q15, is
 *     SMUAD, SMUSDX and one PKHTB;
 *   - no bit-reversal pass: the split reads Z[k] and Z[N/2 - k] straight from their bit-reversed
 *     places (RBIT), and only for the bins asked for (the mel filters of the default frontend
 *     read bins 1..127 of 257).
 */
#include "kws_frontend_dsp.h"

KWS_INLINE uint32_t rotate(uint32_t v, uint32_t w)
{
    /* w = [cos, sin]: re' = (cos*re + sin*im) >> 16, im' = (cos*im - sin*re) >> 16 */
    return kws_pack_tops(kws_smuad(w, v), kws_smusdx(w, v));
}

/*
 * arm_radix4_butterfly_q15 on x[0..length) (words), twiddle stride `modifier`. Output in
 * digit-reversed (for radix 4: bit-reversed) order, as CMSIS-DSP leaves it before
 * arm_bitreversal_16.
 */
static void radix4_butterflies(kws_q15x2_t *x, uint32_t length, const kws_q15x2_t *tw, uint32_t modifier)
{
    uint32_t n1 = length, n2 = length >> 2, j, i0;

    /* First stage: inputs scaled by 1/4, saturating sums and differences. */
    for (j = 0u; j < n2; j++) {
        const uint32_t ic = j * modifier;
        const uint32_t a = kws_half(kws_half(x[j]));
        const uint32_t b = kws_half(kws_half(x[j + n2]));
        const uint32_t c = kws_half(kws_half(x[j + 2u * n2]));
        const uint32_t d = kws_half(kws_half(x[j + 3u * n2]));
        const uint32_t r = kws_qadd16(a, c), s = kws_qsub16(a, c);
        const uint32_t t = kws_qadd16(b, d), u = kws_qsub16(b, d);
        x[j] = kws_sadd16(kws_half(r), kws_half(t));
        x[j + n2] = rotate(kws_qsub16(r, t), tw[2u * ic]);
        x[j + 2u * n2] = rotate(kws_qsax(s, u), tw[ic]);
        x[j + 3u * n2] = rotate(kws_qasx(s, u), tw[3u * ic]);
    }
    modifier <<= 2;

    /* Middle stages: saturating first sums, then halved operands, outputs halved once more. */
    while (n2 > 4u) {
        n1 = n2;
        n2 >>= 2;
        for (j = 0u; j < n2; j++) {
            const uint32_t ic = j * modifier;
            const uint32_t w1 = tw[ic], w2 = tw[2u * ic], w3 = tw[3u * ic];
            for (i0 = j; i0 < length; i0 += n1) {
                kws_q15x2_t *p = x + i0;
                const uint32_t a = p[0], b = p[n2], c = p[2u * n2], d = p[3u * n2];
                const uint32_t rh = kws_half(kws_qadd16(a, c)), sh = kws_half(kws_qsub16(a, c));
                const uint32_t th = kws_half(kws_qadd16(b, d)), uh = kws_half(kws_qsub16(b, d));
                p[0] = kws_shadd16(rh, th); /* ((R >> 1) + (T >> 1)) >> 1: one rounding left */
                p[n2] = rotate(kws_ssub16(rh, th), w2);
                p[2u * n2] = rotate(kws_ssax(sh, uh), w1);
                p[3u * n2] = rotate(kws_sasx(sh, uh), w3);
            }
        }
        modifier <<= 2;
    }

    /* Last stage (spans of 4): no twiddles, no extra halving. */
    for (i0 = 0u; i0 < length; i0 += 4u) {
        kws_q15x2_t *p = x + i0;
        const uint32_t a = p[0], b = p[1], c = p[2], d = p[3];
        const uint32_t rh = kws_half(kws_qadd16(a, c)), sh = kws_half(kws_qsub16(a, c));
        const uint32_t th = kws_half(kws_qadd16(b, d)), uh = kws_half(kws_qsub16(b, d));
        p[0] = kws_sadd16(rh, th);
        p[1] = kws_ssub16(rh, th);
        p[2] = kws_ssax(sh, uh);
        p[3] = kws_sasx(sh, uh);
    }
}

/*
 * arm_cfft_radix4by2_q15 (lengths 2 * 4^k): one radix-2 stage (its products truncated one by one,
 * unlike the radix-4 rotations), two radix-4 halves, then every value doubled with wrap-around.
 */
static void radix4by2_butterflies(kws_q15x2_t *x, uint32_t length, const kws_q15x2_t *tw)
{
    const uint32_t half = length >> 1;
    uint32_t i;

    for (i = 0u; i < half; i++) {
        const uint32_t t = kws_half(x[i]), s = kws_half(x[i + half]), w = tw[i];
        const uint32_t r = kws_ssub16(t, s);
        const int32_t xt = kws_lo(r), yt = kws_hi(r), c = kws_lo(w), sn = kws_hi(w);
        x[i] = kws_shadd16(t, s);
        x[i + half] = kws_pack(((xt * c) >> 16) + ((yt * sn) >> 16), ((yt * c) >> 16) - ((xt * sn) >> 16));
    }
    radix4_butterflies(x, half, tw, 2u);
    radix4_butterflies(x + half, half, tw, 2u);
    for (i = 0u; i < length; i++) {
        x[i] = kws_sadd16(x[i], x[i]);
    }
}

void kws_rfft_bins_q15(const kws_rfft_instance_q15 *S, q15_t *pSrc, uint32_t first_bin, uint32_t n_bins,
                       q15_t *pDst)
{
    const uint32_t length = S->fft_length >> 1; /* complex points */
    const uint32_t bits = 31u - kws_clz(length);
    kws_q15x2_t *z = (kws_q15x2_t *)(void *)pSrc;
    kws_q15x2_t *out = (kws_q15x2_t *)(void *)pDst;
    const kws_q15x2_t *tw = (const kws_q15x2_t *)(const void *)S->twiddles;
    const kws_q15x2_t *coef_a = (const kws_q15x2_t *)(const void *)S->split_a;
    const kws_q15x2_t *coef_b = (const kws_q15x2_t *)(const void *)S->split_b;
    uint32_t k;

    if ((bits & 1u) == 0u) {
        radix4_butterflies(z, length, tw, 1u);
    } else {
        radix4by2_butterflies(z, length, tw);
    }
    for (k = first_bin; k < first_bin + n_bins; k++) {
        if (k == 0u || k == length) {
            /* Z[0] is in place; bins 0 and N/2 are real: (re +- im) >> 1. */
            const int32_t re = kws_lo(z[0]), im = kws_hi(z[0]);
            *out++ = kws_pack((k == 0u ? re + im : re - im) >> 1, 0);
        } else {
            /* Z[k] and Z[N/2 - k], from their bit-reversed places. */
            const uint32_t z1 = z[kws_rbit(k) >> (32u - bits)];
            const uint32_t z2 = z[kws_rbit(length - k) >> (32u - bits)];
            const uint32_t a = coef_a[k], b = coef_b[k];
            /* re = z1r*ar - z1i*ai + z2r*br + z2i*bi, im = z2r*bi - z2i*br + z1i*ar + z1r*ai; >> 16 each */
            *out++ = kws_pack_tops(kws_smlad(z2, b, kws_smusd(z1, a)), kws_smladx(z1, a, kws_smusdx(z2, b)));
        }
    }
}
