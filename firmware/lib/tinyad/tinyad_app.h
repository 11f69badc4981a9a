/*
 * tinyad_app.h: one reading in, serial lines and LED/buzzer out.
 *
 * tinyad_app_step() is the whole per-reading logic of the device: validate the raw
 * reading (a fault prints a "fault" line and stops there), push it into the
 * generated feature window, run the int8 model once the window is full, run the
 * alert state machine, and on a change print an "alert"/"clear" line and switch the
 * LED and buzzer; every `status_every` valid readings it prints a "status" line.
 * Both targets' main loops call it; the state is one plain struct so that deep sleep
 * can keep it in RTC memory.
 *
 * Log mode (TINYAD_MODE_LOG; build flag -D TINYAD_LOG_MODE=1 makes it the default,
 * the simulator's --mode log picks it at run time) streams every reading for
 * collecting training data: one "reading" line a reading, valid or failed, in place
 * of the "status" and "fault" lines; the model, the alerts ("alert"/"clear" lines)
 * and the LED/buzzer work as in the alerting mode.
 */
#ifndef TINYAD_APP_H
#define TINYAD_APP_H

#include <stdint.h>

#include "tinyad_alerts.h"
#include "tinyad_generated.h"
#include "tinyad_baseline.h" /* after the generated config, which may set its constants */
#include "tinyad_sample.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TINYAD_APP_MAGIC 0x54414432u /* "TAD2": the state below is initialised */

#define TINYAD_MODE_ALERT 0u /* alert, clear, status and fault lines */
#define TINYAD_MODE_LOG 1u   /* alert, clear and one reading line for every reading */

#ifndef TINYAD_LOG_MODE
#define TINYAD_LOG_MODE 0 /* build flag: 1 starts in log mode */
#endif

typedef struct {
    uint32_t magic;
    uint32_t mode;         /* TINYAD_MODE_* */
    uint32_t status_every; /* 0: no status lines (alert mode) */
    uint32_t valid_count;  /* valid readings since the last status line */
    tinyad_features_t features;
    tinyad_alert_state_t alert;
#if TINYAD_BASELINE_CORRECTION
    tinyad_baseline_t base_temp; /* drift remedy (tinyad_baseline.h) */
    tinyad_baseline_t base_hum;
#endif
} tinyad_app_t;

/* The alert configuration from the generated tinyad_config.h. */
tinyad_alert_cfg_t tinyad_app_alert_cfg(void);

/* Initialise; the mode is TINYAD_MODE_LOG when built with TINYAD_LOG_MODE=1. */
void tinyad_app_init(tinyad_app_t *app, uint32_t status_every);
/* Switch the mode (TINYAD_MODE_ALERT or TINYAD_MODE_LOG; anything else: alert). */
void tinyad_app_set_mode(tinyad_app_t *app, uint32_t mode);
int tinyad_app_is_initialised(const tinyad_app_t *app);
void tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw);

/* The inference the app runs: the generated plain-C model, or with TINYAD_USE_TFLM the
 * TensorFlow Lite Micro interpreter (tinyad_device.c over src/tflm/model_tflm.cpp), same signature. */
void tinyad_model_tflm_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_APP_H */
