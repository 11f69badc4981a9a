/* Stand-in for TensorFlowLite_ESP32's umbrella header (the library names itself here). */
#ifndef STANDIN_TENSORFLOWLITE_ESP32_H
#define STANDIN_TENSORFLOWLITE_ESP32_H
#endif
