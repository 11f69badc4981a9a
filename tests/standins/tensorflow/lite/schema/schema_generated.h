/* Stand-in for TFLM's schema_generated.h: declarations only. */
#ifndef STANDIN_TFLITE_SCHEMA_GENERATED_H
#define STANDIN_TFLITE_SCHEMA_GENERATED_H
#include <stdint.h>
#define TFLITE_SCHEMA_VERSION (3)
namespace tflite {
struct Model {
    uint32_t version() const;
};
const Model *GetModel(const void *buf);
}  // namespace tflite
#endif
