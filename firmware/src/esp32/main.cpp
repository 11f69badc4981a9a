/* main.cpp: the ESP32 entry points (esp32dev, esp32dev-tflm); the loop is the
 * portable tinyad_device_loop(), its state kept in RTC memory through deep sleep. */
#include <Arduino.h>
#include <esp_attr.h>

#include "tinyad_device.h"

RTC_DATA_ATTR static tinyad_app_t g_app;

void setup()
{
    tinyad_device_setup(&g_app, TINYAD_STATUS_EVERY);
}

void loop()
{
    (void)tinyad_device_loop(&g_app);
}
