/* Stand-in for TFLM's micro_interpreter.h (and the TfLiteTensor of common.h). */
#ifndef STANDIN_TFLITE_MICRO_INTERPRETER_H
#define STANDIN_TFLITE_MICRO_INTERPRETER_H
#include <stddef.h>
#include <stdint.h>

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

typedef enum { kTfLiteNoType = 0, kTfLiteFloat32 = 1, kTfLiteInt8 = 9 } TfLiteType;
typedef union TfLitePtrUnion {
    int8_t *int8;
    void *data;
} TfLitePtrUnion;
typedef struct TfLiteTensor {
    TfLiteType type;
    TfLitePtrUnion data;
    size_t bytes;
} TfLiteTensor;

namespace tflite {
class MicroInterpreter {
public:
    MicroInterpreter(const Model *model, const MicroOpResolver &op_resolver, uint8_t *tensor_arena,
                     size_t tensor_arena_size);
    TfLiteStatus AllocateTensors();
    TfLiteTensor *input(size_t index);
    TfLiteTensor *output(size_t index);
    TfLiteStatus Invoke();
};
}  // namespace tflite
#endif
