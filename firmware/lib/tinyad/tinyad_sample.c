/* tinyad_sample.c: validation of raw readings (see tinyad_sample.h). */
#include "tinyad_sample.h"

#include <math.h>

/* |x| below this is rounded to tenths without overflow; anything larger is impossible. */
#define TINYAD_ROUNDABLE 100000.0

/* 0 ok, else the fault of this one quantity; *tenths set when ok. */
static tinyad_fault_t to_tenths(double x, int32_t *tenths)
{
    if (!isfinite(x)) {
        return TINYAD_FAULT_NAN;
    }
    if (!(fabs(x) < TINYAD_ROUNDABLE)) {
        return TINYAD_FAULT_IMPOSSIBLE;
    }
    *tenths = (int32_t)lround(x * 10.0);
    return TINYAD_FAULT_NONE;
}

static int is_error_value(int32_t tenths, int32_t allones)
{
    return tenths == TINYAD_DHT_ERROR_VALUE10 || tenths == allones;
}

tinyad_fault_t tinyad_sample_check(const tinyad_raw_t *raw, int use_humidity, tinyad_sample_t *out)
{
    int32_t t10 = 0;
    int32_t h10 = 0;
    tinyad_fault_t tf;
    tinyad_fault_t hf;

    if (raw->status == TINYAD_READ_TIMEOUT) {
        return TINYAD_FAULT_TIMEOUT;
    }
    if (raw->status != TINYAD_READ_OK) {
        return TINYAD_FAULT_DHT_ERROR;
    }
    tf = to_tenths(raw->temp_c, &t10);
    hf = to_tenths(raw->humidity, &h10);
    /* Precedence: nan, then library error values, then out of range. */
    if (tf == TINYAD_FAULT_NAN || (use_humidity && hf == TINYAD_FAULT_NAN)) {
        return TINYAD_FAULT_NAN;
    }
    if ((tf == TINYAD_FAULT_NONE && is_error_value(t10, TINYAD_DHT_ALLONES_TEMP10)) ||
        (use_humidity && hf == TINYAD_FAULT_NONE && is_error_value(h10, TINYAD_DHT_ALLONES_HUM10))) {
        return TINYAD_FAULT_DHT_ERROR;
    }
    if (tf != TINYAD_FAULT_NONE || t10 < TINYAD_TEMP10_MIN || t10 > TINYAD_TEMP10_MAX) {
        return TINYAD_FAULT_IMPOSSIBLE;
    }
    if (hf != TINYAD_FAULT_NONE || h10 < TINYAD_HUM10_MIN || h10 > TINYAD_HUM10_MAX) {
        if (use_humidity) {
            return TINYAD_FAULT_IMPOSSIBLE;
        }
        hf = TINYAD_FAULT_IMPOSSIBLE; /* not used: reported as missing */
    }
    out->t = raw->t;
    out->second_of_week = raw->second_of_week;
    out->temp10 = (int16_t)t10;
    out->has_hum = (uint8_t)(hf == TINYAD_FAULT_NONE);
    out->hum10 = out->has_hum ? (int16_t)h10 : 0;
    return TINYAD_FAULT_NONE;
}

const char *tinyad_fault_name(tinyad_fault_t fault)
{
    switch (fault) {
    case TINYAD_FAULT_NONE:
        return "none";
    case TINYAD_FAULT_TIMEOUT:
        return "timeout";
    case TINYAD_FAULT_DHT_ERROR:
        return "dht_error";
    case TINYAD_FAULT_NAN:
        return "nan";
    case TINYAD_FAULT_IMPOSSIBLE:
        return "impossible";
    }
    return "unknown";
}
