/*
 * tinyad_format.h: the machine-readable serial lines (one JSON object a line).
 *
 * The schema is documented in firmware/README.md ("Serial lines") and mirrored by
 * tinyad/device/alerts.py.  Numbers are printed from integers only (tenths -> "24.1"), so
 * the device and the simulator print the same bytes.
 */
#ifndef TINYAD_FORMAT_H
#define TINYAD_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "tinyad_sample.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest line any event produces, terminating NUL included (checked by the tests). */
#define TINYAD_LINE_MAX 192

typedef enum {
    TINYAD_LINE_ALERT = 0,
    TINYAD_LINE_CLEAR,
    TINYAD_LINE_STATUS,
    TINYAD_LINE_FAULT,
    TINYAD_LINE_READING /* log mode: every reading; a failed one has `fault` set */
} tinyad_line_kind_t;

typedef struct {
    tinyad_line_kind_t kind;
    int64_t t;
    tinyad_fault_t fault;  /* FAULT lines; READING lines of a failed read */
    int16_t temp10;        /* the others: */
    int16_t hum10;
    uint8_t has_hum;
    uint8_t has_score;
    int8_t score;
    uint8_t model;
    uint8_t threshold;
    uint8_t stuck;
    uint8_t alert;         /* STATUS and READING lines: the alert is active */
} tinyad_line_t;

/*
 * Write the line (without line end) into buf; returns its length, or 0 when cap is
 * too small (buf then holds an empty string).  TINYAD_LINE_MAX is always enough.
 */
size_t tinyad_format_line(char *buf, size_t cap, const tinyad_line_t *line);

/* Tenths as a decimal: 241 -> "24.1", -5 -> "-0.5".  Returns the length written. */
size_t tinyad_format_tenths(char *buf, size_t cap, int32_t tenths);

#ifdef __cplusplus
}
#endif

#endif /* TINYAD_FORMAT_H */
