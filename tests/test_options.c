/* test_options.c - Darknet .data option files and line lists: comments, whitespace, CRLF,
 * blank lines, bad lines with path:line in the error, missing files, malformed integers (a
 * warning naming the key), NUL bytes, byte order marks and allocation failures. */
#include "darknet.h"
#include "core/core.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char t_dir[64];

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", t_dir, name);
    return buf[slot];
}

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static int write_text(const char *path, const char *text)
{
    return write_bytes(path, text, strlen(text));
}

static int error_names(const char *what) { return strstr(dn_last_error(), what) != NULL; }

/* ---- options ---------------------------------------------------------------------------- */

TEST(options_basic)
{
    const char *p = tpath("coco.data");
    CHECK(write_text(p, "# a comment\n"
                        "  classes = 80 \r\n"
                        "\n"
                        "   \t\n"
                        "train  =  data/train list.txt\n"
                        "names=data/coco.names\n"
                        "; another comment\n"
                        "   # indented comment\n"
                        "backup = backup/\n"
                        "empty=\n"
                        "eq = a=b\n"
                        "classes = 3\n"
                        "last=no newline") == 0);
    dn_options *o;
    CHECK_OK(dn_options_read(p, &o));
    CHECK(dn_options_int(o, "classes", -1) == 80); /* the first occurrence wins */
    CHECK(strcmp(dn_options_str(o, "train", ""), "data/train list.txt") == 0);
    CHECK(strcmp(dn_options_str(o, "names", ""), "data/coco.names") == 0);
    CHECK(strcmp(dn_options_str(o, "backup", ""), "backup/") == 0);
    CHECK(strcmp(dn_options_str(o, "empty", "x"), "") == 0);
    CHECK(strcmp(dn_options_str(o, "eq", ""), "a=b") == 0);
    CHECK(strcmp(dn_options_str(o, "last", ""), "no newline") == 0);
    CHECK(strcmp(dn_options_str(o, "valid", "data/val.txt"), "data/val.txt") == 0);
    CHECK(dn_options_str(o, "# a comment", NULL) == NULL);
    CHECK(dn_options_int(o, "top", 5) == 5);
    dn_options_free(o);
    dn_options_free(NULL);
    CHECK(dn_options_str(NULL, "k", "d")[0] == 'd');
    CHECK(dn_options_int(NULL, "k", 9) == 9);
}

TEST(options_bad_lines)
{
    dn_options *o = (dn_options *)1;
    const char *p = tpath("bad.data");
    CHECK(write_text(p, "classes=2\n# fine\nthis line has no equals sign\nnames=x\n") == 0);
    CHECK(dn_options_read(p, &o) == DN_ERR_PARSE);
    CHECK(o == NULL);
    char where[300];
    snprintf(where, sizeof where, "%s:3", p);
    CHECK(error_names(where));
    CHECK(write_text(p, "\r\n = value\n") == 0);
    CHECK(dn_options_read(p, &o) == DN_ERR_PARSE);
    snprintf(where, sizeof where, "%s:2", p);
    CHECK(error_names(where));
    CHECK(write_bytes(p, "a=1\nb=\0\n", 8) == 0);
    CHECK(dn_options_read(p, &o) == DN_ERR_PARSE && error_names(where));
}

TEST(options_missing_file)
{
    dn_options *o;
    const char *p = tpath("nope.data");
    CHECK(dn_options_read(p, &o) == DN_ERR_IO && o == NULL && error_names(p));
    CHECK(dn_options_read(t_dir, &o) == DN_ERR_IO && error_names(t_dir));
    CHECK(dn_options_read(NULL, &o) == DN_ERR_ARG);
}

TEST(options_empty_file)
{
    dn_options *o;
    const char *p = tpath("empty.data");
    CHECK(write_text(p, "") == 0);
    CHECK_OK(dn_options_read(p, &o));
    CHECK(dn_options_str(o, "x", NULL) == NULL);
    dn_options_free(o);
}

TEST(options_int_malformed)
{
    const char *p = tpath("ints.data");
    CHECK(write_text(p, "classes = 8x\nbig = 99999999999\nneg = -3\nplus=+4\nhex=0x10\n"
                        "blank=\nspace = 1 2\n") == 0);
    dn_options *o;
    CHECK_OK(dn_options_read(p, &o));
    FILE *log = tmpfile();
    CHECK(log);
    dn_set_log(log);
    int classes = dn_options_int(o, "classes", 7);
    int big = dn_options_int(o, "big", 1);
    int hex = dn_options_int(o, "hex", 2);
    int blank = dn_options_int(o, "blank", 3);
    int space = dn_options_int(o, "space", 4);
    dn_set_log(stderr);
    char text[1024] = {0};
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    fclose(log);
    CHECK(n > 0);
    CHECK(classes == 7 && big == 1 && hex == 2 && blank == 3 && space == 4);
    CHECK(strstr(text, "classes") && strstr(text, "big") && strstr(text, "hex") &&
          strstr(text, "blank") && strstr(text, "space"));
    CHECK(dn_options_int(o, "neg", 0) == -3);
    CHECK(dn_options_int(o, "plus", 0) == 4);
    dn_options_free(o);
}

TEST(options_bom)
{
    const char *p = tpath("bom.data");
    CHECK(write_text(p, "\xef\xbb\xbf" "classes=20\n") == 0);
    dn_options *o;
    CHECK_OK(dn_options_read(p, &o));
    CHECK(dn_options_int(o, "classes", 0) == 20);
    dn_options_free(o);
}

/* ---- line lists ------------------------------------------------------------------------- */

TEST(lines_crlf_and_blanks)
{
    const char *p = tpath("coco.names");
    CHECK(write_text(p, "person\r\nbicycle  \r\n\r\n\n   \t \n  traffic light\r\n"
                        "dining table\t\nlast") == 0);
    char **v;
    int n;
    CHECK_OK(dn_lines_read(p, &v, &n));
    CHECK(n == 5);
    CHECK(strcmp(v[0], "person") == 0);
    CHECK(strcmp(v[1], "bicycle") == 0);
    CHECK(strcmp(v[2], "  traffic light") == 0); /* leading space is kept */
    CHECK(strcmp(v[3], "dining table") == 0);
    CHECK(strcmp(v[4], "last") == 0);
    CHECK(v[5] == NULL);
    dn_lines_free(v, n);
    dn_lines_free(NULL, 0);
}

TEST(lines_empty_and_missing)
{
    char **v = (char **)1;
    int n = -1;
    const char *p = tpath("empty.names");
    CHECK(write_text(p, "\r\n\n  \n") == 0);
    CHECK_OK(dn_lines_read(p, &v, &n));
    CHECK(n == 0 && v && v[0] == NULL);
    dn_lines_free(v, n);
    CHECK(write_text(p, "") == 0);
    CHECK_OK(dn_lines_read(p, &v, &n));
    CHECK(n == 0 && v);
    dn_lines_free(v, n);
    const char *q = tpath("missing.names");
    CHECK(dn_lines_read(q, &v, &n) == DN_ERR_IO && v == NULL && n == 0 && error_names(q));
    CHECK(write_bytes(p, "a\nb\0c\n", 6) == 0);
    char where[300];
    snprintf(where, sizeof where, "%s:2", p);
    CHECK(dn_lines_read(p, &v, &n) == DN_ERR_PARSE && v == NULL && error_names(where));
}

TEST(lines_many)
{
    const char *p = tpath("list.txt");
    FILE *f = fopen(p, "wb");
    CHECK(f);
    for (int i = 0; i < 5000; i++) fprintf(f, "data/img_%05d.jpg%s", i, i % 3 ? "\n" : "\r\n");
    CHECK(fclose(f) == 0);
    char **v;
    int n;
    CHECK_OK(dn_lines_read(p, &v, &n));
    CHECK(n == 5000);
    CHECK(strcmp(v[4999], "data/img_04999.jpg") == 0 && strcmp(v[3], "data/img_00003.jpg") == 0);
    dn_lines_free(v, n);
}

/* Every allocation may fail: NOMEM, nothing returned, nothing leaked (ASan). */
TEST(alloc_failures)
{
    const char *pd = tpath("af.data"), *pn = tpath("af.names");
    CHECK(write_text(pd, "a=1\nb=2\nc=3\nd=4\ne=5\nf=6\ng=7\nh=8\ni=9\nj=10\nk=11\nl=12\n"
                         "m=13\nn=14\no=15\np=16\nq=17\nr=18\n") == 0);
    CHECK(write_text(pn, "a\nb\nc\nd\n") == 0);
    int done = 0;
    for (long k = 1; k < 60 && !done; k++) {
        dn_options *o = (dn_options *)1;
        dn_mem_fail_at(k);
        dn_status s = dn_options_read(pd, &o);
        dn_mem_fail_at(0);
        if (s == DN_OK) {
            done = 1;
            CHECK(dn_options_int(o, "r", 0) == 18);
            dn_options_free(o);
        } else {
            CHECK(s == DN_ERR_NOMEM && o == NULL);
        }
    }
    CHECK(done);
    done = 0;
    for (long k = 1; k < 60 && !done; k++) {
        char **v = (char **)1;
        int n = -1;
        dn_mem_fail_at(k);
        dn_status s = dn_lines_read(pn, &v, &n);
        dn_mem_fail_at(0);
        if (s == DN_OK) {
            done = 1;
            CHECK(n == 4);
            dn_lines_free(v, n);
        } else {
            CHECK(s == DN_ERR_NOMEM && v == NULL && n == 0);
        }
    }
    CHECK(done);
}

int main(void)
{
    snprintf(t_dir, sizeof t_dir, "/tmp/dn_test_options_XXXXXX");
    if (!mkdtemp(t_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(options_basic);
    RUN(options_bad_lines);
    RUN(options_missing_file);
    RUN(options_empty_file);
    RUN(options_int_malformed);
    RUN(options_bom);
    RUN(lines_crlf_and_blanks);
    RUN(lines_empty_and_missing);
    RUN(lines_many);
    RUN(alloc_failures);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", t_dir);
    DONE();
}
