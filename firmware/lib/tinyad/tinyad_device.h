/*
 * tinyad_device.h: the device's setup/loop and the board-independent parts of its
 * hardware layer and of the TFLM adapter, kept here (portable C99, compiled and
 * tested on the host and rv32imc) so that the ESP32-only files under src/esp32/ and
 * src/tflm/, which nothing on this project's machines can compile for the board,
 * hold only the calls into Arduino, ESP-IDF, the DHT library and TFLM.
 *
 * The ESP32's app state lives in RTC memory (RTC_DATA_ATTR in src/esp32/main.cpp)
 * so that deep sleep between readings keeps it; its magic number tells a cold boot
 * (initialise) from a wake-up (carry on).  The host simulator (src/host/main.c)
 * runs the same setup and loop.
 */
#ifndef TINYAD_DEVICE_H
#define TINYAD_DEVICE_H

#include <stdint.h>

#include "tinyad_app.h"

/* Build flags of the ESP32 hardware layer: TINYAD_SLEEP_MODE between readings, 0 delay,
 * 1 light sleep, 2 deep sleep (tinyad_config.h from params firmware.sleep; a -D flag wins);
 * TINYAD_CLOCK_START, the RTC's time at a cold boot (local seconds since 1970). */
#ifndef TINYAD_CLOCK_START
#define TINYAD_CLOCK_START 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* setup(): hal_init(), then tinyad_app_init() unless the state survived a deep sleep,
 * then the LED and buzzer as the (possibly carried-over) alert state says. */
void tinyad_device_setup(tinyad_app_t *app, uint32_t status_every);

/* loop(): one reading (hal_read_sensor, tinyad_app_step), then hal_sleep_until_next
 * for the period that started before the read.  Returns hal_read_sensor's result
 * (0: no more readings, which only the simulator reports). */
int tinyad_device_loop(tinyad_app_t *app);

/* Milliseconds left of a period of period_s seconds that started at start_ms, at
 * now_ms (millis() wraps: the difference is taken modulo 2^32); 0 when it is over. */
uint64_t tinyad_wait_ms(uint32_t start_ms, uint32_t now_ms, uint32_t period_s);

/* A sensor read at clock time t (local seconds since 1970): out->t, the second of
 * the week, TINYAD_READ_OK and the values as the library returned them (the DHT
 * library returns NaN for a timeout and for a bad checksum alike). */
void tinyad_raw_reading(tinyad_raw_t *out, int64_t t, double temp_c, double humidity);

#ifdef TINYAD_USE_TFLM
/* The arena: evaluate's measured minimum plus a stated margin (tinyad.codegen.model.TFLM_ARENA_MARGIN). */
#ifndef TINYAD_TFLM_ARENA_BYTES
#error "TINYAD_TFLM_ARENA_BYTES is not in the generated tinyad_model_config.h: rerun `dvc repro codegen`"
#endif
/* Provided by src/tflm/model_tflm.cpp (the TFLM interpreter):
 * tinyad_tflm_setup() builds the interpreter once, returning NULL or what failed;
 * tinyad_tflm_run() runs one inference, writing out[] only on success (returns 1). */
const char *tinyad_tflm_setup(void);
int tinyad_tflm_run(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS]);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_DEVICE_H */
