/* model_tflm.cpp (esp32dev-tflm): the TFLM interpreter (API without ErrorReporter,
 * TensorFlowLite_ESP32 >= 1.0.0) on the generated tinyad_model_tflite[], only the ops a
 * dense int8 MLP converts to; the fallback and error line are in lib/tinyad_device.c. */
#include <TensorFlowLite_ESP32.h>

#include <cstring>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "tinyad_device.h"
#include "tinyad_model_data.h"

alignas(16) static uint8_t g_arena[TINYAD_TFLM_ARENA_BYTES]; /* generated: measured + margin */
static tflite::MicroInterpreter *g_interpreter = nullptr;

extern "C" const char *tinyad_tflm_setup(void)
{
    const tflite::Model *model = tflite::GetModel(tinyad_model_tflite);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        return "model schema version mismatch";
    }
    static tflite::MicroMutableOpResolver<6> resolver;
    resolver.AddFullyConnected();
    resolver.AddRelu();
    resolver.AddRelu6();
    resolver.AddTanh();
    resolver.AddLogistic();
    resolver.AddReshape();
    static tflite::MicroInterpreter interpreter(model, resolver, g_arena, sizeof g_arena);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        return "AllocateTensors failed (arena too small?)";
    }
    const TfLiteTensor *in = interpreter.input(0);
    const TfLiteTensor *out = interpreter.output(0);
    if (in->type != kTfLiteInt8 || out->type != kTfLiteInt8 || in->bytes != TINYAD_N_INPUTS ||
        out->bytes != TINYAD_N_OUTPUTS) {
        return "model tensors do not match tinyad_config.h";
    }
    g_interpreter = &interpreter;
    return nullptr;
}

extern "C" int tinyad_tflm_run(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS])
{
    std::memcpy(g_interpreter->input(0)->data.int8, in, TINYAD_N_INPUTS);
    if (g_interpreter->Invoke() != kTfLiteOk) {
        return 0;
    }
    std::memcpy(out, g_interpreter->output(0)->data.int8, TINYAD_N_OUTPUTS);
    return 1;
}
