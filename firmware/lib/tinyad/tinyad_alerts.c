/* tinyad_alerts.c: the alert state machine (see tinyad_alerts.h). */
#include "tinyad_alerts.h"

/* The alert's part of the state; the repeat count survives a clear. */
static void reset_alert(tinyad_alert_state_t *state)
{
    state->active = 0;
    state->run_model = 0;
    state->run_threshold = 0;
    state->run_stuck = 0;
    state->anomalous_run = 0;
    state->normal_run = 0;
}

void tinyad_alert_init(tinyad_alert_state_t *state)
{
    reset_alert(state);
    state->has_last = 0;
    state->last_temp10 = 0;
    state->last_hum10 = 0;
    state->repeats = 0;
}

static void count_repeat(tinyad_alert_state_t *state, const tinyad_alert_cfg_t *cfg, const tinyad_sample_t *sample)
{
    const int same = state->has_last && sample->temp10 == state->last_temp10 &&
                     (!cfg->stuck_hum || sample->hum10 == state->last_hum10);
    if (!same) {
        state->repeats = 0;
    } else if (state->repeats < UINT16_MAX) {
        state->repeats++;
    }
    state->has_last = 1;
    state->last_temp10 = sample->temp10;
    state->last_hum10 = sample->hum10;
}

tinyad_alert_event_t tinyad_alert_step(tinyad_alert_state_t *state, const tinyad_alert_cfg_t *cfg,
                                       const tinyad_sample_t *sample, int has_score, int score,
                                       tinyad_alert_flags_t *flags)
{
    uint8_t model, raising, threshold, stuck;
    int anomalous, at_once;
    tinyad_alert_event_t event = TINYAD_ALERT_NONE;

    count_repeat(state, cfg, sample);
    model = (uint8_t)(has_score && score >= cfg->decision_q);
    raising = (uint8_t)(has_score && score >= cfg->raise_q);
    threshold = (uint8_t)(sample->temp10 < cfg->temp_lo || sample->temp10 > cfg->temp_hi ||
                          (sample->has_hum && (sample->hum10 < cfg->hum_lo || sample->hum10 > cfg->hum_hi)));
    stuck = (uint8_t)(cfg->stuck_run > 0 && state->repeats >= cfg->stuck_run);
    anomalous = model || threshold || stuck;
    at_once = (has_score && score >= cfg->instant_q) || threshold || stuck;

    flags->model = model;
    flags->threshold = threshold;
    flags->stuck = stuck;
    flags->alert_model = 0;
    flags->alert_threshold = 0;
    flags->alert_stuck = 0;

    if (!state->active) {
        if (raising || threshold || stuck) {
            if (state->anomalous_run < UINT16_MAX) {
                state->anomalous_run++;
            }
            state->run_model = (uint8_t)(state->run_model | raising);
            state->run_threshold = (uint8_t)(state->run_threshold | threshold);
            state->run_stuck = (uint8_t)(state->run_stuck | stuck);
            if (state->anomalous_run >= cfg->consecutive || at_once) {
                state->active = 1;
                state->normal_run = 0;
                flags->alert_model = state->run_model;
                flags->alert_threshold = state->run_threshold;
                flags->alert_stuck = state->run_stuck;
                event = TINYAD_ALERT_RAISED;
            }
        } else {
            state->anomalous_run = 0;
            state->run_model = 0;
            state->run_threshold = 0;
            state->run_stuck = 0;
        }
    } else if (anomalous) {
        state->normal_run = 0;
    } else {
        if (state->normal_run < UINT16_MAX) {
            state->normal_run++;
        }
        if (state->normal_run >= cfg->clear_after) {
            reset_alert(state);
            event = TINYAD_ALERT_CLEARED;
        }
    }
    return event;
}
