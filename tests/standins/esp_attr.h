/* Stand-in for ESP-IDF's esp_attr.h: RTC_DATA_ATTR places data in RTC slow memory. */
#ifndef STANDIN_ESP_ATTR_H
#define STANDIN_ESP_ATTR_H
#define RTC_DATA_ATTR __attribute__((section(".rtc.data.standin")))
#endif
