/* fuzz_json.c - fuzz target: the JSON reader and writer (src/io/json.c) and what reads JSON back,
 * `gradcampp eval merge` (a shard's settings and per-image records, the totals recomputed from
 * them, the merged JSON written). The input is parsed; every string of a parsed tree is written
 * with dn_json_str and must read back to the same bytes when it was valid UTF-8 (else it must
 * still parse); then the input is merged as one shard, and a merged file, when written, must
 * parse. */
#include "fuzz.h"
#include "apps/app.h"
#include "io/json.h"

#include <fcntl.h>

int cmd_gradcampp_eval(int argc, char **argv);

/* 1 when s[0..n) is valid UTF-8 (what the writer keeps unchanged) */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!k || i + k > n) return 0;
        unsigned cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 63u);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += k;
    }
    return 1;
}

/* Writes s with dn_json_str and reads it back. */
static void round_trip(const char *s)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) abort();
    dn_json_str(f, s);
    if (fclose(f) != 0) abort();
    if (!valid_utf8((const unsigned char *)buf, n)) abort(); /* the writer's output is always UTF-8 */
    dn_jv v;
    if (dn_json_parse(buf, n, "round trip", &v) != DN_OK || v.t != DN_J_STR) {
        fprintf(stderr, "fuzz: the writer's %s does not read back: %s\n", buf, dn_last_error());
        abort();
    }
    if (valid_utf8((const unsigned char *)s, strlen(s)) && strcmp(v.str, s) != 0) abort();
    dn_jv_free(&v);
    free(buf);
}

static void walk(const dn_jv *v, int *budget)
{
    if (--*budget < 0) return;
    if (v->t == DN_J_STR) round_trip(v->str);
    for (int i = 0; i < v->n; i++) {
        if (v->key) round_trip(v->key[i]);
        walk(&v->kid[i], budget);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    dn_jv root;
    dn_status st = dn_json_parse((const char *)data, size, "input", &root);
    fuzz_expect_reason(st);
    if (st == DN_OK) {
        int budget = 200;
        walk(&root, &budget);
        dn_jv_free(&root);
    }
    /* the input, NUL-terminated, as one string */
    char *text = malloc(size + 1);
    if (!text) abort();
    if (size) memcpy(text, data, size);
    text[size] = 0;
    round_trip(text);
    free(text);

    /* gradcampp eval merge with the input as the one shard */
    char shard[160], out[160];
    snprintf(shard, sizeof shard, "%s", fuzz_file("shard.json", data, size));
    snprintf(out, sizeof out, "%s", shard);
    memcpy(out + strlen(out) - 10, "merge.json", 10);
    unlink(out);
    char *argv[] = {"darknet", "gradcampp", "eval", "merge", out, shard, NULL};
    fflush(stdout);
    fflush(stderr);
    int saved1 = dup(1), saved2 = dup(2), null = open("/dev/null", O_WRONLY);
    if (saved1 < 0 || saved2 < 0 || null < 0) abort();
    dup2(null, 1);
    dup2(null, 2);
    int rc = cmd_gradcampp_eval(6, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1), close(saved2), close(null);
    if (rc != APP_OK && rc != APP_FAIL && rc != APP_USAGE) abort();
    if (access(out, F_OK) == 0) {
        dn_jv m;
        if (dn_json_read(out, &m) != DN_OK) {
            fprintf(stderr, "fuzz: merge wrote JSON that does not read back: %s\n", dn_last_error());
            abort();
        }
        dn_jv_free(&m);
        unlink(out);
    } else if (rc == APP_OK) {
        abort(); /* success without the output */
    }
    fuzz_end();
    return 0;
}
