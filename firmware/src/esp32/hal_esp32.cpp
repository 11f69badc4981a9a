/* hal_esp32.cpp: the ESP32 hardware layer (Arduino): DHT22 (Adafruit "DHT sensor
 * library"), LED, buzzer, Serial, sleep by TINYAD_SLEEP_MODE, the RTC clock (see
 * firmware/README.md).  No logic: that is lib/tinyad, compiled and tested on the host. */
#include <Arduino.h>
#include <DHT.h>
#include <driver/gpio.h>
#include <esp_sleep.h>
#include <sys/time.h>

#include "hal.h"
#include "tinyad_device.h"

static DHT g_dht(TINYAD_DHT_PIN, DHT22);
static const gpio_num_t k_led = static_cast<gpio_num_t>(TINYAD_LED_PIN);
static const gpio_num_t k_buzzer = static_cast<gpio_num_t>(TINYAD_BUZZER_PIN);

void hal_init(void)
{
    const bool woke_from_deep_sleep = esp_sleep_get_wakeup_cause() == ESP_SLEEP_WAKEUP_TIMER;
    Serial.begin(TINYAD_BAUD);
    gpio_hold_dis(k_led);
    gpio_hold_dis(k_buzzer);
    pinMode(TINYAD_LED_PIN, OUTPUT);
    pinMode(TINYAD_BUZZER_PIN, OUTPUT);
    if (!woke_from_deep_sleep) {
        const struct timeval tv = {static_cast<time_t>(TINYAD_CLOCK_START), 0};
        settimeofday(&tv, nullptr);
    }
    g_dht.begin();
}

int hal_read_sensor(tinyad_raw_t *out)
{
    struct timeval tv;
    gettimeofday(&tv, nullptr);
    const float temp_c = g_dht.readTemperature();
    const float humidity = g_dht.readHumidity();
    tinyad_raw_reading(out, static_cast<int64_t>(tv.tv_sec), static_cast<double>(temp_c),
                       static_cast<double>(humidity));
    return 1;
}

uint32_t hal_millis(void)
{
    return static_cast<uint32_t>(millis());
}

void hal_sleep_until_next(uint32_t start_ms, uint32_t period_s)
{
    const uint64_t wait_ms = tinyad_wait_ms(start_ms, hal_millis(), period_s);
#if TINYAD_SLEEP_MODE == 2
    Serial.flush(); /* deep sleep: the CPU restarts in setup(), the app state is in RTC memory */
    gpio_hold_en(k_led);
    gpio_hold_en(k_buzzer);
    gpio_deep_sleep_hold_en();
    esp_sleep_enable_timer_wakeup(wait_ms * 1000u);
    esp_deep_sleep_start();
#elif TINYAD_SLEEP_MODE == 1
    Serial.flush();
    esp_sleep_enable_timer_wakeup(wait_ms * 1000u);
    esp_light_sleep_start();
#else
    delay(static_cast<uint32_t>(wait_ms));
#endif
}

void hal_led(int on) { digitalWrite(TINYAD_LED_PIN, on ? HIGH : LOW); }
void hal_buzzer(int on) { digitalWrite(TINYAD_BUZZER_PIN, on ? HIGH : LOW); }

void hal_serial_write_line(const char *line)
{
    Serial.write(line);
    Serial.write('\n');
}
