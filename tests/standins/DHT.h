/* Stand-in for Adafruit's DHT.h (DHT sensor library 1.4): declarations only. */
#ifndef STANDIN_DHT_H
#define STANDIN_DHT_H
#include <stdint.h>

#define DHT22 22

class DHT {
public:
    DHT(uint8_t pin, uint8_t type, uint8_t count = 6);
    void begin(uint8_t usec = 55);
    float readTemperature(bool S = false, bool force = false);
    float readHumidity(bool force = false);
};
#endif
