/*
 * main.c: the host simulator (PlatformIO environment `host`).
 *
 * Runs the same portable firmware as the ESP32 (lib/tinyad + the generated model)
 * on readings from standard input (or a file) and prints exactly the serial lines
 * the device would print.  Usage:
 *
 *   program [--status-every N] [--mode alert|log] [--trace] [FILE]
 *
 *   --status-every N  a status line every N valid readings (default: the generated
 *                     TINYAD_STATUS_EVERY; 0 for none)
 *   --mode MODE       alert (default; log when built with -D TINYAD_LOG_MODE=1) or
 *                     log: one "reading" line for every reading, valid or failed,
 *                     in place of status and fault lines
 *   --trace           write LED and buzzer changes to stderr
 *
 * Exit status: 0, or 1 when some input lines were rejected (each is reported on
 * stderr with its line and column), 2 for bad arguments, 3 when the input cannot be
 * read.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"
#include "hal_host.h"
#include "tinyad_device.h"

static tinyad_app_t g_app;

static int usage(const char *msg)
{
    fprintf(stderr, "program: %s\nusage: program [--status-every N] [--mode alert|log] [--trace] [FILE]\n", msg);
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long status_every = TINYAD_STATUS_EVERY;
    const char *path = NULL;
    FILE *in = stdin;
    int trace = 0;
    int mode = TINYAD_LOG_MODE ? (int)TINYAD_MODE_LOG : (int)TINYAD_MODE_ALERT;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--status-every") == 0) {
            char *end = NULL;
            if (i + 1 >= argc) {
                return usage("--status-every needs a number");
            }
            errno = 0;
            status_every = strtoul(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || argv[i][0] == '-' || status_every > 1000000ul) {
                return usage("--status-every expects a whole number from 0 to 1000000");
            }
        } else if (strcmp(argv[i], "--mode") == 0) {
            if (i + 1 >= argc) {
                return usage("--mode needs alert or log");
            }
            i++;
            if (strcmp(argv[i], "alert") == 0) {
                mode = (int)TINYAD_MODE_ALERT;
            } else if (strcmp(argv[i], "log") == 0) {
                mode = (int)TINYAD_MODE_LOG;
            } else {
                return usage("--mode expects alert or log");
            }
        } else if (strcmp(argv[i], "--trace") == 0) {
            trace = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage("host simulator of the tinyad firmware: readings in, serial lines out");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage("unknown option");
        } else if (path != NULL) {
            return usage("at most one input file");
        } else {
            path = argv[i];
        }
    }
    if (path != NULL && strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (in == NULL) {
            fprintf(stderr, "program: cannot open %s: %s\n", path, strerror(errno));
            return 3;
        }
    }
    hal_host_configure(in, path != NULL ? path : "<stdin>", trace);
    /* the device's own setup and loop (lib/tinyad/tinyad_device.c), as on the ESP32 */
    tinyad_device_setup(&g_app, (uint32_t)status_every);
    tinyad_app_set_mode(&g_app, (uint32_t)mode);
    while (tinyad_device_loop(&g_app)) {
    }
    if (ferror(in)) {
        fprintf(stderr, "program: error reading %s\n", path != NULL ? path : "<stdin>");
        return 3;
    }
    if (in != stdin) {
        fclose(in);
    }
    if (fflush(stdout) != 0) {
        return 3;
    }
    return hal_host_input_errors() > 0 ? 1 : 0;
}
