/* sim_input.c: the simulator's line parser (see sim_input.h). */
#include "sim_input.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX 64             /* longest accepted number field */
#define T_MAX 253402300799LL      /* 9999-12-31 23:59:59 */
#define SECONDS_PER_DAY 86400

void sim_parser_init(sim_parser_t *p)
{
    p->line_no = 0;
    p->seen_data = 0;
    p->err[0] = '\0';
    p->err_col = 0;
}

/* Quote at most 24 bytes of s[0..n) into dst, escaping anything unprintable. */
static void excerpt(char *dst, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    size_t o = 0;
    const size_t shown = n > 24 ? 24 : n;
    for (i = 0; i < shown && o + 5 < cap; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (shown < n && o + 4 < cap) {
        dst[o++] = '.';
        dst[o++] = '.';
        dst[o++] = '.';
    }
    dst[o] = '\0';
}

static sim_result_t fail(sim_parser_t *p, size_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->err_col = col;
    p->seen_data = 1;
    return SIM_ERROR;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Trim blanks: [*b, *e) */
static void trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && is_space(s[*b])) {
        (*b)++;
    }
    while (*e > *b && is_space(s[*e - 1])) {
        (*e)--;
    }
}

static int equals_ci(const char *s, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (lower(s[i]) != word[i]) {
            return 0;
        }
    }
    return 1;
}

/*
 * A decimal number: [+-] digits [. digits] [(e|E) [+-] digits], or nan/inf/infinity.
 * Empty or "nan" gives NaN (a failed read).  Returns 0 on success.
 */
static int parse_number(const char *s, size_t n, double *out)
{
    char tmp[NUMBER_MAX + 1];
    size_t i = 0;
    size_t digits = 0;
    char *end = NULL;
    if (n == 0 || equals_ci(s, n, "nan")) {
        *out = NAN;
        return 0;
    }
    if (n > NUMBER_MAX) {
        return -1;
    }
    if (s[i] == '+' || s[i] == '-') {
        i++;
    }
    if (equals_ci(s + i, n - i, "inf") || equals_ci(s + i, n - i, "infinity")) {
        *out = (s[0] == '-') ? -INFINITY : INFINITY;
        return 0;
    }
    while (i < n && is_digit(s[i])) {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return -1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        while (i < n && is_digit(s[i])) {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0) {
            return -1;
        }
    }
    if (i != n) {
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    return (end == tmp + n) ? 0 : -1;
}

/* Fixed-width unsigned decimal of exactly `width` digits. */
static int fixed_digits(const char *s, size_t n, size_t at, size_t width, int *value)
{
    size_t i;
    int v = 0;
    if (at + width > n) {
        return -1;
    }
    for (i = 0; i < width; i++) {
        if (!is_digit(s[at + i])) {
            return -1;
        }
        v = v * 10 + (s[at + i] - '0');
    }
    *value = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    /* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's method). */
    const int64_t yy = y - (m <= 2);
    const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    const int64_t yoe = yy - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return (m == 2 && leap) ? 29 : days[m - 1];
}

/* Whole seconds, or YYYY-MM-DD[ T]HH:MM:SS[.fff][Z].  Returns 0 on success. */
static int parse_timestamp(const char *s, size_t n, int64_t *t, const char **what)
{
    size_t i;
    int y, mo, d, h, mi, sec;
    if (n == 0) {
        *what = "a timestamp (whole seconds or YYYY-MM-DD HH:MM:SS), got an empty field";
        return -1;
    }
    for (i = 0; i < n && is_digit(s[i]); i++) {
    }
    if (i == n) {
        int64_t v = 0;
        if (n > 12) {
            *what = "a timestamp in seconds up to 253402300799";
            return -1;
        }
        for (i = 0; i < n; i++) {
            v = v * 10 + (s[i] - '0');
        }
        if (v > T_MAX) {
            *what = "a timestamp in seconds up to 253402300799";
            return -1;
        }
        *t = v;
        return 0;
    }
    *what = "a timestamp: whole seconds (>= 0) or YYYY-MM-DD HH:MM:SS";
    if (n < 19 || fixed_digits(s, n, 0, 4, &y) || s[4] != '-' || fixed_digits(s, n, 5, 2, &mo) || s[7] != '-' ||
        fixed_digits(s, n, 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') || fixed_digits(s, n, 11, 2, &h) ||
        s[13] != ':' || fixed_digits(s, n, 14, 2, &mi) || s[16] != ':' || fixed_digits(s, n, 17, 2, &sec)) {
        return -1;
    }
    i = 19;
    if (i < n && s[i] == '.') {
        size_t frac = 0;
        i++;
        while (i < n && is_digit(s[i])) {
            i++;
            frac++;
        }
        if (frac == 0) {
            return -1;
        }
    }
    if (i < n && s[i] == 'Z') {
        i++;
    }
    if (i != n) {
        return -1;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) {
        *what = "a valid date-time from 1970-01-01 00:00:00 on";
        return -1;
    }
    *t = days_from_civil(y, mo, d) * SECONDS_PER_DAY + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
    return 0;
}

static void set_time(tinyad_raw_t *out, int64_t t)
{
    out->t = t;
    out->second_of_week = tinyad_second_of_week(t);
}

/* ---------------------------------------------------------------- JSON lines */

typedef struct {
    int64_t t;
    int has_t;
    double temp;
    double hum;
    char event[16];
    char reason[16];
} json_fields_t;

/* A flat JSON object of string/number/true/false/null values, as the firmware prints. */
static sim_result_t parse_json(sim_parser_t *p, const char *s, size_t n, size_t i, tinyad_raw_t *out)
{
    json_fields_t f;
    char key[16];
    char kx[128]; /* the key, quoted safely for messages */
    f.has_t = 0;
    f.t = 0;
    f.temp = NAN;
    f.hum = NAN;
    f.event[0] = '\0';
    f.reason[0] = '\0';
    i++; /* '{' */
    for (;;) {
        size_t kb, ke, vb, ve;
        while (i < n && is_space(s[i])) {
            i++;
        }
        if (i >= n || s[i] != '"') {
            return fail(p, i + 1, "expected a quoted key in the JSON line");
        }
        kb = ++i;
        while (i < n && s[i] != '"' && s[i] != '\\') {
            i++;
        }
        if (i >= n || s[i] != '"') {
            return fail(p, kb, "expected a plain quoted key (no escapes) in the JSON line");
        }
        ke = i++;
        while (i < n && is_space(s[i])) {
            i++;
        }
        if (i >= n || s[i] != ':') {
            return fail(p, i + 1, "expected ':' after a key in the JSON line");
        }
        i++;
        while (i < n && is_space(s[i])) {
            i++;
        }
        if (ke - kb >= sizeof key || memchr(s + kb, '\0', ke - kb) != NULL) {
            key[0] = '\0'; /* unknown, long key: parsed and ignored */
        } else {
            memcpy(key, s + kb, ke - kb);
            key[ke - kb] = '\0';
        }
        excerpt(kx, sizeof kx, s + kb, ke - kb);
        if (i < n && s[i] == '"') {
            vb = ++i;
            while (i < n && s[i] != '"' && s[i] != '\\') {
                i++;
            }
            if (i >= n || s[i] != '"') {
                return fail(p, vb, "expected a plain quoted string value (no escapes) in the JSON line");
            }
            ve = i++;
            if (strcmp(key, "event") == 0 || strcmp(key, "reason") == 0) {
                char *dst = key[0] == 'e' ? f.event : f.reason;
                if (ve - vb >= sizeof f.event) {
                    return fail(p, vb + 1, "unknown %s value in the JSON line", key);
                }
                memcpy(dst, s + vb, ve - vb);
                dst[ve - vb] = '\0';
            } else if (strcmp(key, "t") == 0 || strcmp(key, "temp") == 0 || strcmp(key, "hum") == 0) {
                return fail(p, vb, "expected a number for \"%s\", got a string", key);
            }
        } else {
            vb = i;
            while (i < n && s[i] != ',' && s[i] != '}' && !is_space(s[i])) {
                i++;
            }
            ve = i;
            if (ve == vb) {
                return fail(p, vb + 1, "expected a value after \"%s\" in the JSON line", kx);
            }
            if (equals_ci(s + vb, ve - vb, "true") || equals_ci(s + vb, ve - vb, "false")) {
                /* flags are outputs of the firmware, not inputs */
            } else if (strcmp(key, "t") == 0) {
                const char *what = "";
                if (parse_timestamp(s + vb, ve - vb, &f.t, &what) != 0) {
                    return fail(p, vb + 1, "expected %s for \"t\"", what);
                }
                f.has_t = 1;
            } else if (ve - vb == 4 && memcmp(s + vb, "null", 4) == 0) {
                /* null: stays NaN */
            } else {
                double v;
                if (parse_number(s + vb, ve - vb, &v) != 0 || (ve - vb == 3 && equals_ci(s + vb, 3, "nan"))) {
                    return fail(p, vb + 1, "expected a number, true, false or null after \"%s\"", kx);
                }
                if (strcmp(key, "temp") == 0) {
                    f.temp = v;
                } else if (strcmp(key, "hum") == 0) {
                    f.hum = v;
                }
            }
        }
        while (i < n && is_space(s[i])) {
            i++;
        }
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}') {
            i++;
            break;
        }
        return fail(p, i + 1, "expected ',' or '}' in the JSON line");
    }
    while (i < n && is_space(s[i])) {
        i++;
    }
    if (i != n) {
        return fail(p, i + 1, "unexpected text after the JSON object");
    }
    p->seen_data = 1;
    if (strcmp(f.event, "alert") == 0 || strcmp(f.event, "clear") == 0) {
        return SIM_SKIP;
    }
    if (strcmp(f.event, "reading") == 0) {
        /* log mode: a failed read carries its reason, a valid one is a status line */
        strcpy(f.event, f.reason[0] != '\0' ? "fault" : "status");
    }
    if (strcmp(f.event, "status") != 0 && strcmp(f.event, "fault") != 0) {
        return fail(p, 1, "expected a firmware log line with \"event\" status, reading, fault, alert or clear");
    }
    if (!f.has_t) {
        return fail(p, 1, "expected a \"t\" timestamp in the %s line", f.event);
    }
    set_time(out, f.t);
    out->status = TINYAD_READ_OK;
    out->temp_c = f.temp;
    out->humidity = f.hum;
    if (strcmp(f.event, "fault") == 0) {
        out->temp_c = NAN;
        out->humidity = NAN;
        if (strcmp(f.reason, "timeout") == 0) {
            out->status = TINYAD_READ_TIMEOUT;
        } else if (strcmp(f.reason, "dht_error") == 0) {
            out->status = TINYAD_READ_ERROR;
        } else if (strcmp(f.reason, "impossible") == 0) {
            out->temp_c = 1e9; /* replays as the same fault */
            out->humidity = 0.0;
        }
    }
    return SIM_READING;
}

/* ---------------------------------------------------------------- CSV lines */

sim_result_t sim_parse_line(sim_parser_t *p, const char *s, size_t n, tinyad_raw_t *out)
{
    size_t fb[3];
    size_t fe[3];
    size_t nfields = 0;
    size_t i;
    size_t b = 0;
    size_t e = n;
    const char *what = "";
    char ex[128];
    double temp;
    double hum;
    int64_t t;

    p->err[0] = '\0';
    p->err_col = 0;
    if (n > 0 && s[n - 1] == '\r') {
        n--;
        e = n;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '\0') {
            return fail(p, i + 1, "unexpected NUL byte");
        }
    }
    trim(s, &b, &e);
    if (b == e || s[b] == '#') {
        return SIM_SKIP;
    }
    if (s[b] == '{') {
        return parse_json(p, s, e, b, out);
    }
    /* split into exactly three fields */
    fb[0] = b;
    for (i = b; i < e; i++) {
        if (s[i] == ',') {
            if (nfields == 2) {
                return fail(p, i + 1, "expected 3 fields (timestamp,temperature,humidity), got more");
            }
            fe[nfields] = i;
            nfields++;
            fb[nfields] = i + 1;
        }
    }
    fe[nfields] = e;
    nfields++;
    if (nfields != 3) {
        return fail(p, e + 1, "expected 3 fields (timestamp,temperature,humidity), got %lu",
                    (unsigned long)nfields);
    }
    for (i = 0; i < 3; i++) {
        trim(s, &fb[i], &fe[i]);
    }
    if (!p->seen_data && fe[0] > fb[0] && ((lower(s[fb[0]]) >= 'a' && lower(s[fb[0]]) <= 'z'))) {
        p->seen_data = 1;
        return SIM_SKIP; /* header line */
    }
    p->seen_data = 1;
    if (parse_timestamp(s + fb[0], fe[0] - fb[0], &t, &what) != 0) {
        excerpt(ex, sizeof ex, s + fb[0], fe[0] - fb[0]);
        return fail(p, fb[0] + 1, "expected %s, got '%s'", what, ex);
    }
    if (parse_number(s + fb[1], fe[1] - fb[1], &temp) != 0) {
        excerpt(ex, sizeof ex, s + fb[1], fe[1] - fb[1]);
        return fail(p, fb[1] + 1, "expected a temperature in deg C (a number, empty or nan), got '%s'", ex);
    }
    if (parse_number(s + fb[2], fe[2] - fb[2], &hum) != 0) {
        excerpt(ex, sizeof ex, s + fb[2], fe[2] - fb[2]);
        return fail(p, fb[2] + 1, "expected a humidity in %%RH (a number, empty or nan), got '%s'", ex);
    }
    set_time(out, t);
    out->status = TINYAD_READ_OK;
    out->temp_c = temp;
    out->humidity = hum;
    return SIM_READING;
}

int sim_read_line(FILE *in, char *buf, size_t cap, size_t *len, int *too_long)
{
    size_t n = 0;
    int c;
    int any = 0;
    *too_long = 0;
    while ((c = getc(in)) != EOF) {
        any = 1;
        if (c == '\n') {
            break;
        }
        if (n + 1 < cap) {
            buf[n++] = (char)c;
        } else {
            *too_long = 1;
        }
    }
    buf[n] = '\0';
    *len = n;
    return any;
}
