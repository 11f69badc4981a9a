/*
 * tinyad_generated.h: the one place the portable firmware includes the files that
 * `stages/codegen.py` writes into firmware/lib/generated/, and checks that they
 * provide every constant the firmware relies on (the #ifndef list below is
 * tinyad.codegen.device_config.DEVICE_CONSTANTS; tests/test_device_constants.py
 * compares the two).  Missing files or constants stop the build here with a
 * message saying what to do.
 */
#ifndef TINYAD_GENERATED_H
#define TINYAD_GENERATED_H

#if defined(__has_include)
#if !__has_include("tinyad_config.h") || !__has_include("tinyad_features.h") || !__has_include("tinyad_model.h")
#error "firmware/lib/generated/ is missing (tinyad_config.h, tinyad_features.h, tinyad_model.h): run `dvc repro codegen` first"
#endif
#endif

#include "tinyad_config.h"
#include "tinyad_features.h"
#include "tinyad_model.h"

#ifndef TINYAD_N_INPUTS
#error "TINYAD_N_INPUTS is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_N_OUTPUTS
#error "TINYAD_N_OUTPUTS is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_WINDOW
#error "TINYAD_WINDOW is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_PERIOD_S
#error "TINYAD_PERIOD_S is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_DECISION_Q
#error "TINYAD_DECISION_Q is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_INSTANT_Q
#error "TINYAD_INSTANT_Q is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_RAISE_Q
#error "TINYAD_RAISE_Q is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_TEMP_ALARM_LO
#error "TINYAD_TEMP_ALARM_LO is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_TEMP_ALARM_HI
#error "TINYAD_TEMP_ALARM_HI is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_HUM_ALARM_LO
#error "TINYAD_HUM_ALARM_LO is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_HUM_ALARM_HI
#error "TINYAD_HUM_ALARM_HI is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_STUCK_RUN
#error "TINYAD_STUCK_RUN is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_ALERT_CONSECUTIVE
#error "TINYAD_ALERT_CONSECUTIVE is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_ALERT_CLEAR_AFTER
#error "TINYAD_ALERT_CLEAR_AFTER is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_STATUS_EVERY
#error "TINYAD_STATUS_EVERY is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_DHT_PIN
#error "TINYAD_DHT_PIN is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_LED_PIN
#error "TINYAD_LED_PIN is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_BUZZER_PIN
#error "TINYAD_BUZZER_PIN is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_BAUD
#error "TINYAD_BAUD is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_SLEEP_MODE
#error "TINYAD_SLEEP_MODE is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_BASELINE_SHIFT
#error "TINYAD_BASELINE_SHIFT is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
#ifndef TINYAD_BASELINE_FRAC_BITS
#error "TINYAD_BASELINE_FRAC_BITS is not defined by the generated tinyad_config.h: rerun `dvc repro codegen` (or stages/codegen.py and firmware/lib/tinyad disagree)"
#endif
/* The drift remedy's reference levels: generated from evaluate's metrics (drift.ref_*),
 * needed only when built with -D TINYAD_BASELINE_CORRECTION=1. */
#ifndef TINYAD_BASELINE_REF_TEMP10
#if defined(TINYAD_BASELINE_CORRECTION) && TINYAD_BASELINE_CORRECTION
#error "TINYAD_BASELINE_REF_TEMP10 is not in tinyad_config.h: run codegen with --evaluate-metrics (as dvc.yaml does) or pass -D TINYAD_BASELINE_REF_TEMP10"
#endif
#endif
#ifndef TINYAD_BASELINE_REF_HUM10
#if defined(TINYAD_BASELINE_CORRECTION) && TINYAD_BASELINE_CORRECTION
#error "TINYAD_BASELINE_REF_HUM10 is not in tinyad_config.h: run codegen with --evaluate-metrics (as dvc.yaml does) or pass -D TINYAD_BASELINE_REF_HUM10"
#endif
#endif
/* Optional: temperature-only rooms (features.use_humidity: false) set it to 0. */
#ifndef TINYAD_USE_HUMIDITY
#define TINYAD_USE_HUMIDITY 1
#endif

#if TINYAD_N_OUTPUTS < 1
#error "TINYAD_N_OUTPUTS must be at least 1 (output 0 is the anomaly score)"
#endif
#if TINYAD_DECISION_Q < -128 || TINYAD_DECISION_Q > 128
#error "TINYAD_DECISION_Q must be an int8 output code, or 128 for 'never anomalous'"
#endif
#if TINYAD_RAISE_Q < TINYAD_DECISION_Q || TINYAD_RAISE_Q > 128
#error "TINYAD_RAISE_Q must be an int8 output code at or above TINYAD_DECISION_Q, or 128 for 'the model never raises'"
#endif
#if TINYAD_INSTANT_Q < TINYAD_RAISE_Q || TINYAD_INSTANT_Q > 128
#error "TINYAD_INSTANT_Q must be an int8 output code at or above TINYAD_RAISE_Q, or 128 for 'never at once'"
#endif

#endif /* TINYAD_GENERATED_H */
