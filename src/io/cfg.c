/* cfg.c - reads Darknet .cfg files into sections of key=value pairs with line numbers, and
 * typed lookups that name path:line on a malformed value. Like Darknet, whitespace inside a line
 * is dropped and lines starting with '#' or ';' are comments. */
#include "core/core.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define CFG_MAX_BYTES (16u << 20)

void dn_cfg_free(dn_cfg *c)
{
    if (!c) return;
    for (int i = 0; i < c->nsec; i++) {
        dn_section *s = &c->sec[i];
        for (int k = 0; k < s->nkv; k++) {
            dn_free(s->kv[k].key);
            dn_free(s->kv[k].val);
        }
        dn_free(s->kv);
        dn_free(s->type);
    }
    dn_free(c->sec);
    dn_free(c->path);
    dn_free(c);
}

/* Removes every whitespace character (Darknet's strip) in place. */
static void strip_ws(char *s)
{
    char *d = s;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' && *s != '\v' && *s != '\f') *d++ = *s;
    *d = 0;
}

static dn_status add_section(dn_cfg *c, const char *type, int line)
{
    if (c->nsec >= DN_MAX_LAYERS + 1)
        return dn_error(DN_ERR_RANGE, "%s:%d: too many sections (limit %d)", c->path, line,
                        DN_MAX_LAYERS);
    dn_section *ns = dn_realloc(c->sec, (size_t)(c->nsec + 1) * sizeof *ns);
    if (!ns) return DN_ERR_NOMEM;
    c->sec = ns;
    dn_section *s = &c->sec[c->nsec];
    memset(s, 0, sizeof *s);
    s->line = line;
    s->type = dn_strdup(type);
    if (!s->type) return DN_ERR_NOMEM;
    c->nsec++;
    return DN_OK;
}

static dn_status add_kv(dn_cfg *c, char *key, char *val, int line)
{
    dn_section *s = &c->sec[c->nsec - 1];
    for (int k = 0; k < s->nkv; k++)
        if (!strcmp(s->kv[k].key, key))
            dn_warn("%s:%d: key '%s' repeated in [%s] (line %d); using the first", c->path, line,
                    key, s->type, s->kv[k].line);
    if (s->nkv >= 4096) return dn_error(DN_ERR_RANGE, "%s:%d: too many keys in [%s]", c->path, line, s->type);
    dn_kv *nk = dn_realloc(s->kv, (size_t)(s->nkv + 1) * sizeof *nk);
    if (!nk) return DN_ERR_NOMEM;
    s->kv = nk;
    dn_kv *kv = &s->kv[s->nkv];
    kv->key = dn_strdup(key);
    kv->val = dn_strdup(val);
    kv->line = line;
    kv->used = 0;
    if (!kv->key || !kv->val) {
        dn_free(kv->key);
        dn_free(kv->val);
        return DN_ERR_NOMEM;
    }
    s->nkv++;
    return DN_OK;
}

dn_status dn_cfg_parse_text(const char *text, size_t len, const char *path, dn_cfg **out)
{
    *out = NULL;
    dn_cfg *c = dn_calloc(1, sizeof *c);
    if (!c) return DN_ERR_NOMEM;
    c->path = dn_strdup(path);
    char *buf = dn_malloc(len + 1);
    if (!c->path || !buf) {
        dn_free(buf);
        dn_cfg_free(c);
        return DN_ERR_NOMEM;
    }
    memcpy(buf, text, len);
    buf[len] = 0;
    dn_status st = DN_OK;
    int line = 0;
    char *p = buf;
    while (st == DN_OK && p < buf + len) {
        char *e = memchr(p, '\n', (size_t)(buf + len - p));
        if (!e) e = buf + len;
        *e = 0;
        line++;
        if (memchr(p, 0, (size_t)(e - p))) {
            st = dn_error(DN_ERR_PARSE, "%s:%d: NUL byte in cfg text", path, line);
            break;
        }
        strip_ws(p);
        if (p[0] == 0 || p[0] == '#' || p[0] == ';') {
            /* blank or comment */
        } else if (p[0] == '[') {
            size_t n = strlen(p);
            if (n < 3 || p[n - 1] != ']') {
                st = dn_error(DN_ERR_PARSE, "%s:%d: malformed section header '%s'", path, line, p);
                break;
            }
            p[n - 1] = 0;
            st = add_section(c, p + 1, line);
        } else {
            char *eq = strchr(p, '=');
            if (!eq || eq == p) {
                st = dn_error(DN_ERR_PARSE, "%s:%d: expected key=value, got '%.60s'", path, line, p);
                break;
            }
            if (c->nsec == 0) {
                st = dn_error(DN_ERR_PARSE, "%s:%d: key '%.*s' before any [section]", path, line,
                              (int)(eq - p), p);
                break;
            }
            *eq = 0;
            /* an inline comment ends the value, as Darknet's atoi/atof stop there */
            char *hash = strchr(eq + 1, '#');
            if (hash) *hash = 0;
            st = add_kv(c, p, eq + 1, line);
        }
        p = e + 1;
    }
    dn_free(buf);
    if (st == DN_OK && c->nsec == 0) st = dn_error(DN_ERR_PARSE, "%s: no sections in cfg", path);
    if (st != DN_OK) {
        dn_cfg_free(c);
        return st;
    }
    *out = c;
    return DN_OK;
}

dn_status dn_cfg_read(const char *path, dn_cfg **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open cfg: %s", path, strerror(errno));
    size_t cap = 1 << 14, len = 0;
    char *buf = dn_malloc(cap);
    if (!buf) {
        fclose(f);
        return DN_ERR_NOMEM;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= CFG_MAX_BYTES) {
                dn_free(buf);
                fclose(f);
                return dn_error(DN_ERR_RANGE, "%s: cfg larger than %u bytes", path, CFG_MAX_BYTES);
            }
            char *nb = dn_realloc(buf, cap * 2);
            if (!nb) {
                dn_free(buf);
                fclose(f);
                return DN_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        dn_free(buf);
        return dn_error(DN_ERR_IO, "%s: read error", path);
    }
    dn_status st = dn_cfg_parse_text(buf, len, path, out);
    dn_free(buf);
    return st;
}

static dn_kv *find(dn_section *s, const char *key)
{
    for (int k = 0; k < s->nkv; k++)
        if (!strcmp(s->kv[k].key, key)) {
            s->kv[k].used = 1;
            return &s->kv[k];
        }
    return NULL;
}

const char *dn_sec_str(dn_section *s, const char *key)
{
    dn_kv *kv = find(s, key);
    return kv ? kv->val : NULL;
}

int dn_sec_line(const dn_section *s, const char *key)
{
    for (int k = 0; k < s->nkv; k++)
        if (!strcmp(s->kv[k].key, key)) return s->kv[k].line;
    return s->line;
}

static dn_status parse_int(const dn_cfg *c, const dn_kv *kv, const char *v, int *out)
{
    errno = 0;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || (*end && *end != ',') || errno || x < INT_MIN || x > INT_MAX)
        return dn_error(DN_ERR_PARSE, "%s:%d: '%s' expects an integer, got '%.40s'", c->path,
                        kv->line, kv->key, kv->val);
    *out = (int)x;
    return DN_OK;
}

static dn_status parse_float(const dn_cfg *c, const dn_kv *kv, const char *v, float *out)
{
    errno = 0;
    char *end;
    float x = strtof(v, &end);
    if (end == v || (*end && *end != ',') || x != x)
        return dn_error(DN_ERR_PARSE, "%s:%d: '%s' expects a number, got '%.40s'", c->path,
                        kv->line, kv->key, kv->val);
    *out = x;
    return DN_OK;
}

dn_status dn_sec_int(const dn_cfg *c, dn_section *s, const char *key, int def, int *out)
{
    dn_kv *kv = find(s, key);
    if (!kv) {
        *out = def;
        return DN_OK;
    }
    return parse_int(c, kv, kv->val, out);
}

dn_status dn_sec_float(const dn_cfg *c, dn_section *s, const char *key, float def, float *out)
{
    dn_kv *kv = find(s, key);
    if (!kv) {
        *out = def;
        return DN_OK;
    }
    return parse_float(c, kv, kv->val, out);
}

static dn_status parse_list(const dn_cfg *c, dn_section *s, const char *key, int is_float,
                            void **out, int *n)
{
    *out = NULL;
    *n = 0;
    dn_kv *kv = find(s, key);
    if (!kv) return DN_OK;
    int count = 1;
    for (const char *p = kv->val; *p; p++)
        if (*p == ',') count++;
    if (kv->val[0] == 0)
        return dn_error(DN_ERR_PARSE, "%s:%d: '%s' is empty", c->path, kv->line, key);
    /* a trailing comma (as in some public cfgs) does not add an item */
    size_t vl = strlen(kv->val);
    if (vl && kv->val[vl - 1] == ',') count--;
    void *arr = dn_calloc((size_t)count, is_float ? sizeof(float) : sizeof(int));
    if (!arr) return DN_ERR_NOMEM;
    const char *p = kv->val;
    for (int i = 0; i < count; i++) {
        dn_status st = is_float ? parse_float(c, kv, p, (float *)arr + i)
                                : parse_int(c, kv, p, (int *)arr + i);
        if (st != DN_OK) {
            dn_free(arr);
            return st;
        }
        p = strchr(p, ',');
        if (p) p++;
        else break;
    }
    *out = arr;
    *n = count;
    return DN_OK;
}

dn_status dn_sec_int_list(const dn_cfg *c, dn_section *s, const char *key, int **out, int *n)
{
    return parse_list(c, s, key, 0, (void **)out, n);
}

dn_status dn_sec_float_list(const dn_cfg *c, dn_section *s, const char *key, float **out, int *n)
{
    return parse_list(c, s, key, 1, (void **)out, n);
}
