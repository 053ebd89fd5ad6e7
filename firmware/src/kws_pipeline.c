/*
 * kws_pipeline.c: samples -> MFCC frames -> int8 windows -> scores -> detections, in the
 * integers of kws.detector.Detector (see kws_pipeline.h for the rules).
 */
#include <stddef.h>
#include <string.h>

#include "kws_pipeline.h"

int kws_pipeline_init(kws_pipeline_instance *S, const kws_pipeline_config *config,
                      const kws_pipeline_buffers *buffers)
{
    const kws_frontend_config *fc;

    if (S == NULL || config == NULL || buffers == NULL || config->frontend == NULL || config->invoke == NULL) {
        return -1;
    }
    fc = config->frontend;
    if (config->window_frames < 1u || config->inference_every < 1u || config->smoothing < 1u ||
        config->smoothing > KWS_PIPELINE_MAX_SMOOTHING || config->n_labels < 1u || config->input_offsets == NULL ||
        config->input_shifts == NULL || config->threshold_sums == NULL ||
        (config->n_keywords > 0u && config->keyword_index == NULL)) {
        return -1;
    }
    if (fc->hop_length > fc->frame_length) {
        /* Frames would skip samples; the streaming buffer below assumes they overlap or abut. */
        return -1;
    }
    if (buffers->samples == NULL || buffers->mfcc == NULL || buffers->history == NULL ||
        buffers->model_input == NULL || buffers->scores == NULL || buffers->recent == NULL) {
        return -1;
    }
    if (kws_frontend_init(&S->frontend, fc) != ARM_MATH_SUCCESS) {
        return -1;
    }
    S->config = config;
    S->buffers = *buffers;
    kws_pipeline_reset(S);
    return 0;
}

void kws_pipeline_reset(kws_pipeline_instance *S)
{
    S->filled = 0u;
    S->frames = 0u;
    S->inferences = 0u;
    S->quiet_until = 0u;
}

/* q8.7 frame -> int8 model-input frame, by the model's per-coefficient offset and shift. */
static void apply_input_rule(const kws_pipeline_config *config, uint32_t n_mfcc, const q15_t *mfcc, int8_t *out)
{
    uint32_t c;

    for (c = 0u; c < n_mfcc; c++) {
        int32_t shift = config->input_shifts[c];
        int32_t value = (int32_t)mfcc[c] - config->input_offsets[c];
        if (shift > 0) {
            value = (value + (1 << (shift - 1))) >> shift; /* halves round up, as numpy's >> after + */
        }
        if (value < -128) {
            value = -128;
        } else if (value > 127) {
            value = 127;
        }
        out[c] = (int8_t)value;
    }
}

/* One inference on the window ending at frame `frame`, then the smoothing and threshold rule. */
static int infer_and_decide(kws_pipeline_instance *S, uint32_t frame, kws_event_callback callback, void *context)
{
    const kws_pipeline_config *config = S->config;
    const kws_pipeline_buffers *b = &S->buffers;
    uint32_t n_mfcc = config->frontend->n_mfcc;
    uint32_t window = config->window_frames;
    uint32_t n_labels = config->n_labels;
    uint32_t oldest = (frame + 1u) % window; /* ring slot of the window's first frame */
    uint32_t slot_bytes = n_mfcc;
    uint32_t count;
    uint32_t i;
    uint32_t label;
    int32_t best_label = -1;
    int32_t best_sum = 0;
    int32_t *row;
    kws_event event;
    int status;

    /* Unroll the ring, oldest frame first. */
    memcpy(b->model_input, b->history + oldest * slot_bytes, (window - oldest) * slot_bytes);
    memcpy(b->model_input + (window - oldest) * slot_bytes, b->history, oldest * slot_bytes);
    status = config->invoke(b->model_input, b->scores, b->arena);
    if (status != 0) {
        return status;
    }

    row = b->recent + (S->inferences % config->smoothing) * n_labels;
    for (label = 0u; label < n_labels; label++) {
        row[label] = (int32_t)b->scores[label] - config->output_zero_point;
    }
    S->inferences++;
    count = S->inferences < config->smoothing ? S->inferences : config->smoothing;

    event.kind = KWS_EVENT_INFERENCE;
    event.frame = frame;
    event.scores = b->scores;
    event.label = -1;
    event.sum = 0;
    event.count = count;
    if (callback != NULL) {
        callback(context, &event);
    }
    if (S->inferences - 1u < S->quiet_until) {
        return 0;
    }
    /* Slots fill in order, so the first `count` rows are the live ones. */
    for (i = 0u; i < config->n_keywords; i++) {
        uint32_t k;
        int32_t sum = 0;
        label = config->keyword_index[i];
        for (k = 0u; k < count; k++) {
            sum += b->recent[k * n_labels + label];
        }
        if (best_label < 0 || sum > best_sum) { /* first keyword wins ties, as numpy's argmax */
            best_label = (int32_t)label;
            best_sum = sum;
        }
    }
    if (best_label >= 0 && best_sum >= config->threshold_sums[count - 1u]) {
        S->quiet_until = S->inferences + config->refractory_inferences;
        event.kind = KWS_EVENT_DETECTION;
        event.label = best_label;
        event.sum = best_sum;
        if (callback != NULL) {
            callback(context, &event);
        }
    }
    return 0;
}

int kws_pipeline_process(kws_pipeline_instance *S, const int16_t *samples, uint32_t count,
                         kws_event_callback callback, void *context)
{
    const kws_pipeline_config *config = S->config;
    const kws_frontend_config *fc = config->frontend;
    const kws_pipeline_buffers *b = &S->buffers;
    uint32_t frame_length = fc->frame_length;
    uint32_t hop = fc->hop_length;
    uint32_t first = config->window_frames - 1u;

    while (count > 0u) {
        uint32_t take = frame_length - S->filled;
        uint32_t frame;
        int status;

        if (take > count) {
            take = count;
        }
        memcpy(b->samples + S->filled, samples, take * sizeof(int16_t));
        S->filled += take;
        samples += take;
        count -= take;
        if (S->filled < frame_length) {
            break;
        }
        if (kws_frontend_process_frame(&S->frontend, b->samples, b->mfcc, &b->frontend) != ARM_MATH_SUCCESS) {
            return -1;
        }
        frame = S->frames++;
        apply_input_rule(config, fc->n_mfcc, b->mfcc, b->history + (frame % config->window_frames) * fc->n_mfcc);
        /* Keep the overlap: the next frame starts hop samples later. */
        memmove(b->samples, b->samples + hop, (frame_length - hop) * sizeof(int16_t));
        S->filled = frame_length - hop;

        if (frame >= first && (frame - first) % config->inference_every == 0u) {
            status = infer_and_decide(S, frame, callback, context);
            if (status != 0) {
                return status;
            }
        }
    }
    return 0;
}
