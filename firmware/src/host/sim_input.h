/*
 * sim_input.h: the simulator's input, one reading a line (host target only).
 *
 * Accepted lines:
 *   timestamp,temperature,humidity   CSV; timestamp = whole seconds (>= 0) or an ISO
 *                                    date-time "YYYY-MM-DD HH:MM:SS" (or with 'T',
 *                                    optional fraction of a second and 'Z'), taken as
 *                                    local time; temperature deg C, humidity %RH;
 *                                    an empty field or "nan" is a failed read
 *   {"t":...,"event":"status",...}   a recorded serial log of the firmware: status
 *                                    lines are replayed as readings, fault lines as
 *                                    failed reads of the same reason (so a log
 *                                    replays to itself), alert/clear lines skipped;
 *                                    log mode's "reading" lines are replayed as
 *                                    readings, or with a "reason" as failed reads
 *   empty lines, lines starting with '#', and a header line first
 *   ("timestamp,temperature,humidity" or any first line starting with a letter)
 *   are skipped.
 * Anything else is an error naming the line and column; the caller reports it and
 * goes on with the next line.
 */
#ifndef TINYAD_SIM_INPUT_H
#define TINYAD_SIM_INPUT_H

#include <stddef.h>
#include <stdio.h>

#include "tinyad_sample.h"

/* Longest accepted line (longer lines are consumed and rejected). */
#define SIM_LINE_MAX 4096

typedef enum { SIM_READING = 1, SIM_SKIP = 0, SIM_ERROR = -1 } sim_result_t;

typedef struct {
    unsigned long line_no; /* 1-based number of the line last read */
    int seen_data;         /* a reading or an error was seen (no header after that) */
    char err[256];         /* the last error: "COLUMN: message" */
    size_t err_col;        /* 1-based column of the last error */
} sim_parser_t;

void sim_parser_init(sim_parser_t *p);

/* Parse one line (len bytes, no line end; may contain NUL bytes). */
sim_result_t sim_parse_line(sim_parser_t *p, const char *line, size_t len, tinyad_raw_t *out);

/*
 * Read the next line from `in` into buf (cap >= 2).  Returns 1 and the length in
 * *len, or 0 at end of input.  A line longer than cap - 1 is consumed entirely and
 * reported with *too_long = 1 (buf then holds its start).
 */
int sim_read_line(FILE *in, char *buf, size_t cap, size_t *len, int *too_long);

#endif /* TINYAD_SIM_INPUT_H */
