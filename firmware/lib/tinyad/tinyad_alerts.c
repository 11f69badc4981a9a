/* tinyad_alerts.c: the alert state machine (see tinyad_alerts.h). */
#include "tinyad_alerts.h"

void tinyad_alert_init(tinyad_alert_state_t *state)
{
    state->active = 0;
    state->run_model = 0;
    state->run_threshold = 0;
    state->anomalous_run = 0;
    state->normal_run = 0;
}

tinyad_alert_event_t tinyad_alert_step(tinyad_alert_state_t *state, const tinyad_alert_cfg_t *cfg,
                                       const tinyad_sample_t *sample, int has_score, int score,
                                       tinyad_alert_flags_t *flags)
{
    const uint8_t model = (uint8_t)(has_score && score >= cfg->decision_q);
    const uint8_t threshold = (uint8_t)(sample->temp10 < cfg->temp_lo || sample->temp10 > cfg->temp_hi ||
                                        (sample->has_hum && (sample->hum10 < cfg->hum_lo ||
                                                             sample->hum10 > cfg->hum_hi)));
    const int anomalous = model || threshold;
    tinyad_alert_event_t event = TINYAD_ALERT_NONE;

    flags->model = model;
    flags->threshold = threshold;
    flags->alert_model = 0;
    flags->alert_threshold = 0;

    if (!state->active) {
        if (anomalous) {
            if (state->anomalous_run < UINT16_MAX) {
                state->anomalous_run++;
            }
            state->run_model = (uint8_t)(state->run_model | model);
            state->run_threshold = (uint8_t)(state->run_threshold | threshold);
            if (state->anomalous_run >= cfg->consecutive) {
                state->active = 1;
                state->normal_run = 0;
                flags->alert_model = state->run_model;
                flags->alert_threshold = state->run_threshold;
                event = TINYAD_ALERT_RAISED;
            }
        } else {
            state->anomalous_run = 0;
            state->run_model = 0;
            state->run_threshold = 0;
        }
    } else if (anomalous) {
        state->normal_run = 0;
    } else {
        if (state->normal_run < UINT16_MAX) {
            state->normal_run++;
        }
        if (state->normal_run >= cfg->clear_after) {
            tinyad_alert_init(state);
            event = TINYAD_ALERT_CLEARED;
        }
    }
    return event;
}
