/*
 * hal_host.c: the hardware layer of the host simulator.
 *
 * The "sensor" is the input stream: each accepted line is one reading (see
 * sim_input.h); a malformed line is reported on stderr as
 * "<input>:<line>:<column>: error: <what was expected>" and skipped.  The "serial
 * port" is stdout.  LED and buzzer have no hardware; with tracing on, each change is
 * written to stderr ("led on", "buzzer off").  Time comes from the readings.
 */
#define _POSIX_C_SOURCE 200809L

#include "hal_host.h"

#include <stdlib.h>

#include "hal.h"
#include "sim_input.h"

static FILE *g_input = NULL;
static const char *g_input_name = "<stdin>";
static int g_trace = 0;
static unsigned long g_errors = 0;
static uint32_t g_millis = 0;
static int g_led = 0;
static int g_buzzer = 0;
static sim_parser_t g_parser;
static char g_line[SIM_LINE_MAX + 1];

void hal_host_configure(FILE *input, const char *input_name, int trace)
{
    g_input = input;
    g_input_name = input_name;
    g_trace = trace;
}

unsigned long hal_host_input_errors(void)
{
    return g_errors;
}

void hal_init(void)
{
    if (g_input == NULL) {
        g_input = stdin;
    }
    sim_parser_init(&g_parser);
    g_errors = 0;
    g_led = 0;
    g_buzzer = 0;
}

int hal_read_sensor(tinyad_raw_t *out)
{
    size_t len = 0;
    int too_long = 0;
    while (sim_read_line(g_input, g_line, sizeof g_line, &len, &too_long)) {
        sim_result_t r;
        g_parser.line_no++;
        if (too_long) {
            g_errors++;
            g_parser.seen_data = 1;
            fprintf(stderr, "%s:%lu:%d: error: line longer than %d characters, skipped\n", g_input_name,
                    g_parser.line_no, SIM_LINE_MAX + 1, SIM_LINE_MAX);
            continue;
        }
        r = sim_parse_line(&g_parser, g_line, len, out);
        if (r == SIM_READING) {
            return 1;
        }
        if (r == SIM_ERROR) {
            g_errors++;
            fprintf(stderr, "%s:%lu:%lu: error: %s\n", g_input_name, g_parser.line_no,
                    (unsigned long)g_parser.err_col, g_parser.err);
        }
    }
    return 0;
}

uint32_t hal_millis(void)
{
    return g_millis;
}

void hal_sleep_until_next(uint32_t start_ms, uint32_t period_s)
{
    /* Simulated time only: the next reading carries its own timestamp. */
    g_millis = start_ms + period_s * 1000u;
}

void hal_led(int on)
{
    if (g_trace && on != g_led) {
        fprintf(stderr, "led %s\n", on ? "on" : "off");
    }
    g_led = on;
}

void hal_buzzer(int on)
{
    if (g_trace && on != g_buzzer) {
        fprintf(stderr, "buzzer %s\n", on ? "on" : "off");
    }
    g_buzzer = on;
}

void hal_serial_write_line(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
}
