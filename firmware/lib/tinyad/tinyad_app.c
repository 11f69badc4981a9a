/* tinyad_app.c: the per-reading logic (see tinyad_app.h). */
#include "tinyad_app.h"

#include "hal.h"
#include "tinyad_format.h"

#ifdef TINYAD_USE_TFLM
#define TINYAD_INFER tinyad_model_tflm_invoke
#else
#define TINYAD_INFER tinyad_model_invoke
#endif

tinyad_alert_cfg_t tinyad_app_alert_cfg(void)
{
    tinyad_alert_cfg_t cfg;
    cfg.consecutive = (uint16_t)TINYAD_ALERT_CONSECUTIVE;
    cfg.clear_after = (uint16_t)TINYAD_ALERT_CLEAR_AFTER;
    cfg.decision_q = (int16_t)TINYAD_DECISION_Q;
    cfg.instant_q = (int16_t)TINYAD_INSTANT_Q;
    cfg.raise_q = (int16_t)TINYAD_RAISE_Q;
    cfg.temp_lo = (int16_t)TINYAD_TEMP_ALARM_LO;
    cfg.temp_hi = (int16_t)TINYAD_TEMP_ALARM_HI;
    cfg.hum_lo = (int16_t)TINYAD_HUM_ALARM_LO;
    cfg.hum_hi = (int16_t)TINYAD_HUM_ALARM_HI;
    cfg.stuck_run = (uint16_t)TINYAD_STUCK_RUN;
    cfg.stuck_hum = (uint8_t)(TINYAD_USE_HUMIDITY != 0);
    return cfg;
}

void tinyad_app_init(tinyad_app_t *app, uint32_t status_every)
{
    app->magic = TINYAD_APP_MAGIC;
    app->mode = TINYAD_LOG_MODE ? TINYAD_MODE_LOG : TINYAD_MODE_ALERT;
    app->status_every = status_every;
    app->valid_count = 0;
    tinyad_features_init(&app->features);
    tinyad_alert_init(&app->alert);
#if TINYAD_BASELINE_CORRECTION
    tinyad_baseline_init(&app->base_temp, TINYAD_BASELINE_REF_TEMP10, TINYAD_BASELINE_SHIFT, TINYAD_BASELINE_FRAC_BITS);
    tinyad_baseline_init(&app->base_hum, TINYAD_BASELINE_REF_HUM10, TINYAD_BASELINE_SHIFT, TINYAD_BASELINE_FRAC_BITS);
#endif
}

void tinyad_app_set_mode(tinyad_app_t *app, uint32_t mode)
{
    app->mode = mode == TINYAD_MODE_LOG ? TINYAD_MODE_LOG : TINYAD_MODE_ALERT;
}

int tinyad_app_is_initialised(const tinyad_app_t *app)
{
    return app->magic == TINYAD_APP_MAGIC;
}

static void emit(const tinyad_line_t *line)
{
    char buf[TINYAD_LINE_MAX];
    if (tinyad_format_line(buf, sizeof buf, line) > 0) {
        hal_serial_write_line(buf);
    }
}

void tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw)
{
    static const tinyad_line_t empty_line = {TINYAD_LINE_STATUS, 0, TINYAD_FAULT_NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const tinyad_alert_cfg_t cfg = tinyad_app_alert_cfg();
    tinyad_sample_t sample;
    tinyad_line_t line = empty_line;
    tinyad_alert_flags_t flags;
    tinyad_alert_event_t event;
    int8_t in[TINYAD_N_INPUTS];
    int8_t out[TINYAD_N_OUTPUTS];
    int has_score;
    const tinyad_fault_t fault = tinyad_sample_check(raw, TINYAD_USE_HUMIDITY, &sample);

    if (fault != TINYAD_FAULT_NONE) {
        line.kind = app->mode == TINYAD_MODE_LOG ? TINYAD_LINE_READING : TINYAD_LINE_FAULT;
        line.t = raw->t;
        line.fault = fault;
        emit(&line);
        return;
    }

#if TINYAD_BASELINE_CORRECTION
    /* drift remedy: the features and the seed rule see the corrected reading; the
     * lines below report it too (what the device decided on) */
    sample.temp10 = (int16_t)tinyad_baseline_step(&app->base_temp, sample.temp10);
    if (TINYAD_USE_HUMIDITY) {
        sample.hum10 = (int16_t)tinyad_baseline_step(&app->base_hum, sample.hum10);
    }
#endif
    has_score = tinyad_features_push(&app->features, sample.temp10, sample.hum10, sample.second_of_week, in) != 0;
    out[0] = 0;
    if (has_score) {
        TINYAD_INFER(in, out);
    }
    event = tinyad_alert_step(&app->alert, &cfg, &sample, has_score, out[0], &flags);

    line.t = sample.t;
    line.temp10 = sample.temp10;
    line.hum10 = sample.hum10;
    line.has_hum = sample.has_hum;
    line.has_score = (uint8_t)has_score;
    line.score = out[0];
    if (event == TINYAD_ALERT_RAISED) {
        line.kind = TINYAD_LINE_ALERT;
        line.model = flags.alert_model;
        line.threshold = flags.alert_threshold;
        line.stuck = flags.alert_stuck;
        emit(&line);
        hal_led(1);
        hal_buzzer(1);
    } else if (event == TINYAD_ALERT_CLEARED) {
        line.kind = TINYAD_LINE_CLEAR;
        line.model = flags.model;
        line.threshold = flags.threshold;
        line.stuck = flags.stuck;
        emit(&line);
        hal_led(0);
        hal_buzzer(0);
    }

    if (app->mode == TINYAD_MODE_LOG) {
        line.kind = TINYAD_LINE_READING;
        line.model = flags.model;
        line.threshold = flags.threshold;
        line.stuck = flags.stuck;
        line.alert = app->alert.active;
        emit(&line);
        return;
    }
    app->valid_count++;
    if (app->status_every > 0 && app->valid_count >= app->status_every) {
        app->valid_count = 0;
        line.kind = TINYAD_LINE_STATUS;
        line.model = flags.model;
        line.threshold = flags.threshold;
        line.stuck = flags.stuck;
        line.alert = app->alert.active;
        emit(&line);
    }
}
