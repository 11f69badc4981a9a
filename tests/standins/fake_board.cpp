/* fake_board.cpp: the behaviour behind the stand-in headers, for the one host run of
 * the esp32dev files (tests/test_esp32_standins.py): a clock that delay() advances, a
 * DHT that returns the readings given on the command line ("temp,hum" each, "nan"
 * allowed), Serial to stdout.  main() runs setup() once and loop() once a reading. */
#include <Arduino.h>
#include <DHT.h>
#include <driver/gpio.h>
#include <esp_sleep.h>
#include <sys/time.h>

#include <cstdio>
#include <cstdlib>

HardwareSerial Serial;
static unsigned long g_ms = 0;
static time_t g_epoch = 12345; /* the RTC before setup() sets it */
static double g_temp = 0.0, g_hum = 0.0;

void HardwareSerial::begin(unsigned long, uint32_t, int8_t, int8_t, bool, unsigned long, uint8_t) {}
size_t HardwareSerial::write(uint8_t c) { return std::fwrite(&c, 1, 1, stdout); }
size_t HardwareSerial::write(const char *str) { return static_cast<size_t>(std::fputs(str, stdout) >= 0); }
void HardwareSerial::flush(void) { std::fflush(stdout); }
void pinMode(uint8_t, uint8_t) {}
void digitalWrite(uint8_t, uint8_t) {}
unsigned long millis(void) { return g_ms; }
void delay(uint32_t ms) { g_ms += ms; }
DHT::DHT(uint8_t, uint8_t, uint8_t) {}
void DHT::begin(uint8_t) {}
float DHT::readTemperature(bool, bool) { return static_cast<float>(g_temp); }
float DHT::readHumidity(bool) { return static_cast<float>(g_hum); }
extern "C" esp_sleep_wakeup_cause_t esp_sleep_get_wakeup_cause(void) { return ESP_SLEEP_WAKEUP_UNDEFINED; }
extern "C" esp_err_t gpio_hold_dis(gpio_num_t) { return 0; }
extern "C" int settimeofday(const struct timeval *tv, const struct timezone *) noexcept
{
    g_epoch = tv->tv_sec - static_cast<time_t>(g_ms / 1000u);
    return 0;
}
extern "C" int gettimeofday(struct timeval *tv, void *) noexcept
{
    tv->tv_sec = g_epoch + static_cast<time_t>(g_ms / 1000u);
    tv->tv_usec = 0;
    return 0;
}

int main(int argc, char **argv)
{
    setup();
    for (int i = 1; i < argc; i++) {
        char *end = nullptr;
        g_temp = std::strtod(argv[i], &end);
        g_hum = std::strtod(end + 1, nullptr);
        loop();
    }
    return 0;
}
