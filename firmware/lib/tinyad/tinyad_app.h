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
 */
#ifndef TINYAD_APP_H
#define TINYAD_APP_H

#include <stdint.h>

#include "tinyad_alerts.h"
#include "tinyad_generated.h"
#include "tinyad_sample.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TINYAD_APP_MAGIC 0x54414431u /* "TAD1": the state below is initialised */

typedef struct {
    uint32_t magic;
    uint32_t status_every; /* 0: no status lines */
    uint32_t valid_count;  /* valid readings since the last status line */
    tinyad_features_t features;
    tinyad_alert_state_t alert;
} tinyad_app_t;

/* The alert configuration from the generated tinyad_config.h. */
tinyad_alert_cfg_t tinyad_app_alert_cfg(void);

void tinyad_app_init(tinyad_app_t *app, uint32_t status_every);
int tinyad_app_is_initialised(const tinyad_app_t *app);
void tinyad_app_step(tinyad_app_t *app, const tinyad_raw_t *raw);

/* The inference the app runs: the generated plain-C model, or with TINYAD_USE_TFLM the
 * TensorFlow Lite Micro interpreter (src/tflm/model_tflm.cpp), same signature. */
void tinyad_model_tflm_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_APP_H */
