/*
 * kws_frontend_dsp.h - what the frontend's stages share (one stage per file in this directory):
 * the DSP-extension detection and the packed-halfword operations, each with a plain-C twin that
 * gives the same bits. Private to firmware/src/frontend/; the stages' interface is
 * kws_frontend_stages.h.
 *
 * The stages reproduce CMSIS-DSP's *plain-C* arithmetic (the build dsp.mfcc_q15 matches), not its
 * DSP-extension code paths, which round differently in places. They use an instruction only where
 * it computes exactly what the plain-C expression does:
 *   - QADD16/QSUB16/QASX/QSAX = __SSAT(a +- b, 16) on each halfword;
 *   - SHADD16(x, 0) = x >> 1 on each halfword (arithmetic), so (a >> 1) + (b >> 1) is
 *     SADD16(SHADD16(a, 0), SHADD16(b, 0)); SHADD16(a, b) alone would round once, not twice;
 *   - SADD16/SSUB16/SASX/SSAX wrap like a store into q15_t;
 *   - SMUAD/SMUSD/SMUSDX/SMLAD/SMLADX: sums of two 16x16 products in 32 bits, wrapping like the
 *     int arithmetic of the reference;
 *   - PKHTB(hi, lo, ASR #16): the top halves of two 32-bit sums, i.e. (q15_t)(sum >> 16) twice;
 *   - CLZ and RBIT for CMSIS-DSP's software __CLZ loop and its bit-reversal table.
 * A complex q15 value lives in one 32-bit word, real part in the low halfword (little endian,
 * as CMSIS-DSP stores [re, im] pairs).
 *
 * Define KWS_FRONTEND_NO_DSP to build the plain-C twins on a core that has the extension (the
 * tests run both).
 */
#ifndef KWS_FRONTEND_DSP_H
#define KWS_FRONTEND_DSP_H

#include <stdint.h>
#include <string.h>

#include "kws_frontend_stages.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(KWS_FRONTEND_NO_DSP)
#define KWS_FRONTEND_USE_DSP 1
#include <arm_acle.h>
#else
#define KWS_FRONTEND_USE_DSP 0
#endif

#define KWS_INLINE static inline __attribute__((always_inline))

/* A complex q15 value (or two q15 values) as one word; may alias the q15_t buffers it is read from. */
typedef uint32_t __attribute__((may_alias)) kws_q15x2_t;

/* Two q15 values from any address (a halfword-aligned LDR on the M4; memcpy is the portable spelling). */
KWS_INLINE uint32_t kws_read_q15x2(const q15_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

KWS_INLINE void kws_write_q15x2(q15_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

KWS_INLINE int32_t kws_lo(uint32_t x) { return (int16_t)(x & 0xFFFFu); }
KWS_INLINE int32_t kws_hi(uint32_t x) { return (int16_t)(x >> 16); }
/* Two int32 values, each truncated to 16 bits, as [lo, hi] (a store of each into q15_t). */
KWS_INLINE uint32_t kws_pack(int32_t lo, int32_t hi) { return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16); }

KWS_INLINE int32_t kws_sat16(int32_t v) { return v > 32767 ? 32767 : (v < -32768 ? -32768 : v); }

#if KWS_FRONTEND_USE_DSP

KWS_INLINE uint32_t kws_qadd16(uint32_t a, uint32_t b) { return (uint32_t)__qadd16((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_qsub16(uint32_t a, uint32_t b) { return (uint32_t)__qsub16((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_qasx(uint32_t a, uint32_t b) { return (uint32_t)__qasx((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_qsax(uint32_t a, uint32_t b) { return (uint32_t)__qsax((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_sadd16(uint32_t a, uint32_t b) { return (uint32_t)__sadd16((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_ssub16(uint32_t a, uint32_t b) { return (uint32_t)__ssub16((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_sasx(uint32_t a, uint32_t b) { return (uint32_t)__sasx((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_ssax(uint32_t a, uint32_t b) { return (uint32_t)__ssax((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE uint32_t kws_shadd16(uint32_t a, uint32_t b) { return (uint32_t)__shadd16((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE int32_t kws_smuad(uint32_t a, uint32_t b) { return __smuad((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE int32_t kws_smusd(uint32_t a, uint32_t b) { return __smusd((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE int32_t kws_smusdx(uint32_t a, uint32_t b) { return __smusdx((int16x2_t)a, (int16x2_t)b); }
KWS_INLINE int32_t kws_smlad(uint32_t a, uint32_t b, int32_t acc) { return __smlad((int16x2_t)a, (int16x2_t)b, acc); }
KWS_INLINE int32_t kws_smladx(uint32_t a, uint32_t b, int32_t acc) { return __smladx((int16x2_t)a, (int16x2_t)b, acc); }

/* 16x16 -> 32 products of the bottom (B) or top (T) halves: SMULBB, SMULTB, SMULBT, SMULTT. */
#define KWS_SMUL(xy)                                                            \
    KWS_INLINE int32_t kws_smul##xy(uint32_t a, uint32_t b)                     \
    {                                                                           \
        int32_t r;                                                              \
        __asm__("smul" #xy " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));           \
        return r;                                                               \
    }
KWS_SMUL(bb)
KWS_SMUL(tb)
KWS_SMUL(bt)
KWS_SMUL(tt)
#undef KWS_SMUL
/* [lo, hi] from the low halves of two values (PKHBT): kws_pack in one instruction. */
KWS_INLINE uint32_t kws_pack_halves(int32_t lo, int32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}

/* [lo: lo_sum >> 16, hi: hi_sum >> 16] */
KWS_INLINE uint32_t kws_pack_tops(int32_t lo_sum, int32_t hi_sum)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi_sum), "r"(lo_sum));
    return r;
}

KWS_INLINE uint32_t kws_rbit(uint32_t x)
{
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(x));
    return r;
}

#else /* plain C: the same bits */

KWS_INLINE uint32_t kws_qadd16(uint32_t a, uint32_t b) { return kws_pack(kws_sat16(kws_lo(a) + kws_lo(b)), kws_sat16(kws_hi(a) + kws_hi(b))); }
KWS_INLINE uint32_t kws_qsub16(uint32_t a, uint32_t b) { return kws_pack(kws_sat16(kws_lo(a) - kws_lo(b)), kws_sat16(kws_hi(a) - kws_hi(b))); }
KWS_INLINE uint32_t kws_qasx(uint32_t a, uint32_t b) { return kws_pack(kws_sat16(kws_lo(a) - kws_hi(b)), kws_sat16(kws_hi(a) + kws_lo(b))); }
KWS_INLINE uint32_t kws_qsax(uint32_t a, uint32_t b) { return kws_pack(kws_sat16(kws_lo(a) + kws_hi(b)), kws_sat16(kws_hi(a) - kws_lo(b))); }
KWS_INLINE uint32_t kws_sadd16(uint32_t a, uint32_t b) { return kws_pack(kws_lo(a) + kws_lo(b), kws_hi(a) + kws_hi(b)); }
KWS_INLINE uint32_t kws_ssub16(uint32_t a, uint32_t b) { return kws_pack(kws_lo(a) - kws_lo(b), kws_hi(a) - kws_hi(b)); }
KWS_INLINE uint32_t kws_sasx(uint32_t a, uint32_t b) { return kws_pack(kws_lo(a) - kws_hi(b), kws_hi(a) + kws_lo(b)); }
KWS_INLINE uint32_t kws_ssax(uint32_t a, uint32_t b) { return kws_pack(kws_lo(a) + kws_hi(b), kws_hi(a) - kws_lo(b)); }
KWS_INLINE uint32_t kws_shadd16(uint32_t a, uint32_t b) { return kws_pack((kws_lo(a) + kws_lo(b)) >> 1, (kws_hi(a) + kws_hi(b)) >> 1); }
/* Sums of products in uint32 arithmetic: they wrap as the hardware's do, without signed overflow. */
KWS_INLINE int32_t kws_smuad(uint32_t a, uint32_t b) { return (int32_t)((uint32_t)(kws_lo(a) * kws_lo(b)) + (uint32_t)(kws_hi(a) * kws_hi(b))); }
KWS_INLINE int32_t kws_smusd(uint32_t a, uint32_t b) { return (int32_t)((uint32_t)(kws_lo(a) * kws_lo(b)) - (uint32_t)(kws_hi(a) * kws_hi(b))); }
KWS_INLINE int32_t kws_smusdx(uint32_t a, uint32_t b) { return (int32_t)((uint32_t)(kws_lo(a) * kws_hi(b)) - (uint32_t)(kws_hi(a) * kws_lo(b))); }
KWS_INLINE int32_t kws_smlad(uint32_t a, uint32_t b, int32_t acc) { return (int32_t)((uint32_t)acc + (uint32_t)kws_smuad(a, b)); }
KWS_INLINE int32_t kws_smladx(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(kws_lo(a) * kws_hi(b)) + (uint32_t)(kws_hi(a) * kws_lo(b)));
}
KWS_INLINE uint32_t kws_pack_tops(int32_t lo_sum, int32_t hi_sum) { return ((uint32_t)hi_sum & 0xFFFF0000u) | ((uint32_t)lo_sum >> 16); }
KWS_INLINE uint32_t kws_rbit(uint32_t x)
{
    uint32_t r = 0u;
    int i;
    for (i = 0; i < 32; i++) {
        r = (r << 1) | ((x >> i) & 1u);
    }
    return r;
}

#endif /* KWS_FRONTEND_USE_DSP */

/* x >> 1 on each halfword (SHADD16 with zero). */
KWS_INLINE uint32_t kws_half(uint32_t a) { return kws_shadd16(a, 0u); }

/* Leading zeros of a 32-bit value, 32 for 0 (CMSIS-DSP's __CLZ; a single CLZ on the M4). */
KWS_INLINE uint32_t kws_clz(uint32_t x)
{
#if defined(__GNUC__)
    return x == 0u ? 32u : (uint32_t)__builtin_clz(x);
#else
    uint32_t n = 0u;
    if (x == 0u) {
        return 32u;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

#endif /* KWS_FRONTEND_DSP_H */
