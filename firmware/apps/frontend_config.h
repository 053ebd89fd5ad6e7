/*
 * frontend_config.h - the frontend config of the QEMU test apps (mfcc_dump, frontend_stages):
 * every field from the generated tables (kws_mfcc_tables.h), so that the apps follow the
 * MfccConfig they were built for.
 */
#ifndef APP_FRONTEND_CONFIG_H
#define APP_FRONTEND_CONFIG_H

#include "kws_frontend.h"
#include "kws_mfcc_tables.h"

static const kws_frontend_config config = {
    .sample_rate = KWS_MFCC_SAMPLE_RATE,
    .frame_length = KWS_MFCC_FRAME_LENGTH,
    .hop_length = KWS_MFCC_HOP_LENGTH,
    .fft_length = KWS_MFCC_FFT_LENGTH,
    .n_mels = KWS_MFCC_N_MELS,
    .n_mfcc = KWS_MFCC_N_MFCC,
    .window = kws_mfcc_window,
    .mel_positions = kws_mfcc_mel_positions,
    .mel_lengths = kws_mfcc_mel_lengths,
    .mel_coefs = kws_mfcc_mel_coefs,
    .dct = kws_mfcc_dct,
    .split_a = kws_mfcc_split_a,
    .split_b = kws_mfcc_split_b,
};

#endif /* APP_FRONTEND_CONFIG_H */
