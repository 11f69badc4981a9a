/*
 * main.cpp: the ESP32 firmware's entry points (environments esp32dev, esp32dev-tflm).
 *
 * The loop is the simulator's: read the sensor, run tinyad_app_step (lib/tinyad),
 * sleep until the next period.  The app state (feature ring buffer, alert state)
 * lives in RTC memory (RTC_DATA_ATTR) so that deep sleep between readings keeps it;
 * its magic number tells a cold boot (initialise) from a wake-up (carry on).
 */
#include <Arduino.h>
#include <esp_attr.h>

#include "hal.h"
#include "tinyad_app.h"

RTC_DATA_ATTR static tinyad_app_t g_app;

void setup()
{
    hal_init();
    if (!tinyad_app_is_initialised(&g_app)) {
        tinyad_app_init(&g_app, TINYAD_STATUS_EVERY);
    }
    hal_led(g_app.alert.active);
    hal_buzzer(g_app.alert.active);
}

void loop()
{
    tinyad_raw_t raw;
    const uint32_t start = hal_millis();
    if (hal_read_sensor(&raw)) {
        tinyad_app_step(&g_app, &raw);
    }
    hal_sleep_until_next(start, TINYAD_PERIOD_S);
}
