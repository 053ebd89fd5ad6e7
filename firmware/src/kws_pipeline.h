/*
 * kws_pipeline.h: the always-on keyword spotter on a microcontroller. int16 audio in, the
 * model's int8 scores and keyword detections out, with the same integers as Python's
 * kws.detector.Detector (and so `kws detect --scores`):
 *
 *   - MFCC frames as kws_frontend (frame i covers samples [i*hop, i*hop + frame_length));
 *   - each q8.7 frame -> int8 model input by the model's input rule, per coefficient c:
 *       int8[c] = clamp((q[c] - offset[c] + (shift[c] ? 1 << (shift[c] - 1) : 0)) >> shift[c], -128, 127);
 *   - inference k on frames f - window_frames + 1 .. f, f = window_frames - 1 + k * inference_every;
 *   - per label, u = score - output_zero_point summed over the last min(k + 1, smoothing)
 *     inferences; the keyword (keyword_index order, first on ties) with the largest sum fires when
 *     that sum >= threshold_sums[count - 1]; then nothing fires for refractory_inferences inferences.
 *
 * CMSIS style: kws_pipeline_init() fills an instance from a config and buffers the caller owns
 * (kws.firmware.generate writes both for a model: kws_pipeline_config.{h,c}); process then
 * works in those buffers only. No malloc, no globals.
 */
#ifndef KWS_PIPELINE_H
#define KWS_PIPELINE_H

#include <stdint.h>

#include "kws_frontend.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Runs the network: input [window_frames * n_mfcc] int8, output [n_labels] int8. 0 on success. */
typedef int (*kws_model_invoke_fn)(const int8_t *input, int8_t *output, int8_t *arena);

typedef struct {
    const kws_frontend_config *frontend;
    uint32_t window_frames;          /**< MFCC frames per inference window (49) */
    uint32_t inference_every;        /**< hops between inferences (10) */
    uint32_t smoothing;              /**< inferences in the moving sum (3), <= KWS_PIPELINE_MAX_SMOOTHING */
    uint32_t refractory_inferences;  /**< inferences after a detection in which nothing fires */
    uint32_t n_labels;               /**< model outputs */
    int32_t output_zero_point;       /**< of the int8 scores (-128 for softmax) */
    const int32_t *input_offsets;    /**< [n_mfcc] q8.7 units */
    const uint8_t *input_shifts;     /**< [n_mfcc] */
    const int32_t *threshold_sums;   /**< [smoothing]: the sum of u that fires, by count */
    uint32_t n_keywords;             /**< labels that may fire (never _silence_/_unknown_) */
    const uint16_t *keyword_index;   /**< [n_keywords] their label indices, in tie-break order */
    const char *const *labels;       /**< [n_labels] names */
    kws_model_invoke_fn invoke;
} kws_pipeline_config;

#define KWS_PIPELINE_MAX_SMOOTHING 16u

/** Memory the caller provides (sizes in elements). */
typedef struct {
    int16_t *samples;     /**< [frontend->frame_length] samples of the frame being filled */
    q15_t *mfcc;          /**< [frontend->n_mfcc] one q8.7 frame */
    int8_t *history;      /**< [window_frames * n_mfcc] ring of int8 model-input frames */
    int8_t *model_input;  /**< [window_frames * n_mfcc] the window, oldest frame first */
    int8_t *scores;       /**< [n_labels] */
    int32_t *recent;      /**< [smoothing * n_labels] the last inferences' u = score - zero point */
    int8_t *arena;        /**< the model's activation arena */
    kws_frontend_scratch frontend;
} kws_pipeline_buffers;

typedef struct {
    const kws_pipeline_config *config;
    kws_pipeline_buffers buffers;
    kws_frontend_instance frontend;
    uint32_t filled;        /**< samples in buffers.samples */
    uint32_t frames;        /**< MFCC frames produced so far */
    uint32_t inferences;    /**< inferences run so far */
    uint32_t quiet_until;   /**< inference index before which nothing fires */
} kws_pipeline_instance;

typedef enum { KWS_EVENT_INFERENCE = 0, KWS_EVENT_DETECTION = 1 } kws_event_kind;

typedef struct {
    kws_event_kind kind;
    uint32_t frame;        /**< index of the newest MFCC frame of the window */
    const int8_t *scores;  /**< [n_labels] the int8 output (both kinds) */
    int32_t label;         /**< DETECTION: the label index that fired; -1 otherwise */
    int32_t sum;           /**< DETECTION: its smoothed sum of u */
    uint32_t count;        /**< DETECTION: inferences in that sum; probability = sum * scale / count */
} kws_event;

/** Called for every inference, then for the detection it makes, if any. */
typedef void (*kws_event_callback)(void *context, const kws_event *event);

/** Check the config and buffers and start a fresh stream. 0 on success, -1 on a bad argument. */
int kws_pipeline_init(kws_pipeline_instance *S, const kws_pipeline_config *config,
                      const kws_pipeline_buffers *buffers);

/** Forget the stream (as a fresh init, keeping config and buffers). */
void kws_pipeline_reset(kws_pipeline_instance *S);

/**
 * Push count int16 mono samples (any count, 0 included). callback (may be NULL) sees each
 * inference and detection they complete, in order. Returns 0, or the first nonzero status of
 * the frontend or the model.
 */
int kws_pipeline_process(kws_pipeline_instance *S, const int16_t *samples, uint32_t count,
                         kws_event_callback callback, void *context);

#ifdef __cplusplus
}
#endif

#endif /* KWS_PIPELINE_H */
