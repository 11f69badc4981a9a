/*
 * tinyad_alerts.h: the alert state machine (model decision + threshold safety net).
 *
 * Inputs per VALID reading (faulty readings never reach it): the reading in tenths
 * and, once the feature window is full, the model's int8 output code ("score").
 *
 *   model      = has_score && score >= decision_q        (decision_q 128: never)
 *   threshold  = temp10 < temp_lo || temp10 > temp_hi
 *                || (has_hum && (hum10 < hum_lo || hum10 > hum_hi))
 *   anomalous  = model || threshold
 *
 * Idle: an anomalous reading adds one to a run (and ORs its rules into the run's
 * flags), a normal one resets the run.  When the run reaches `consecutive`, the alert
 * is RAISED, carrying the run's flags.  Active: an anomalous reading resets the count
 * of normal readings; when `clear_after` normal readings in a row are seen, the alert
 * is CLEARED.  So with consecutive >= 2, a single spike never alerts.
 *
 * Mirrored exactly by tinyad/device/alerts.py (AlertState).
 */
#ifndef TINYAD_ALERTS_H
#define TINYAD_ALERTS_H

#include <stdint.h>

#include "tinyad_sample.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint16_t consecutive;  /* anomalous readings in a row before an alert (>= 1) */
    uint16_t clear_after;  /* normal readings in a row before it clears (>= 1) */
    int16_t decision_q;    /* int8 output code at or above which the model says anomalous */
    int16_t temp_lo;       /* alarm below, tenths of deg C */
    int16_t temp_hi;       /* alarm above */
    int16_t hum_lo;        /* alarm below, tenths of %RH */
    int16_t hum_hi;        /* alarm above */
} tinyad_alert_cfg_t;

typedef struct {
    uint8_t active;
    uint8_t run_model;     /* rules that fired during the current anomalous run */
    uint8_t run_threshold;
    uint16_t anomalous_run;
    uint16_t normal_run;
} tinyad_alert_state_t;

typedef enum {
    TINYAD_ALERT_NONE = 0,
    TINYAD_ALERT_RAISED,
    TINYAD_ALERT_CLEARED
} tinyad_alert_event_t;

typedef struct {
    uint8_t model;        /* this reading's rules */
    uint8_t threshold;
    uint8_t alert_model;  /* for RAISED: the rules of the run that raised it */
    uint8_t alert_threshold;
} tinyad_alert_flags_t;

void tinyad_alert_init(tinyad_alert_state_t *state);

/* One valid reading; returns what changed and fills *flags. */
tinyad_alert_event_t tinyad_alert_step(tinyad_alert_state_t *state, const tinyad_alert_cfg_t *cfg,
                                       const tinyad_sample_t *sample, int has_score, int score,
                                       tinyad_alert_flags_t *flags);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_ALERTS_H */
