/*
 * tinyad_baseline.h: the drift remedy, a slowly adapting baseline correction of a
 * reading in integer tenths, equal bit for bit to tinyad/drift.py
 * (baseline_correct; its module docstring defines the arithmetic).
 *
 * Portable C99, integers only.  Constants (override with -D or in a config header
 * included before this one):
 *   TINYAD_BASELINE_SHIFT       K: the baseline averages about 2**K readings
 *   TINYAD_BASELINE_FRAC_BITS   F: fractional bits of the baseline state
 *   TINYAD_BASELINE_REF_TEMP10  reference temperature level, tenths (train mean)
 *   TINYAD_BASELINE_REF_HUM10   reference humidity level, tenths (train mean)
 * The app applies it when TINYAD_BASELINE_CORRECTION is 1 (default 0: off).
 */
#ifndef TINYAD_BASELINE_H
#define TINYAD_BASELINE_H

#include <stdint.h>

#ifndef TINYAD_BASELINE_CORRECTION
#define TINYAD_BASELINE_CORRECTION 0
#endif
#ifndef TINYAD_BASELINE_SHIFT
#define TINYAD_BASELINE_SHIFT 11
#endif
#ifndef TINYAD_BASELINE_FRAC_BITS
#define TINYAD_BASELINE_FRAC_BITS 16
#endif
#ifndef TINYAD_BASELINE_REF_TEMP10
#define TINYAD_BASELINE_REF_TEMP10 240
#endif
#ifndef TINYAD_BASELINE_REF_HUM10
#define TINYAD_BASELINE_REF_HUM10 400
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
