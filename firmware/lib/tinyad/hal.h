/*
 * hal.h: the hardware layer the portable firmware talks to.
 *
 * One implementation per target: src/esp32/hal_esp32.cpp (Arduino, DHT22, GPIO,
 * Serial, light/deep sleep) and src/host/hal_host.c (the simulator: readings come
 * from standard input, serial lines go to standard output).  Everything else in the
 * firmware is portable C99 in lib/ and is compiled and tested on the host.
 */
#ifndef TINYAD_HAL_H
#define TINYAD_HAL_H

#include <stdint.h>

#include "tinyad_sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set up the sensor, LED, buzzer and serial port. */
void hal_init(void);

/*
 * Take one reading into *out: its time (out->t, seconds; out->second_of_week),
 * the read status and the raw values as the sensor library reported them (which may
 * be NaN or an error value: validation is not the HAL's job).
 * Returns 1 when a reading was taken (valid or not), 0 when there are no more
 * readings (the simulator reached the end of its input; never on the device).
 */
int hal_read_sensor(tinyad_raw_t *out);

/* Milliseconds since start-up (wraps after ~49 days). */
uint32_t hal_millis(void);

/* Wait until the next reading is due, the last one having started at start_ms
 * (device: delay, light sleep or deep sleep by TINYAD_SLEEP_MODE; simulator: no-op). */
void hal_sleep_until_next(uint32_t start_ms, uint32_t period_s);

void hal_led(int on);
void hal_buzzer(int on);

/* Write one line (no newline in `line`; the HAL adds the line end). */
void hal_serial_write_line(const char *line);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_HAL_H */
