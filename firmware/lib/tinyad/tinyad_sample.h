/*
 * tinyad_sample.h: one raw sensor reading and its validation.
 *
 * The sensor library reports floats (NaN on a failed read; some libraries report
 * -999 or the all-ones raw word).  tinyad_sample_check() turns a raw reading into
 * integer tenths (round half away from zero, as the Python side and a DHT22 do) or
 * into a fault reason.  A faulty reading raises a "fault" line and is kept out of the
 * feature window and of the alert logic: it never becomes a false alarm.
 * Mirrored exactly by tinyad/device/alerts.py (check_sample).
 */
#ifndef TINYAD_SAMPLE_H
#define TINYAD_SAMPLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of the read itself, as the hardware layer saw it. */
enum {
    TINYAD_READ_OK = 0,
    TINYAD_READ_TIMEOUT = 1, /* the sensor did not answer */
    TINYAD_READ_ERROR = 2    /* it answered, but the frame was bad (checksum) */
};

typedef enum {
    TINYAD_FAULT_NONE = 0,
    TINYAD_FAULT_TIMEOUT,    /* "timeout" */
    TINYAD_FAULT_DHT_ERROR,  /* "dht_error": read error or a library error value */
    TINYAD_FAULT_NAN,        /* "nan": NaN or infinite */
    TINYAD_FAULT_IMPOSSIBLE  /* "impossible": outside what a DHT22 can measure */
} tinyad_fault_t;

/* Physical range of a DHT22 (datasheet), in tenths. */
#define TINYAD_TEMP10_MIN (-400)
#define TINYAD_TEMP10_MAX 800
#define TINYAD_HUM10_MIN 0
#define TINYAD_HUM10_MAX 1000

/* Error values some DHT libraries return instead of NaN, in tenths. */
#define TINYAD_DHT_ERROR_VALUE10 (-9990)   /* -999.0 */
#define TINYAD_DHT_ALLONES_TEMP10 (-32767) /* raw 0xFFFF as temperature: -3276.7 */
#define TINYAD_DHT_ALLONES_HUM10 65535     /* raw 0xFFFF as humidity: 6553.5 */

/* Local time t (seconds since 1970-01-01 00:00, a Thursday) -> seconds since the
 * week's Monday 00:00, as tinyad/device/features.py second_of_week(). */
#define TINYAD_SECONDS_PER_DAY 86400
static inline uint32_t tinyad_second_of_week(int64_t t)
{
    int64_t days = t / TINYAD_SECONDS_PER_DAY, sod = t % TINYAD_SECONDS_PER_DAY;
    if (sod < 0) { sod += TINYAD_SECONDS_PER_DAY; days -= 1; }
    return (uint32_t)((((days + 3) % 7 + 7) % 7) * TINYAD_SECONDS_PER_DAY + sod);
}

typedef struct {
    int64_t t;              /* seconds: the device clock, or the input's timestamp */
    uint32_t second_of_week; /* 0..604799 local time since Monday 00:00 (tinyad_second_of_week) */
    int status;             /* TINYAD_READ_* */
    double temp_c;          /* deg C as reported (may be NaN) */
    double humidity;        /* %RH as reported (may be NaN) */
} tinyad_raw_t;

typedef struct {
    int64_t t;
    uint32_t second_of_week;
    int16_t temp10;  /* tenths of deg C */
    int16_t hum10;   /* tenths of %RH; 0 when has_hum is 0 */
    uint8_t has_hum; /* 0 when humidity is not used and was not a valid number */
} tinyad_sample_t;

/*
 * Validate a raw reading.  With use_humidity == 0 a bad humidity does not make the
 * reading faulty (the model does not use it), it is only reported as missing.
 * Returns TINYAD_FAULT_NONE and fills *out, or the fault reason.
 */
tinyad_fault_t tinyad_sample_check(const tinyad_raw_t *raw, int use_humidity, tinyad_sample_t *out);

/* "timeout", "dht_error", "nan", "impossible" ("none" for TINYAD_FAULT_NONE). */
const char *tinyad_fault_name(tinyad_fault_t fault);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_SAMPLE_H */
