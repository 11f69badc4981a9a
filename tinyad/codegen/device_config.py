"""The device constants: one table, and the emitter of ``<p>_config.h`` it drives.

:data:`DEVICE_CONSTANTS` names every constant the portable firmware reads from the
generated headers, what it is and where its value comes from.  The same table

- generates ``<p>_config.h`` (:func:`generate_config_header`; ``N_INPUTS`` and
  ``N_OUTPUTS`` come from ``<p>_model_config.h``, which it includes);
- is the list ``firmware/lib/tinyad/tinyad_generated.h`` checks with ``#ifndef``
  (``tests/test_device_constants.py`` compares the two, both directions).

``when`` says when a constant must be defined: ``"always"`` (the build stops without
it), ``"remedy"`` (only when built with ``TINYAD_BASELINE_CORRECTION=1``: the reference
levels come from evaluate's metrics) or a C default (``tinyad_generated.h`` defines it
when the header does not).  ``flag``: a ``-D`` build flag of the same name wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinyad.device.alerts import NEVER, AlertRules
from tinyad.learn.calibration import decision_threshold, device_rules
from tinyad.codegen.cgen import banner, header_file, ident
from tinyad.codegen.features import check_scaler, input_quant
from tinyad.config import SLEEP_MODES, Config
from tinyad.device.features import Scaler, feature_names

__all__ = ["DEVICE_CONSTANTS", "DeviceConstant", "generate_config_header"]


@dataclass(frozen=True)
class DeviceConstant:
    name: str  # without the prefix: WINDOW is TINYAD_WINDOW
    what: str
    when: str = "always"  # "always", "remedy", or the C default's value
    flag: bool = False  # wrapped in #ifndef: a -D build flag wins
    header: str = "config"  # "config" or "model_config" (the model emitter's)


DEVICE_CONSTANTS: tuple[DeviceConstant, ...] = (
    DeviceConstant("N_INPUTS", "model inputs (from the .tflite)", header="model_config"),
    DeviceConstant("N_OUTPUTS", "model outputs (from the .tflite)", header="model_config"),
    DeviceConstant("WINDOW", "features.window: valid readings in the ring buffer"),
    DeviceConstant("USE_HUMIDITY", "features.use_humidity: 0 = a bad humidity is no fault", when="1"),
    DeviceConstant("PERIOD_S", "data.period_s: seconds between readings"),
    DeviceConstant("DECISION_Q", "smallest int8 output code above the decision threshold"),
    DeviceConstant("INSTANT_Q", "quant.json decision.instant_code: one reading at or above it raises at once (128: never)"),
    DeviceConstant("RAISE_Q", "quant.json decision.raise_code: model readings raise an alert from it, hold one from DECISION_Q"),
    DeviceConstant("TEMP_ALARM_LO", "thresholds.temp_alarm[0], tenths"),
    DeviceConstant("TEMP_ALARM_HI", "thresholds.temp_alarm[1], tenths"),
    DeviceConstant("HUM_ALARM_LO", "thresholds.hum_alarm[0], tenths"),
    DeviceConstant("HUM_ALARM_HI", "thresholds.hum_alarm[1], tenths"),
    DeviceConstant("STUCK_RUN", "models/scaler.json stuck_run: repeats at or above which the sensor is stuck (0: never)"),
    DeviceConstant("ALERT_CONSECUTIVE", "alerts.consecutive"),
    DeviceConstant("ALERT_CLEAR_AFTER", "alerts.clear_after_min in readings at data.period_s (at least 1)"),
    DeviceConstant("STATUS_EVERY", "firmware.status_every"),
    DeviceConstant("DHT_PIN", "firmware.dht_pin"),
    DeviceConstant("LED_PIN", "firmware.led_pin"),
    DeviceConstant("BUZZER_PIN", "firmware.buzzer_pin"),
    DeviceConstant("BAUD", "firmware.baud (platformio.ini's monitor_speed is checked against it)"),
    DeviceConstant("SLEEP_MODE", "firmware.sleep (tinyad.config.SLEEP_MODES)", flag=True),
    DeviceConstant("BASELINE_SHIFT", "drift.baseline_shift", flag=True),
    DeviceConstant("BASELINE_FRAC_BITS", "drift.baseline_frac_bits", flag=True),
    DeviceConstant("BASELINE_REF_TEMP10", "evaluate's drift.ref_temp10 (train mean, tenths)", when="remedy", flag=True),
    DeviceConstant("BASELINE_REF_HUM10", "evaluate's drift.ref_hum10 (train mean, tenths)", when="remedy", flag=True),
)


def _values(cfg: Config, rules: AlertRules, reference_levels: tuple[int, int] | None) -> dict[str, Any]:
    fw = cfg.firmware
    values: dict[str, Any] = {
        "WINDOW": int(cfg.features.window),
        "USE_HUMIDITY": int(bool(cfg.features.use_humidity)),
        "PERIOD_S": int(cfg.data.period_s),
        "DECISION_Q": rules.decision_q,
        "INSTANT_Q": rules.instant_q,
        "RAISE_Q": rules.raise_q,
        "TEMP_ALARM_LO": rules.temp_lo, "TEMP_ALARM_HI": rules.temp_hi,
        "HUM_ALARM_LO": rules.hum_lo, "HUM_ALARM_HI": rules.hum_hi,
        "STUCK_RUN": rules.stuck_run,
        "ALERT_CONSECUTIVE": rules.consecutive, "ALERT_CLEAR_AFTER": rules.clear_after,
        "STATUS_EVERY": int(fw.status_every),
        "DHT_PIN": int(fw.dht_pin), "LED_PIN": int(fw.led_pin), "BUZZER_PIN": int(fw.buzzer_pin),
        "BAUD": f"{int(fw.baud)}UL",
        "SLEEP_MODE": SLEEP_MODES[fw.sleep],
        "BASELINE_SHIFT": int(cfg.drift.baseline_shift),
        "BASELINE_FRAC_BITS": int(cfg.drift.baseline_frac_bits),
    }
    if reference_levels is not None:
        values["BASELINE_REF_TEMP10"], values["BASELINE_REF_HUM10"] = (int(v) for v in reference_levels)
    return values


def generate_config_header(cfg: Config, scaler: Scaler, quant: dict[str, Any], prefix: str = "tinyad",
                           reference_levels: tuple[int, int] | None = None) -> str:
    """``<p>_config.h``: every constant of :data:`DEVICE_CONSTANTS` that is not the model's,
    derived from params, the scaler and quant.json; ``reference_levels`` (``ref_temp10``,
    ``ref_hum10``: evaluate's ``drift`` metrics) for the baseline remedy, when known."""
    p = ident(prefix)
    P = p.upper()
    names = feature_names(cfg.features)
    check_scaler(names, scaler)
    _, in_zp = input_quant(quant)
    try:
        out_zp = int(quant["output"]["zero_point"])
    except (KeyError, TypeError):
        raise ValueError("quant: expected {'output': {'scale': s, 'zero_point': z}}") from None
    threshold = decision_threshold(quant, cfg.alerts)
    rules = device_rules(quant, cfg, scaler.stuck_run)
    dec = quant.get("decision") if cfg.alerts.calibrate else None
    if dec:
        v = dec.get("val", dec.get("history", {}))
        how = [
            f" * probability is strictly above {threshold!r}, calibrated on the train+val history to",
            f" * alerts.max_false_alarms_per_week = {cfg.alerts.max_false_alarms_per_week!r}"
            f" at alerts.budget_confidence = {cfg.alerts.budget_confidence!r}",
            f" * (validation: {v.get('alerts_per_week', 0.0):.2f} alerts a week,"
            f" {v.get('false_alarms_per_week', 0.0):.2f} false alarms a week; tinyad/learn/calibration.py). */",
        ]
    else:
        how = [
            f" * probability is strictly above alerts.decision_threshold = {threshold!r}",
            " * (tinyad.device.features.output_code_threshold / decide). */",
        ]
    fw = cfg.firmware
    values = _values(cfg, rules, reference_levels)
    table = {c.name: c for c in DEVICE_CONSTANTS}

    def d(key: str, comment: str) -> str:
        value = values[key]
        v = f"({value})" if isinstance(value, int) and value < 0 else str(value)
        line = f"#define {P}_{key} {v} /* {comment} */"
        if table[key].flag:
            return f"#ifndef {P}_{key} /* a -D build flag wins */\n{line}\n#endif"
        return line

    lines = [
        "/* The model: sizes, input/output scale and zero point (from the .tflite). */",
        f'#include "{p}_model_config.h"',
        "",
        f"#if {P}_N_INPUTS != {len(names)}",
        f'#error "the model has {P}_N_INPUTS inputs but features.names gives {len(names)}: retrain or rerun stages/codegen.py"',
        "#endif",
        f"#if {P}_INPUT_ZERO_POINT != {in_zp} || {P}_OUTPUT_ZERO_POINT != {out_zp}",
        f'#error "{p}_model_config.h and quant.json disagree on the zero points: rerun stages/codegen.py"',
        "#endif",
        "",
        "/* Features (params features, data.period_s). */",
        d("WINDOW", f"features.window_min = {cfg.features.window_min!r} min at data.period_s: valid readings in the ring buffer"),
        d("USE_HUMIDITY", "features.use_humidity: 0 = a bad humidity is no fault"),
        d("PERIOD_S", "data.period_s: seconds between readings"),
        "",
        "/* Decision: anomalous when out[0] >= DECISION_Q (128: never), i.e. the output's",
        *how,
        d("DECISION_Q", "smallest int8 output code above the threshold"),
        "",
        "/* Hysteresis: a model reading must reach RAISE_Q to raise an alert (ALERT_CONSECUTIVE in a",
        " * row), one at DECISION_Q or above holds it (alerts.raise_margin; RAISE_Q == DECISION_Q: none). */",
        d("RAISE_Q", "int8 output code" if values["RAISE_Q"] != values["DECISION_Q"] else "the decision code: no hysteresis"),
        "",
        "/* One reading whose code is at or above INSTANT_Q raises the alert at once, as a reading",
        " * past the alarm band or a stuck sensor does; weaker ones need ALERT_CONSECUTIVE in a row",
        " * (128: never; the calibration picks it with a debounce above 1). */",
        d("INSTANT_Q", "int8 output code" if values["INSTANT_Q"] != NEVER else "never: every alert waits for the debounce"),
        "",
        "/* The seed's alarm limits in tenths (thresholds.temp_alarm / hum_alarm); outside",
        " * [LO, HI] is anomalous. */",
        d("TEMP_ALARM_LO", f"{cfg.thresholds.temp_alarm[0]!r} deg C"),
        d("TEMP_ALARM_HI", f"{cfg.thresholds.temp_alarm[1]!r} deg C"),
        d("HUM_ALARM_LO", f"{cfg.thresholds.hum_alarm[0]!r} %RH"),
        d("HUM_ALARM_HI", f"{cfg.thresholds.hum_alarm[1]!r} %RH"),
        "",
        "/* The stuck-sensor rule: a valid reading that repeats the STUCK_RUN valid readings",
        " * before it (temperature, and humidity when used) is anomalous; 0: never.  The span",
        " * the labelling learnt from the room's own repeats (tinyad.data.labeling.stuck_span). */",
        d("STUCK_RUN", f"{values['STUCK_RUN'] * cfg.data.period_s / 60:g} min at data.period_s"
          if values["STUCK_RUN"] else "no stuck rule (cluster.policies, features.names)"),
        "",
        "/* Alert state machine (params alerts). */",
        d("ALERT_CONSECUTIVE", "anomalous valid readings in a row (the model's at RAISE_Q) raise the alert (one is"
          " enough past INSTANT_Q, the band or stuck)"),
        d("ALERT_CLEAR_AFTER", "normal valid readings in a row clear it"),
        "",
        "/* Board (params firmware). */",
        d("STATUS_EVERY", "a status line every N valid readings (0: none)"),
        d("DHT_PIN", "firmware.dht_pin"),
        d("LED_PIN", "firmware.led_pin"),
        d("BUZZER_PIN", "firmware.buzzer_pin"),
        d("BAUD", "firmware.baud"),
        d("SLEEP_MODE", f"firmware.sleep = {fw.sleep}: 0 none, 1 light, 2 deep"),
        "",
        "/* The drift remedy (tinyad_baseline.h; applied when built with -D TINYAD_BASELINE_CORRECTION=1). */",
        d("BASELINE_SHIFT", "drift.baseline_shift: the baseline averages about 2**K readings"),
        d("BASELINE_FRAC_BITS", "drift.baseline_frac_bits: fractional bits of the baseline state"),
    ]
    if reference_levels is not None:
        lines += [d("BASELINE_REF_TEMP10", "evaluate's drift.ref_temp10: train-split mean temperature, tenths"),
                  d("BASELINE_REF_HUM10", "evaluate's drift.ref_hum10: train-split mean humidity, tenths")]
    generated = {c.name for c in DEVICE_CONSTANTS if c.header == "config"}
    missing = generated - set(values) - ({"BASELINE_REF_TEMP10", "BASELINE_REF_HUM10"} if reference_levels is None else set())
    assert not missing, f"DEVICE_CONSTANTS without a value: {sorted(missing)}"
    return header_file(
        f"{p}_config.h",
        banner("Every constant the firmware needs (firmware/lib/tinyad/tinyad_generated.h lists them),\n"
               " * derived from params.yaml, models/scaler.json and models/quant.json.\n"
               " * Build flags: -ffp-contract=off (the feature pipeline is bit-exact with Python)."),
        "\n".join(lines) + "\n\n",
    )
