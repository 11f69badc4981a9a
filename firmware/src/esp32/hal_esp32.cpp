/*
 * hal_esp32.cpp: the hardware layer of the ESP32 board (Arduino framework).
 *
 * DHT22 on TINYAD_DHT_PIN (Adafruit "DHT sensor library"), LED on TINYAD_LED_PIN,
 * buzzer on TINYAD_BUZZER_PIN (active high), serial lines at TINYAD_BAUD, all from
 * the generated tinyad_config.h.  Between readings, by TINYAD_SLEEP_MODE (a build
 * flag: 0 busy delay, 1 light sleep, 2 deep sleep; the DVC stage sets it from params
 * firmware.sleep).  The clock: seconds of the RTC, which keep counting through deep
 * sleep; on a cold boot it is set to TINYAD_CLOCK_START (local time as seconds since
 * 1970-01-01, default 0 = midnight), so the time-of-day features are only right when
 * the board is started at that time or the clock is set otherwise (NTP is not used).
 * Nothing here decides anything: validation, features, model and alerts are the
 * portable code in lib/, compiled and tested on the host.
 */
#include <Arduino.h>
#include <DHT.h>
#include <driver/gpio.h>
#include <esp_sleep.h>
#include <sys/time.h>

#include "hal.h"
#include "tinyad_generated.h"

#ifndef TINYAD_SLEEP_MODE
#define TINYAD_SLEEP_MODE 0
#endif
#ifndef TINYAD_CLOCK_START
#define TINYAD_CLOCK_START 0
#endif

static DHT g_dht(TINYAD_DHT_PIN, DHT22);

void hal_init(void)
{
    const bool woke_from_deep_sleep = esp_sleep_get_wakeup_cause() == ESP_SLEEP_WAKEUP_TIMER;
    Serial.begin(TINYAD_BAUD);
    gpio_hold_dis((gpio_num_t)TINYAD_LED_PIN);
    gpio_hold_dis((gpio_num_t)TINYAD_BUZZER_PIN);
    pinMode(TINYAD_LED_PIN, OUTPUT);
    pinMode(TINYAD_BUZZER_PIN, OUTPUT);
    if (!woke_from_deep_sleep) {
        struct timeval tv;
        tv.tv_sec = (time_t)TINYAD_CLOCK_START;
        tv.tv_usec = 0;
        settimeofday(&tv, NULL);
    }
    g_dht.begin();
}

int hal_read_sensor(tinyad_raw_t *out)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    out->t = (int64_t)tv.tv_sec;
    out->second_of_week = tinyad_second_of_week((int64_t)tv.tv_sec);
    /* The library returns NaN for a timeout and for a bad checksum alike. */
    out->status = TINYAD_READ_OK;
    out->temp_c = g_dht.readTemperature();
    out->humidity = g_dht.readHumidity();
    return 1;
}

uint32_t hal_millis(void)
{
    return millis();
}

void hal_sleep_until_next(uint32_t start_ms, uint32_t period_s)
{
    const uint64_t period_ms = (uint64_t)period_s * 1000u;
    const uint32_t elapsed = millis() - start_ms;
    const uint64_t wait_ms = elapsed < period_ms ? period_ms - elapsed : 0;
#if TINYAD_SLEEP_MODE == 2
    /* Deep sleep: the CPU restarts in setup(); the app state is in RTC memory. */
    Serial.flush();
    gpio_hold_en((gpio_num_t)TINYAD_LED_PIN);
    gpio_hold_en((gpio_num_t)TINYAD_BUZZER_PIN);
    gpio_deep_sleep_hold_en();
    esp_sleep_enable_timer_wakeup(wait_ms * 1000u);
    esp_deep_sleep_start();
#elif TINYAD_SLEEP_MODE == 1
    Serial.flush();
    esp_sleep_enable_timer_wakeup(wait_ms * 1000u);
    esp_light_sleep_start();
#else
    delay((uint32_t)wait_ms);
#endif
}

void hal_led(int on)
{
    digitalWrite(TINYAD_LED_PIN, on ? HIGH : LOW);
}

void hal_buzzer(int on)
{
    digitalWrite(TINYAD_BUZZER_PIN, on ? HIGH : LOW);
}

void hal_serial_write_line(const char *line)
{
    Serial.write(line);
    Serial.write('\n');
}
