/* status.c - status names, the thread-local error message and the warning log sink.
 * Library code records why it failed with dn_error(); only the apps print and exit. */
#include "core.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char g_err[512];
static FILE *g_log;
static int g_log_set;

const char *dn_status_str(dn_status s)
{
    switch (s) {
    case DN_OK: return "ok";
    case DN_ERR_IO: return "i/o error";
    case DN_ERR_PARSE: return "parse error";
    case DN_ERR_FORMAT: return "format error";
    case DN_ERR_NOMEM: return "out of memory";
    case DN_ERR_RANGE: return "out of range";
    case DN_ERR_UNSUPPORTED: return "unsupported";
    case DN_ERR_ARG: return "bad argument";
    }
    return "unknown status";
}

const char *dn_last_error(void) { return g_err; }

dn_status dn_error(dn_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return s;
}

void dn_set_log(FILE *f)
{
    g_log = f;
    g_log_set = 1;
}

void dn_warn(const char *fmt, ...)
{
    FILE *f = g_log_set ? g_log : stderr;
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}
