/* tinyad_baseline.c: see tinyad_baseline.h and tinyad/device/baseline.py. */
#include "tinyad_baseline.h"

/* floor(a / 2**shift) for any sign (C's / truncates toward zero, >> of a
 * negative number is implementation-defined). */
static int64_t floor_shift(int64_t a, int shift)
{
    const int64_t d = (int64_t)1 << shift;
    int64_t q = a / d;
    if (a % d != 0 && a < 0) {
        q -= 1;
    }
    return q;
}

void tinyad_baseline_init(tinyad_baseline_t *bl, int32_t ref10, int shift, int frac_bits)
{
    bl->ref10 = ref10;
    bl->shift = shift;
    bl->frac_bits = frac_bits;
    bl->b = (int64_t)ref10 * ((int64_t)1 << frac_bits);
}

int32_t tinyad_baseline_step(tinyad_baseline_t *bl, int32_t x10)
{
    const int64_t one = (int64_t)1 << bl->frac_bits;
    int64_t level;
    bl->b += floor_shift((int64_t)x10 * one - bl->b, bl->shift);
    level = floor_shift(bl->b + one / 2, bl->frac_bits);
    return (int32_t)((int64_t)x10 - (level - (int64_t)bl->ref10));
}
