/*
 * tinyad_baseline.h: the drift remedy, a slowly adapting baseline correction of a
 * reading in integer tenths, equal bit for bit to tinyad/device/baseline.py
 * (baseline_correct; its module docstring defines the arithmetic).
 *
 * Portable C99, integers only.  The app applies it when built with
 * TINYAD_BASELINE_CORRECTION=1 (default 0: off), with the constants of the generated
 * tinyad_config.h (tinyad.codegen.device_config.DEVICE_CONSTANTS; a -D flag wins):
 *   TINYAD_BASELINE_SHIFT       K: the baseline averages about 2**K readings (drift.baseline_shift)
 *   TINYAD_BASELINE_FRAC_BITS   F: fractional bits of the baseline state (drift.baseline_frac_bits)
 *   TINYAD_BASELINE_REF_TEMP10  reference temperature level, tenths (train mean, evaluate's drift.ref_temp10)
 *   TINYAD_BASELINE_REF_HUM10   reference humidity level, tenths (train mean, evaluate's drift.ref_hum10)
 * tinyad_generated.h checks that they are there.
 */
#ifndef TINYAD_BASELINE_H
#define TINYAD_BASELINE_H

#include <stdint.h>

#ifndef TINYAD_BASELINE_CORRECTION
#define TINYAD_BASELINE_CORRECTION 0
#endif

typedef struct {
    int64_t b;     /* baseline, tenths * 2**frac_bits */
    int32_t ref10; /* reference level, tenths */
    int shift;     /* K */
    int frac_bits; /* F */
} tinyad_baseline_t;

/* Start at the reference level (the correction is 0 until the level moves). */
void tinyad_baseline_init(tinyad_baseline_t *bl, int32_t ref10, int shift, int frac_bits);

/* Feed one VALID reading (tenths) and return it corrected; skip invalid readings. */
int32_t tinyad_baseline_step(tinyad_baseline_t *bl, int32_t x10);

#endif /* TINYAD_BASELINE_H */
