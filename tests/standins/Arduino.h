/* Stand-in for Arduino-ESP32's Arduino.h: declarations only (tests/standins/README.md). */
#ifndef STANDIN_ARDUINO_H
#define STANDIN_ARDUINO_H
#include <stddef.h>
#include <stdint.h>

#define HIGH 0x1
#define LOW 0x0
#define OUTPUT 0x03

class HardwareSerial {
public:
    void begin(unsigned long baud, uint32_t config = 0x800001c, int8_t rxPin = -1, int8_t txPin = -1,
               bool invert = false, unsigned long timeout_ms = 20000UL, uint8_t rxfifo_full_thrhd = 112);
    size_t write(uint8_t c);
    size_t write(const char *str);
    void flush(void);
};
extern HardwareSerial Serial;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
unsigned long millis(void);
void delay(uint32_t ms);

void setup(void);
void loop(void);
#endif
