/* Stand-in for ESP-IDF 4.4's esp_sleep.h: declarations only. */
#ifndef STANDIN_ESP_SLEEP_H
#define STANDIN_ESP_SLEEP_H
#include <stdint.h>
#include "esp_err.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef enum {
    ESP_SLEEP_WAKEUP_UNDEFINED = 0,
    ESP_SLEEP_WAKEUP_TIMER = 4,
} esp_sleep_wakeup_cause_t;
esp_sleep_wakeup_cause_t esp_sleep_get_wakeup_cause(void);
esp_err_t esp_sleep_enable_timer_wakeup(uint64_t time_in_us);
void esp_deep_sleep_start(void) __attribute__((noreturn));
esp_err_t esp_light_sleep_start(void);
#ifdef __cplusplus
}
#endif
#endif
