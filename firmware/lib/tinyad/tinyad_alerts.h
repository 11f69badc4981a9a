/*
 * tinyad_alerts.h: the alert state machine (model decision + threshold safety net).
 *
 * Inputs per VALID reading (faulty readings never reach it): the reading in tenths
 * and, once the feature window is full, the model's int8 output code ("score").
 *
 *   model      = has_score && score >= decision_q        (decision_q 128: never)
 *   raising    = has_score && score >= raise_q           (decision_q <= raise_q)
 *   threshold  = temp10 < temp_lo || temp10 > temp_hi
 *                || (has_hum && (hum10 < hum_lo || hum10 > hum_hi))
 *   stuck      = stuck_run > 0 && repeats >= stuck_run
 *   anomalous  = model || threshold || stuck
 *   at_once    = (has_score && score >= instant_q) || threshold || stuck
 *                                                        (instant_q 128: never)
 *
 * `repeats` counts the valid readings just before this one that equal it (temp10,
 * and hum10 when stuck_hum): the `run` feature of the model's window, not capped.  A
 * stuck sensor is absolute evidence, as the alarm band is: the labelling flags a
 * repeat of `stuck_run` readings (tinyad.data.labeling.stuck_span, learnt from the
 * room's own repeats), and a model that never saw one in its history cannot learn
 * it, so the device applies the same rule itself.
 *
 * Idle: a reading that is raising, past the band or stuck adds one to a run (and
 * ORs its rules into the run's flags), any other resets the run.  When the run reaches `consecutive`, or the
 * reading is evidence enough on its own (`at_once`), the alert is RAISED, carrying
 * the run's flags.  Active: an anomalous reading resets the count of normal readings;
 * when `clear_after` normal readings in a row are seen, the alert is CLEARED.
 *
 * The raise code is a hysteresis: a model reading must reach `raise_q` to raise an
 * alert, and one at `decision_q` or above holds it.  A reading of a normal hour the
 * history never showed (a drier night, a new season) lands between the two more
 * often than an event does; tinyad/learn/calibration.py sets raise_q part of the way
 * from decision_q to the highest code that raises on as many of the history's
 * events (alerts.raise_margin; raise_q == decision_q: no hysteresis).
 *
 * The debounce (`consecutive`) is for the model's weak decisions, where one reading
 * is often flicker: a reading past the alarm band or a stuck sensor is absolute
 * evidence and raises at once, and so does a model code at or above `instant_q`
 * (tinyad/learn/calibration.py picks the decision, raise and instant codes on the
 * room's history; instant_q is 128 when the debounce is 1 or not calibrated).  So with consecutive >= 2, a lone model reading
 * under instant_q never alerts.
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
    int16_t instant_q;     /* code at or above which one reading raises at once (128: never) */
    int16_t raise_q;       /* code an idle alert's model readings must reach (decision_q..instant_q) */
    int16_t temp_lo;       /* alarm below, tenths of deg C */
    int16_t temp_hi;       /* alarm above */
    int16_t hum_lo;        /* alarm below, tenths of %RH */
    int16_t hum_hi;        /* alarm above */
    uint16_t stuck_run;    /* repeats at or above which the sensor is stuck (0: never) */
    uint8_t stuck_hum;     /* repeats compare humidity too (the model uses it) */
} tinyad_alert_cfg_t;

typedef struct {
    uint8_t active;
    uint8_t run_model;     /* rules that fired during the current anomalous run */
    uint8_t run_threshold;
    uint8_t run_stuck;
    uint16_t anomalous_run;
    uint16_t normal_run;
    uint8_t has_last;      /* the repeat count: kept when an alert clears */
    int16_t last_temp10;
    int16_t last_hum10;
    uint16_t repeats;
} tinyad_alert_state_t;

typedef enum {
    TINYAD_ALERT_NONE = 0,
    TINYAD_ALERT_RAISED,
    TINYAD_ALERT_CLEARED
} tinyad_alert_event_t;

typedef struct {
    uint8_t model;        /* this reading's rules */
    uint8_t threshold;
    uint8_t stuck;
    uint8_t alert_model;  /* for RAISED: the rules of the run that raised it */
    uint8_t alert_threshold;
    uint8_t alert_stuck;
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
