/*
 * model_tflm.cpp: the model through the TensorFlow Lite Micro interpreter
 * (environment esp32dev-tflm, built with -D TINYAD_USE_TFLM).
 *
 * Same contract as the generated plain-C tinyad_model_invoke(): int8 input codes
 * in, int8 output codes out.  The flatbuffer is the generated tinyad_model_tflite[]
 * array.  The resolver registers only the operators a dense int8 MLP converts to.
 * If the interpreter cannot be set up (schema version, arena too small, an operator
 * missing), the output is the lowest code (-128: "normal") and a one-time message is
 * printed on the serial port, so the threshold rules keep working.
 *
 * Written against the TensorFlow Lite Micro API without ErrorReporter
 * (TensorFlowLite_ESP32 >= 1.0.0); not compiled in this repository's CI (the
 * PlatformIO registry is unreachable there).
 */
#include <Arduino.h>
#include <TensorFlowLite_ESP32.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "hal.h"
#include "tinyad_app.h"
#include "tinyad_model_data.h"

/* The arena is evaluate's measured minimum plus a stated margin, generated into
 * tinyad_model_config.h by stages/codegen.py (tinyad.codegen_c.tflm_arena_bytes). */
#ifndef TINYAD_TFLM_ARENA_BYTES
#error "TINYAD_TFLM_ARENA_BYTES is not in the generated tinyad_model_config.h: rerun `dvc repro codegen`"
#endif

namespace {
alignas(16) uint8_t g_arena[TINYAD_TFLM_ARENA_BYTES];
tflite::MicroInterpreter *g_interpreter = nullptr;
bool g_failed = false;

bool setup_interpreter()
{
    const tflite::Model *model = tflite::GetModel(tinyad_model_tflite);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        hal_serial_write_line("{\"event\":\"error\",\"message\":\"tflm: model schema version mismatch\"}");
        return false;
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
        hal_serial_write_line("{\"event\":\"error\",\"message\":\"tflm: AllocateTensors failed (arena too small?)\"}");
        return false;
    }
    TfLiteTensor *in = interpreter.input(0);
    TfLiteTensor *out = interpreter.output(0);
    if (in->type != kTfLiteInt8 || out->type != kTfLiteInt8 || in->bytes != TINYAD_N_INPUTS ||
        out->bytes != TINYAD_N_OUTPUTS) {
        hal_serial_write_line("{\"event\":\"error\",\"message\":\"tflm: model tensors do not match tinyad_config.h\"}");
        return false;
    }
    g_interpreter = &interpreter;
    return true;
}
}  // namespace

extern "C" void tinyad_model_tflm_invoke(const int8_t in[TINYAD_N_INPUTS], int8_t out[TINYAD_N_OUTPUTS])
{
    for (int i = 0; i < TINYAD_N_OUTPUTS; i++) {
        out[i] = -128;
    }
    if (g_interpreter == nullptr) {
        if (g_failed || !setup_interpreter()) {
            g_failed = true;
            return;
        }
    }
    memcpy(g_interpreter->input(0)->data.int8, in, TINYAD_N_INPUTS);
    if (g_interpreter->Invoke() != kTfLiteOk) {
        return;
    }
    memcpy(out, g_interpreter->output(0)->data.int8, TINYAD_N_OUTPUTS);
}
