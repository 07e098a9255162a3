/* json.c - the JSON writer and reader of src/io/json.h. */
#include "io/json.h"
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing -------------------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one (overlong forms,
   surrogates and code points above U+10FFFF are not valid). */
static int utf8_valid(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c <= 0xef ? 3 : 0) : c >= 0xc2 ? 2 : 0;
    if (!n) return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    unsigned cp = n == 2 ? (c & 0x1f) << 6 | (s[1] & 63u)
                : n == 3 ? (c & 0x0f) << 12 | (s[1] & 63u) << 6 | (s[2] & 63u)
                : (c & 0x07) << 18 | (s[1] & 63u) << 12 | (s[2] & 63u) << 6 | (s[3] & 63u);
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void dn_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    while (*u) {
        unsigned char ch = *u;
        int n = utf8_valid(u);
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
        else if (n) fwrite(u, 1, (size_t)n, f);
        else fputs("\\ufffd", f);
        u += n ? n : 1;
    }
    fputc('"', f);
}

void dn_json_float(FILE *f, double v)
{
    float x = (float)v;
    if (!isfinite(x)) {
        fputs("null", f);
        return;
    }
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if ((float)strtod(buf, NULL) == x) break;
    }
    fputs(buf, f);
}

/* ---- reading -------------------------------------------------------------------------------- */

/* The value of 4 hex digits at p, or -1. */
static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Writes code point v (< 0x110000) as UTF-8 into out; returns the length. */
static int utf8_encode(unsigned v, char *out)
{
    if (v < 0x80) return out[0] = (char)v, 1;
    if (v < 0x800) return out[0] = (char)(0xc0 | v >> 6), out[1] = (char)(0x80 | (v & 63)), 2;
    if (v < 0x10000)
        return out[0] = (char)(0xe0 | v >> 12), out[1] = (char)(0x80 | ((v >> 6) & 63)), out[2] = (char)(0x80 | (v & 63)), 3;
    out[0] = (char)(0xf0 | v >> 18), out[1] = (char)(0x80 | ((v >> 12) & 63));
    out[2] = (char)(0x80 | ((v >> 6) & 63)), out[3] = (char)(0x80 | (v & 63));
    return 4;
}

typedef struct jparser {
    const char *p, *end, *path;
    int line;
    char err[512];
} jparser;

void dn_jv_free(dn_jv *v)
{
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        dn_jv_free(&v->kid[i]);
        if (v->key) dn_free(v->key[i]);
    }
    dn_free(v->kid);
    dn_free(v->key);
    dn_free(v->str);
    memset(v, 0, sizeof *v);
}

static int jfail(jparser *P, const char *what)
{
    if (!P->err[0]) snprintf(P->err, sizeof P->err, "%s:%d: %s", P->path, P->line, what);
    return -1;
}

static void jspace(jparser *P)
{
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r')) {
        if (*P->p == '\n') P->line++;
        P->p++;
    }
}

static int jstring(jparser *P, char **out)
{
    size_t cap = 32, n = 0;
    char *s = dn_malloc(cap);
    if (!s) return jfail(P, "out of memory");
    P->p++; /* the opening quote */
    while (P->p < P->end && *P->p != '"') {
        char ch = *P->p++;
        if ((unsigned char)ch < 0x20) {
            dn_free(s);
            return jfail(P, "control character in a string");
        }
        char enc[4];
        int ne = 1;
        enc[0] = ch;
        if (ch == '\\') {
            if (P->p >= P->end) break;
            char esc = *P->p++;
            switch (esc) {
            case 'n': enc[0] = '\n'; break;
            case 't': enc[0] = '\t'; break;
            case 'r': enc[0] = '\r'; break;
            case 'b': enc[0] = '\b'; break;
            case 'f': enc[0] = '\f'; break;
            case '"': case '\\': case '/': enc[0] = esc; break;
            case 'u': {
                int h = P->end - P->p >= 4 ? hex4(P->p) : -1;
                if (h < 0) {
                    dn_free(s);
                    return jfail(P, "bad \\u escape");
                }
                unsigned v = (unsigned)h;
                P->p += 4;
                if (v >= 0xd800 && v < 0xdc00 && P->end - P->p >= 6 && P->p[0] == '\\' && P->p[1] == 'u') {
                    int lo = hex4(P->p + 2); /* a surrogate pair */
                    if (lo >= 0xdc00 && lo < 0xe000) {
                        v = 0x10000 + ((v - 0xd800) << 10) + (unsigned)(lo - 0xdc00);
                        P->p += 6;
                    }
                }
                if (v >= 0xd800 && v < 0xe000) v = 0xfffd; /* a lone surrogate */
                ne = utf8_encode(v, enc);
                break;
            }
            default: dn_free(s); return jfail(P, "bad escape in a string");
            }
        }
        if (n + (size_t)ne + 1 > cap) {
            char *g = dn_realloc(s, cap * 2);
            if (!g) {
                dn_free(s);
                return jfail(P, "out of memory");
            }
            s = g, cap *= 2;
        }
        memcpy(s + n, enc, (size_t)ne);
        n += (size_t)ne;
    }
    if (P->p >= P->end) {
        dn_free(s);
        return jfail(P, "unterminated string");
    }
    P->p++;
    s[n] = 0;
    *out = s;
    return 0;
}

static int jvalue(jparser *P, dn_jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    jspace(P);
    if (P->p >= P->end) return jfail(P, "unexpected end of file");
    if (depth > 64) return jfail(P, "nested too deeply");
    char ch = *P->p;
    if (ch == '{' || ch == '[') {
        int obj = ch == '{', cap = 0;
        v->t = obj ? DN_J_OBJ : DN_J_ARR;
        P->p++;
        jspace(P);
        if (P->p < P->end && *P->p == (obj ? '}' : ']')) {
            P->p++;
            return 0;
        }
        for (;;) {
            if (v->n == cap) {
                int nc = cap ? cap * 2 : 8;
                dn_jv *k = dn_realloc(v->kid, (size_t)nc * sizeof *k);
                if (!k) return jfail(P, "out of memory");
                v->kid = k;
                if (obj) {
                    char **ks = dn_realloc(v->key, (size_t)nc * sizeof *ks);
                    if (!ks) return jfail(P, "out of memory");
                    v->key = ks;
                }
                cap = nc;
            }
            if (obj) {
                jspace(P);
                if (P->p >= P->end || *P->p != '"') return jfail(P, "expected a key");
                if (jstring(P, &v->key[v->n])) return -1;
                jspace(P);
                if (P->p >= P->end || *P->p != ':') {
                    dn_free(v->key[v->n]);
                    return jfail(P, "expected ':'");
                }
                P->p++;
            }
            if (jvalue(P, &v->kid[v->n], depth + 1)) {
                dn_jv_free(&v->kid[v->n]);
                if (obj) dn_free(v->key[v->n]);
                return -1;
            }
            v->n++;
            jspace(P);
            if (P->p < P->end && *P->p == ',') {
                P->p++;
                continue;
            }
            if (P->p < P->end && *P->p == (obj ? '}' : ']')) {
                P->p++;
                return 0;
            }
            return jfail(P, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (ch == '"') {
        v->t = DN_J_STR;
        return jstring(P, &v->str);
    }
    if (P->end - P->p >= 4 && !strncmp(P->p, "null", 4)) return v->t = DN_J_NULL, P->p += 4, 0;
    if (P->end - P->p >= 4 && !strncmp(P->p, "true", 4)) return v->t = DN_J_BOOL, v->num = 1, P->p += 4, 0;
    if (P->end - P->p >= 5 && !strncmp(P->p, "false", 5)) return v->t = DN_J_BOOL, v->num = 0, P->p += 5, 0;
    /* a number: JSON's characters only (strtod alone would take inf, nan and hex) */
    const char *q = P->p;
    while (q < P->end && strchr("0123456789+-.eE", *q) && *q) q++;
    if (q == P->p || q - P->p > 64) return jfail(P, q == P->p ? "unexpected character" : "number too long");
    char num[72], *endp;
    memcpy(num, P->p, (size_t)(q - P->p));
    num[q - P->p] = 0;
    v->num = strtod(num, &endp);
    if (endp != num + (q - P->p)) return jfail(P, "bad number");
    v->t = DN_J_NUM;
    P->p = q;
    return 0;
}

dn_status dn_json_parse(const char *text, size_t n, const char *name, dn_jv *root)
{
    jparser P = {text, text + n, name, 1, ""};
    int rc = jvalue(&P, root, 0);
    if (rc == 0) {
        jspace(&P);
        if (P.p != P.end) rc = jfail(&P, "text after the JSON value");
    }
    if (rc == 0) return DN_OK;
    dn_jv_free(root);
    return dn_error(strstr(P.err, "out of memory") ? DN_ERR_NOMEM : DN_ERR_PARSE, "%s", P.err);
}

dn_status dn_json_read(const char *path, dn_jv *root)
{
    memset(root, 0, sizeof *root);
    FILE *f = fopen(path, "rb");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = dn_malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *g = dn_realloc(buf, cap * 2);
            if (!g) {
                dn_free(buf);
                buf = NULL;
                break;
            }
            buf = g, cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return dn_error(DN_ERR_NOMEM, "%s: cannot read: out of memory", path);
    if (bad) {
        dn_free(buf);
        return dn_error(DN_ERR_IO, "%s: cannot read", path);
    }
    buf[n] = 0;
    dn_status st = dn_json_parse(buf, n, path, root);
    dn_free(buf);
    return st;
}

const dn_jv *dn_json_get(const dn_jv *o, const char *key)
{
    if (!o || o->t != DN_J_OBJ) return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->key[i], key)) return &o->kid[i];
    return NULL;
}

double dn_json_num(const dn_jv *o, const char *key, double def)
{
    const dn_jv *v = dn_json_get(o, key);
    return v && (v->t == DN_J_NUM || v->t == DN_J_BOOL) ? v->num : def;
}

const char *dn_json_string(const dn_jv *o, const char *key)
{
    const dn_jv *v = dn_json_get(o, key);
    return v && v->t == DN_J_STR ? v->str : NULL;
}

float dn_json_at(const dn_jv *a, int i) { return a && a->t == DN_J_ARR && i < a->n && a->kid[i].t == DN_J_NUM ? (float)a->kid[i].num : 0.f; }

