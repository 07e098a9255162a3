/* options.c - Darknet's small text files: key=value .data files (pjreddie/darknet
 * src/option_list.c: read_data_cfg, option_find) and one-item-per-line lists (.names, image
 * lists). Both read the whole file at once; errors name the file (and line). */
#include "core/core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

/* Largest text file read (a list of a few million image paths fits easily). */
#define TEXT_MAX_BYTES ((size_t)1 << 30)

typedef struct dn_option {
    const char *key, *val; /* point into the options' text */
    int line;
} dn_option;

struct dn_options {
    char *text;     /* the file, cut into NUL-terminated keys and values */
    dn_option *opt; /* (n) in file order */
    int n;
};

/* Reads the whole file plus a terminating NUL into *buf (*len bytes without the NUL). */
static dn_status read_text(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        if (cap - n < 2) {
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > TEXT_MAX_BYTES + 2) ncap = TEXT_MAX_BYTES + 2;
            if (ncap <= cap) {
                dn_free(b);
                fclose(f);
                return dn_error(DN_ERR_IO, "%s: file larger than %zu bytes", path,
                                TEXT_MAX_BYTES);
            }
            char *nb = dn_realloc(b, ncap);
            if (!nb) {
                dn_free(b);
                fclose(f);
                return dn_error(DN_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        dn_free(b);
        return dn_error(DN_ERR_IO, "%s: read error: %s", path, strerror(saved));
    }
    if (n > TEXT_MAX_BYTES) {
        dn_free(b);
        return dn_error(DN_ERR_IO, "%s: file larger than %zu bytes", path, TEXT_MAX_BYTES);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return DN_OK;
}

/* Cuts text into lines in place (LF or CRLF; a lone CR is whitespace), skipping a UTF-8 byte
 * order mark. Calls fn(ctx, line, lineno) for each; stops at the first non-OK status. A NUL
 * byte inside the text is a parse error. */
typedef dn_status (*line_fn)(void *ctx, char *line, int lineno);

static dn_status each_line(const char *path, char *text, size_t len, line_fn fn, void *ctx)
{
    size_t pos = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        pos = 3;
    int lineno = 0;
    while (pos < len) {
        if (lineno == INT_MAX) return dn_error(DN_ERR_PARSE, "%s: too many lines", path);
        lineno++;
        char *line = text + pos;
        char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        if (memchr(line, '\0', n))
            return dn_error(DN_ERR_PARSE, "%s:%d: NUL byte in a text file", path, lineno);
        line[n] = '\0';
        pos += n + 1;
        dn_status s = fn(ctx, line, lineno);
        if (s != DN_OK) return s;
    }
    return DN_OK;
}

/* Strips leading and trailing whitespace (including CR) in place. */
static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* ---- .data options ---------------------------------------------------------------------- */

typedef struct opt_ctx {
    const char *path;
    dn_options *o;
    int cap;
} opt_ctx;

static dn_status opt_line(void *vctx, char *line, int lineno)
{
    opt_ctx *c = vctx;
    char *t = trim(line);
    /* Darknet skips blank lines and lines starting with '#' or ';'. */
    if (*t == '\0' || *t == '#' || *t == ';') return DN_OK;
    char *eq = strchr(t, '=');
    if (!eq)
        return dn_error(DN_ERR_PARSE, "%s:%d: expected key=value, got \"%.60s\"", c->path,
                        lineno, t);
    *eq = '\0';
    char *key = trim(t), *val = trim(eq + 1);
    if (*key == '\0') return dn_error(DN_ERR_PARSE, "%s:%d: empty key", c->path, lineno);
    dn_options *o = c->o;
    if (o->n == c->cap) {
        if (c->cap > INT_MAX / 2)
            return dn_error(DN_ERR_PARSE, "%s:%d: too many options", c->path, lineno);
        int ncap = c->cap ? c->cap * 2 : 16;
        size_t bytes = dn_size_mul((size_t)ncap, sizeof *o->opt, SIZE_MAX / 2);
        dn_option *no = bytes ? dn_realloc(o->opt, bytes) : NULL;
        if (!no) return dn_error(DN_ERR_NOMEM, "%s:%d: out of memory", c->path, lineno);
        o->opt = no;
        c->cap = ncap;
    }
    o->opt[o->n].key = key;
    o->opt[o->n].val = val;
    o->opt[o->n].line = lineno;
    o->n++;
    return DN_OK;
}

dn_status dn_options_read(const char *path, dn_options **out)
{
    if (!out) return dn_error(DN_ERR_ARG, "dn_options_read: NULL output");
    *out = NULL;
    if (!path) return dn_error(DN_ERR_ARG, "dn_options_read: NULL path");
    dn_options *o = dn_calloc(1, sizeof *o);
    if (!o) return dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
    size_t len;
    dn_status s = read_text(path, &o->text, &len);
    if (s == DN_OK) {
        opt_ctx c = {path, o, 0};
        s = each_line(path, o->text, len, opt_line, &c);
    }
    if (s != DN_OK) {
        dn_options_free(o);
        return s;
    }
    *out = o;
    return DN_OK;
}

/* The first occurrence of a key wins, as in Darknet's option_find. */
const char *dn_options_str(const dn_options *o, const char *key, const char *def)
{
    if (!o || !key) return def;
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->opt[i].key, key) == 0) return o->opt[i].val;
    return def;
}

int dn_options_int(const dn_options *o, const char *key, int def)
{
    const char *v = dn_options_str(o, key, NULL);
    if (!v) return def;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE || x < INT_MIN || x > INT_MAX) {
        dn_warn("option %s = \"%s\" is not an integer; using %d", key, v, def);
        return def;
    }
    return (int)x;
}

void dn_options_free(dn_options *o)
{
    if (!o) return;
    dn_free(o->opt);
    dn_free(o->text);
    dn_free(o);
}

/* ---- line lists ------------------------------------------------------------------------- */

typedef struct lines_ctx {
    const char *path;
    char **v; /* (cap) strings, NULL-terminated after n */
    int n, cap;
} lines_ctx;

static dn_status lines_line(void *vctx, char *line, int lineno)
{
    lines_ctx *c = vctx;
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
    if (n == 0) return DN_OK;
    if (c->n + 1 >= c->cap) {
        if (c->cap > INT_MAX / 2)
            return dn_error(DN_ERR_PARSE, "%s:%d: too many lines", c->path, lineno);
        int ncap = c->cap ? c->cap * 2 : 64;
        size_t bytes = dn_size_mul((size_t)ncap, sizeof *c->v, SIZE_MAX / 2);
        char **nv = bytes ? dn_realloc(c->v, bytes) : NULL;
        if (!nv) return dn_error(DN_ERR_NOMEM, "%s:%d: out of memory", c->path, lineno);
        c->v = nv;
        c->cap = ncap;
    }
    char *d = dn_malloc(n + 1);
    if (!d) return dn_error(DN_ERR_NOMEM, "%s:%d: out of memory", c->path, lineno);
    memcpy(d, line, n + 1);
    c->v[c->n++] = d;
    c->v[c->n] = NULL;
    return DN_OK;
}

dn_status dn_lines_read(const char *path, char ***lines, int *count)
{
    if (!lines || !count) return dn_error(DN_ERR_ARG, "dn_lines_read: NULL output");
    *lines = NULL;
    *count = 0;
    if (!path) return dn_error(DN_ERR_ARG, "dn_lines_read: NULL path");
    char *text;
    size_t len;
    dn_status s = read_text(path, &text, &len);
    if (s != DN_OK) return s;
    lines_ctx c = {path, NULL, 0, 0};
    s = each_line(path, text, len, lines_line, &c);
    dn_free(text);
    if (s == DN_OK && !c.v) {
        /* An empty list is still a valid (NULL-terminated) array. */
        c.v = dn_calloc(1, sizeof *c.v);
        if (!c.v) s = dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
    }
    if (s != DN_OK) {
        dn_lines_free(c.v, c.n);
        return s;
    }
    *lines = c.v;
    *count = c.n;
    return DN_OK;
}

void dn_lines_free(char **lines, int count)
{
    if (!lines) return;
    for (int i = 0; i < count; i++) dn_free(lines[i]);
    dn_free(lines);
}
