/* tinyad_device.c: the device's setup/loop and HAL helpers (see tinyad_device.h). */
#include "tinyad_device.h"

#include <string.h>

#include "hal.h"

void tinyad_device_setup(tinyad_app_t *app, uint32_t status_every)
{
    hal_init();
    if (!tinyad_app_is_initialised(app)) {
        tinyad_app_init(app, status_every);
    }
    hal_led(app->alert.active);
    hal_buzzer(app->alert.active);
}

int tinyad_device_loop(tinyad_app_t *app)
{
    tinyad_raw_t raw;
    const uint32_t start = hal_millis();
    const int got = hal_read_sensor(&raw);
    if (got) {
        tinyad_app_step(app, &raw);
    }
    hal_sleep_until_next(start, TINYAD_PERIOD_S);
    return got;
}

uint64_t tinyad_wait_ms(uint32_t start_ms, uint32_t now_ms, uint32_t period_s)
{
    const uint64_t period_ms = (uint64_t)period_s * 1000u;
    const uint32_t elapsed = now_ms - start_ms;
    return elapsed < period_ms ? period_ms - elapsed : 0;
}

void tinyad_raw_reading(tinyad_raw_t *out, int64_t t, double temp_c, double humidity)
{
    out->t = t;
    out->second_of_week = tinyad_second_of_week(t);
    out->status = TINYAD_READ_OK;
    out->temp_c = temp_c;
    out->humidity = humidity;
}

#ifdef TINYAD_USE_TFLM
/* The model's contract as the generated tinyad_model_invoke(): int8 codes in and out.
 * If the interpreter cannot be set up, the output is the lowest code (-128: normal)
 * from then on and one "error" line says why, so the threshold rules keep working. */
void tinyad_model_tflm_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS])
{
    static int state = 0; /* 0 not set up yet, 1 ready, -1 failed */
    int i;
    for (i = 0; i < TINYAD_N_OUTPUTS; i++) {
        out[i] = -128;
    }
    if (state == 0) {
        const char *err = tinyad_tflm_setup();
        state = err == NULL ? 1 : -1;
        if (err != NULL) {
            char line[160] = "{\"event\":\"error\",\"message\":\"tflm: ";
            strncat(line, err, sizeof line - strlen(line) - 3);
            strcat(line, "\"}");
            hal_serial_write_line(line);
        }
    }
    if (state == 1) {
        (void)tinyad_tflm_run(in, out);
    }
}
#endif
