/* Stand-in for ESP-IDF 4.4's driver/gpio.h: declarations only. */
#ifndef STANDIN_DRIVER_GPIO_H
#define STANDIN_DRIVER_GPIO_H
#include "esp_err.h"
#ifdef __cplusplus
extern "C" {
#endif
typedef enum { GPIO_NUM_NC = -1, GPIO_NUM_0 = 0, GPIO_NUM_MAX = 40 } gpio_num_t;
esp_err_t gpio_hold_en(gpio_num_t gpio_num);
esp_err_t gpio_hold_dis(gpio_num_t gpio_num);
void gpio_deep_sleep_hold_en(void);
#ifdef __cplusplus
}
#endif
#endif
