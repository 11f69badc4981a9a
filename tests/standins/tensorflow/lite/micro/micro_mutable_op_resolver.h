/* Stand-in for TFLM's micro_mutable_op_resolver.h: declarations only. */
#ifndef STANDIN_TFLITE_MICRO_MUTABLE_OP_RESOLVER_H
#define STANDIN_TFLITE_MICRO_MUTABLE_OP_RESOLVER_H
#include <stddef.h>
#include <stdint.h>

typedef enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

namespace tflite {
class MicroOpResolver {
public:
    virtual ~MicroOpResolver();
};
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
public:
    TfLiteStatus AddFullyConnected();
    TfLiteStatus AddRelu();
    TfLiteStatus AddRelu6();
    TfLiteStatus AddTanh();
    TfLiteStatus AddLogistic();
    TfLiteStatus AddReshape();
};
}  // namespace tflite
#endif
