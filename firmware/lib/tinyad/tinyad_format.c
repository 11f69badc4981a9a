/* tinyad_format.c: serial line formatting (see tinyad_format.h). */
#include "tinyad_format.h"

#include <string.h>

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    int overflow;
} out_t;

static void put(out_t *o, const char *s)
{
    size_t n = strlen(s);
    if (o->overflow || o->len + n + 1 > o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n + 1);
    o->len += n;
}

static void put_i64(out_t *o, int64_t v)
{
    char tmp[24];
    char rev[24];
    size_t n = 0;
    size_t i;
    /* Work with the magnitude as unsigned so INT64_MIN is safe. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        rev[n++] = (char)('0' + (int)(mag % 10u));
        mag /= 10u;
    } while (mag != 0u);
    i = 0;
    if (v < 0) {
        tmp[i++] = '-';
    }
    while (n > 0) {
        tmp[i++] = rev[--n];
    }
    tmp[i] = '\0';
    put(o, tmp);
}

size_t tinyad_format_tenths(char *buf, size_t cap, int32_t tenths)
{
    out_t o;
    int64_t v = tenths;
    int64_t mag = v < 0 ? -v : v;
    char frac[3];
    o.buf = buf;
    o.cap = cap;
    o.len = 0;
    o.overflow = 0;
    if (cap > 0) {
        buf[0] = '\0';
    }
    if (v < 0) {
        put(&o, "-");
    }
    put_i64(&o, mag / 10);
    frac[0] = '.';
    frac[1] = (char)('0' + (int)(mag % 10));
    frac[2] = '\0';
    put(&o, frac);
    if (o.overflow) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return o.len;
}

static void put_tenths(out_t *o, int32_t tenths)
{
    char tmp[24];
    if (tinyad_format_tenths(tmp, sizeof tmp, tenths) == 0) {
        o->overflow = 1;
        return;
    }
    put(o, tmp);
}

static void put_bool(out_t *o, const char *key, int value)
{
    put(o, key);
    put(o, value ? "true" : "false");
}

static const char *event_name(tinyad_line_kind_t kind)
{
    switch (kind) {
    case TINYAD_LINE_ALERT:
        return "alert";
    case TINYAD_LINE_CLEAR:
        return "clear";
    case TINYAD_LINE_STATUS:
        return "status";
    case TINYAD_LINE_FAULT:
        return "fault";
    case TINYAD_LINE_READING:
        return "reading";
    }
    return "unknown";
}

size_t tinyad_format_line(char *buf, size_t cap, const tinyad_line_t *line)
{
    out_t o;
    o.buf = buf;
    o.cap = cap;
    o.len = 0;
    o.overflow = 0;
    if (cap > 0) {
        buf[0] = '\0';
    }
    put(&o, "{\"t\":");
    put_i64(&o, line->t);
    put(&o, ",\"event\":\"");
    put(&o, event_name(line->kind));
    put(&o, "\"");
    if (line->kind == TINYAD_LINE_FAULT) {
        put(&o, ",\"reason\":\"");
        put(&o, tinyad_fault_name(line->fault));
        put(&o, "\"");
    } else if (line->kind == TINYAD_LINE_READING && line->fault != TINYAD_FAULT_NONE) {
        put(&o, ",\"temp\":null,\"hum\":null,\"reason\":\"");
        put(&o, tinyad_fault_name(line->fault));
        put(&o, "\"");
    } else {
        put(&o, ",\"temp\":");
        put_tenths(&o, line->temp10);
        put(&o, ",\"hum\":");
        if (line->has_hum) {
            put_tenths(&o, line->hum10);
        } else {
            put(&o, "null");
        }
        put(&o, ",\"score\":");
        if (line->has_score) {
            put_i64(&o, line->score);
        } else {
            put(&o, "null");
        }
        put_bool(&o, ",\"model\":", line->model);
        put_bool(&o, ",\"threshold\":", line->threshold);
        put_bool(&o, ",\"stuck\":", line->stuck);
        if (line->kind == TINYAD_LINE_STATUS || line->kind == TINYAD_LINE_READING) {
            put_bool(&o, ",\"alert\":", line->alert);
        }
    }
    put(&o, "}");
    if (o.overflow) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return 0;
    }
    return o.len;
}
