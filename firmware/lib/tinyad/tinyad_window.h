/*
 * tinyad_window.h: the model-independent part of the feature pipeline, hand-written.
 * The generated tinyad_features.c (tinyad/codegen/features.py) includes it and keeps
 * only what depends on the configuration and the model: which statistics, the
 * scaler's constants and the input quantization's scale and zero point.
 *
 * Header only (static inline, C99): the ring buffer of the last n valid readings,
 * the sort of a window copy for the order statistics, and the input quantization,
 * bit-exact with tinyad.device.features (quantize_input) when compiled with
 * -ffp-contract=off and FLT_EVAL_METHOD == 0 (the generated file checks both).
 */
#ifndef TINYAD_WINDOW_H
#define TINYAD_WINDOW_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Append v to buf[0..n-1] (oldest first), which holds count readings: stored at
 * buf[count] while the window fills, else the oldest one drops out.  The caller
 * keeps the count. */
static inline void tinyad_window_push(int16_t *buf, uint16_t count, uint16_t n, int16_t v)
{
    if (count < n) {
        buf[count] = v;
    } else {
        memmove(buf, buf + 1, (size_t)(n - 1) * sizeof buf[0]);
        buf[n - 1] = v;
    }
}

/* Ascending insertion sort of a local copy (n <= 4096, FeaturesConfig.MAX_WINDOW). */
static inline void tinyad_sort_i16(int16_t *a, int n)
{
    int i, j;
    for (i = 1; i < n; ++i) {
        const int16_t v = a[i];
        for (j = i; j > 0 && a[j - 1] > v; --j) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* quantize_input of one scaled value: clamp(round_half_away(xs / in_scale) + zero_point)
 * to int8 (no lround, so that huge values cannot overflow a long). */
static inline int8_t tinyad_quantize_input(double xs, double in_scale, int zero_point)
{
    const double v = xs / in_scale;
    double t = trunc(v);
    double q;
    if (fabs(v - t) >= 0.5) t += v > 0.0 ? 1.0 : -1.0;
    q = t + (double)zero_point;
    if (q < -128.0) return (int8_t)-128;
    if (q > 127.0) return (int8_t)127;
    return (int8_t)q;
}

#endif /* TINYAD_WINDOW_H */
