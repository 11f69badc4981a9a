/* Stand-in for ESP-IDF's esp_err.h: declarations only. */
#ifndef STANDIN_ESP_ERR_H
#define STANDIN_ESP_ERR_H
typedef int esp_err_t;
#endif
