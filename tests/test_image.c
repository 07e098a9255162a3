/* test_image.c - images: PNG/JPEG round trips, every PNG colour type and CMYK/gray JPEG,
 * channel conversion, malformed files (truncated, corrupt, empty, missing, text, huge),
 * atomic saves, Darknet's resize and letterbox checked against hand-worked values, drawing at
 * the edges, and class colours. Files go to a fresh directory under /tmp. */
#include "darknet.h"
#include "core/core.h"
#include "harness.h"

#include <jpeglib.h>
#include <limits.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char t_dir[64];

/* A path in the test directory (a static buffer per slot, so two may be live at once). */
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

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 4096;
            unsigned char *nb = realloc(b, cap);
            if (!nb) break;
            b = nb;
        }
        size_t got = fread(b + *n, 1, cap - *n, f);
        if (got == 0) break;
        *n += got;
    }
    fclose(f);
    return b;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Does the last error mention the path? */
static int error_names(const char *path) { return strstr(dn_last_error(), path) != NULL; }

static float px(const dn_image *im, int x, int y, int c)
{
    return im->data[((size_t)c * (size_t)im->h + (size_t)y) * (size_t)im->w + (size_t)x];
}

static void set_px(dn_image *im, int x, int y, int c, float v)
{
    im->data[((size_t)c * (size_t)im->h + (size_t)y) * (size_t)im->w + (size_t)x] = v;
}

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

/* ---- writing test files directly with libpng / libjpeg ---------------------------------- */

/* Writes a w x h PNG of the given colour type and depth whose sample (x, y, k) is
 * sample(x, y, k) (palette: index), with an optional interlace. Returns 0 on success. */
typedef unsigned (*sample_fn)(int x, int y, int k);

static int write_png_raw(const char *path, int w, int h, int type, int depth, int interlace,
                         sample_fn sample)
{
    int ch = type == PNG_COLOR_TYPE_GRAY ? 1 : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
           : type == PNG_COLOR_TYPE_RGB ? 3 : type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
    size_t rowbytes = ((size_t)w * (size_t)ch * (size_t)depth + 7) / 8;
    unsigned char *img = calloc((size_t)h, rowbytes);
    png_bytep *rows = calloc((size_t)h, sizeof *rows);
    FILE *f = fopen(path, "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!img || !rows || !f || !info || setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, info ? &info : NULL);
        free(img);
        free(rows);
        if (f) fclose(f);
        return -1;
    }
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
        png_set_PLTE(p, info, pal, 4);
        png_byte trans[1] = {0};
        png_set_tRNS(p, info, trans, 1, NULL); /* ignored by the loader */
    }
    png_write_info(p, info);
    for (int y = 0; y < h; y++) {
        rows[y] = img + (size_t)y * rowbytes;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++) {
                unsigned v = sample(x, y, k);
                size_t bit = ((size_t)x * (size_t)ch + (size_t)k) * (size_t)depth;
                if (depth == 16) {
                    rows[y][bit / 8] = (unsigned char)(v >> 8);
                    rows[y][bit / 8 + 1] = (unsigned char)v;
                } else if (depth == 8) {
                    rows[y][bit / 8] = (unsigned char)v;
                } else {
                    rows[y][bit / 8] |= (unsigned char)(v << (8 - depth - bit % 8));
                }
            }
    }
    png_write_image(p, rows);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(img);
    free(rows);
    return fclose(f) == 0 ? 0 : -1;
}

/* Writes a w x h Adobe CMYK JPEG with inverted inks (as Photoshop does), every pixel the
 * given RGB colour converted with K = 1 - max(r, g, b). */
static int write_cmyk_jpeg(const char *path, int w, int h, int r, int g, int b)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    unsigned char row[4 * 64];
    for (int x = 0; x < w && x < 64; x++) {
        /* Inverted inks: 255 - C = r / max ... scaled, and 255 - K = max. */
        row[4 * x + 0] = (unsigned char)(mx ? r * 255 / mx : 0);
        row[4 * x + 1] = (unsigned char)(mx ? g * 255 / mx : 0);
        row[4 * x + 2] = (unsigned char)(mx ? b * 255 / mx : 0);
        row[4 * x + 3] = (unsigned char)mx;
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(f) == 0 ? 0 : -1;
}

/* Writes a w x h progressive (multi-scan) colour JPEG of a gradient. */
static int write_progressive_jpeg(const char *path, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[3 * 256];
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < w && x < 256; x++) {
            row[3 * x] = (unsigned char)x;
            row[3 * x + 1] = (unsigned char)(c.next_scanline * 3);
            row[3 * x + 2] = (unsigned char)((x * 7 + (int)c.next_scanline * 5) & 255);
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(f) == 0 ? 0 : -1;
}

/* CRC-32 of PNG chunks (ISO 3309), to forge a valid IHDR. */
static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A random image with values k / 255 (exactly representable by an 8-bit file). */
static dn_status random8(int w, int h, int c, unsigned seed, dn_image *im)
{
    dn_status s = dn_image_make(w, h, c, im);
    if (s != DN_OK) return s;
    for (size_t i = 0; i < (size_t)w * h * c; i++) im->data[i] = (float)(lcg(&seed) % 256) / 255.f;
    return DN_OK;
}

/* ---- allocation ------------------------------------------------------------------------- */

TEST(make_and_free)
{
    dn_image im;
    CHECK_OK(dn_image_make(3, 2, 4, &im));
    CHECK(im.w == 3 && im.h == 2 && im.c == 4 && im.data);
    for (int i = 0; i < 24; i++) CHECK(im.data[i] == 0.f);
    dn_image_free(&im);
    CHECK(im.data == NULL && im.w == 0);
    dn_image_free(&im);
    dn_image_free(NULL);
    CHECK(dn_image_make(0, 2, 1, &im) == DN_ERR_ARG);
    CHECK(dn_image_make(2, -1, 1, &im) == DN_ERR_ARG);
    CHECK(dn_image_make(INT_MAX, INT_MAX, 3, &im) == DN_ERR_NOMEM);
    CHECK(im.data == NULL);
    dn_mem_fail_at(1);
    CHECK(dn_image_make(4, 4, 1, &im) == DN_ERR_NOMEM);
    dn_mem_fail_at(0);
}

/* ---- round trips ------------------------------------------------------------------------ */

TEST(png8_round_trip_exact)
{
    for (int c = 1; c <= 3; c += 2) {
        dn_image a, b;
        CHECK_OK(random8(37, 23, c, 7u + (unsigned)c, &a));
        const char *p = tpath(c == 1 ? "gray8.png" : "rgb8.png");
        CHECK_OK(dn_image_save_png(&a, p));
        CHECK(!file_exists(tpath(c == 1 ? "gray8.png.tmp" : "rgb8.png.tmp")));
        CHECK_OK(dn_image_load(p, 0, &b));
        CHECK(b.w == 37 && b.h == 23 && b.c == c);
        for (size_t i = 0; i < (size_t)37 * 23 * c; i++) CHECK(a.data[i] == b.data[i]);
        dn_image_free(&a);
        dn_image_free(&b);
    }
}

TEST(png_clamps_values)
{
    dn_image a, b;
    CHECK_OK(dn_image_make(4, 1, 1, &a));
    a.data[0] = -3.f;
    a.data[1] = 7.f;
    a.data[2] = NAN;
    a.data[3] = 0.5f;
    CHECK_OK(dn_image_save_png(&a, tpath("clamp.png")));
    CHECK_OK(dn_image_load(tpath("clamp.png"), 1, &b));
    CHECK(b.data[0] == 0.f && b.data[1] == 1.f && b.data[2] == 0.f);
    CHECK(b.data[3] == 128.f / 255.f); /* 127.5 rounds up */
    dn_image_free(&a);
    dn_image_free(&b);
}

TEST(png16_round_trip_exact)
{
    dn_image a, b;
    CHECK_OK(dn_image_make(19, 11, 2, &a)); /* only channel 0 is written */
    unsigned seed = 99;
    for (size_t i = 0; i < (size_t)19 * 11; i++) a.data[i] = (float)(lcg(&seed) % 65536) / 65535.f;
    a.data[0] = 0.f;
    a.data[1] = 1.f;
    const char *p = tpath("g16.png");
    CHECK_OK(dn_image_save_png16(&a, p));
    size_t n;
    unsigned char *raw = read_bytes(p, &n);
    CHECK(raw && n > 26);
    int depth = raw[24], type = raw[25];
    free(raw);
    CHECK(depth == 16 && type == 0);
    CHECK_OK(dn_image_load(p, 0, &b));
    CHECK(b.c == 1 && b.w == 19 && b.h == 11);
    for (size_t i = 0; i < (size_t)19 * 11; i++) CHECK(a.data[i] == b.data[i]);
    dn_image_free(&a);
    dn_image_free(&b);
}

TEST(jpeg_round_trip_approx)
{
    dn_image a, b;
    CHECK_OK(dn_image_make(64, 48, 3, &a));
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 64; x++)
                set_px(&a, x, y, k, 0.2f + 0.6f * (float)(x + (k + 1) * y) / (64.f + 3 * 48.f));
    CHECK_OK(dn_image_save_jpeg(&a, tpath("rt.jpg"), 95));
    CHECK_OK(dn_image_load(tpath("rt.jpg"), 0, &b));
    CHECK(b.w == 64 && b.h == 48 && b.c == 3);
    double sum = 0, mx = 0;
    for (size_t i = 0; i < (size_t)64 * 48 * 3; i++) {
        double d = fabs(a.data[i] - b.data[i]);
        sum += d;
        if (d > mx) mx = d;
    }
    CHECK(sum / (64 * 48 * 3) < 0.01);
    CHECK(mx < 0.06);
    dn_image_free(&b);
    /* A gray JPEG stays gray with channels 0 and replicates with 3. */
    dn_image g;
    CHECK_OK(dn_image_make(16, 16, 1, &g));
    for (int i = 0; i < 256; i++) g.data[i] = 0.4f;
    CHECK_OK(dn_image_save_jpeg(&g, tpath("gray.jpg"), 90));
    CHECK_OK(dn_image_load(tpath("gray.jpg"), 0, &b));
    CHECK(b.c == 1);
    CHECK_NEAR(b.data[17], 0.4, 0.01);
    dn_image_free(&b);
    CHECK_OK(dn_image_load(tpath("gray.jpg"), 3, &b));
    CHECK(b.c == 3 && b.data[5] == b.data[256 + 5] && b.data[5] == b.data[512 + 5]);
    dn_image_free(&b);
    dn_image_free(&g);
    dn_image_free(&a);
}

TEST(gray_rgb_conversion)
{
    dn_image g, rgb, b;
    CHECK_OK(random8(5, 4, 1, 3u, &g));
    CHECK_OK(dn_image_save_png(&g, tpath("conv_g.png")));
    CHECK_OK(dn_image_load(tpath("conv_g.png"), 3, &b));
    CHECK(b.c == 3);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
            for (int k = 0; k < 3; k++) CHECK(px(&b, x, y, k) == px(&g, x, y, 0));
    dn_image_free(&b);
    /* RGB to gray: BT.601 luma (0.299, 0.587, 0.114) rounded to 8 bits. */
    CHECK_OK(dn_image_make(3, 1, 3, &rgb));
    const int v[3][3] = {{200, 100, 50}, {255, 0, 0}, {0, 0, 255}};
    for (int x = 0; x < 3; x++)
        for (int k = 0; k < 3; k++) set_px(&rgb, x, 0, k, (float)v[x][k] / 255.f);
    CHECK_OK(dn_image_save_png(&rgb, tpath("conv_rgb.png")));
    CHECK_OK(dn_image_load(tpath("conv_rgb.png"), 1, &b));
    CHECK(b.c == 1);
    CHECK(b.data[0] == 124.f / 255.f); /* 59.8 + 58.7 + 5.7 = 124.2 */
    CHECK(b.data[1] == 76.f / 255.f);  /* 76.245 */
    CHECK(b.data[2] == 29.f / 255.f);  /* 29.07 */
    dn_image_free(&b);
    CHECK(dn_image_load(tpath("conv_rgb.png"), 2, &b) == DN_ERR_ARG);
    dn_image_free(&rgb);
    dn_image_free(&g);
}

/* ---- PNG colour types ------------------------------------------------------------------- */

static unsigned s_gray8(int x, int y, int k) { (void)k; return (unsigned)(x * 40 + y * 3) & 255u; }
static unsigned s_rgb8(int x, int y, int k) { return (unsigned)(x * 50 + y * 7 + k * 60) & 255u; }
static unsigned s_alpha8(int x, int y, int k) { return k == 3 ? 17u : s_rgb8(x, y, k); }
static unsigned s_ga8(int x, int y, int k) { return k == 1 ? 3u : s_gray8(x, y, 0); }
static unsigned s_rgb16(int x, int y, int k) { return (unsigned)(x * 9001 + y * 317 + k * 20000) & 65535u; }
static unsigned s_pal(int x, int y, int k) { (void)k; return (unsigned)(x + y) % 4u; }
static unsigned s_bit1(int x, int y, int k) { (void)k; return (unsigned)(x + y) & 1u; }

TEST(png_color_types)
{
    dn_image im;
    /* gray 8 */
    CHECK(write_png_raw(tpath("t_g8.png"), 6, 5, PNG_COLOR_TYPE_GRAY, 8, 0, s_gray8) == 0);
    CHECK_OK(dn_image_load(tpath("t_g8.png"), 0, &im));
    CHECK(im.c == 1 && px(&im, 3, 2, 0) == (float)s_gray8(3, 2, 0) / 255.f);
    dn_image_free(&im);
    /* gray + alpha: alpha dropped */
    CHECK(write_png_raw(tpath("t_ga.png"), 6, 5, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, s_ga8) == 0);
    CHECK_OK(dn_image_load(tpath("t_ga.png"), 0, &im));
    CHECK(im.c == 1 && px(&im, 4, 1, 0) == (float)s_gray8(4, 1, 0) / 255.f);
    dn_image_free(&im);
    /* RGBA: alpha dropped, colour kept */
    CHECK(write_png_raw(tpath("t_rgba.png"), 6, 5, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, s_alpha8) == 0);
    CHECK_OK(dn_image_load(tpath("t_rgba.png"), 0, &im));
    CHECK(im.c == 3);
    for (int k = 0; k < 3; k++) CHECK(px(&im, 5, 4, k) == (float)s_rgb8(5, 4, k) / 255.f);
    dn_image_free(&im);
    /* RGB 16-bit, interlaced: exact 16-bit values */
    CHECK(write_png_raw(tpath("t_rgb16.png"), 9, 7, PNG_COLOR_TYPE_RGB, 16, 1, s_rgb16) == 0);
    CHECK_OK(dn_image_load(tpath("t_rgb16.png"), 3, &im));
    CHECK(im.c == 3 && im.w == 9 && im.h == 7);
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 9; x++)
            for (int k = 0; k < 3; k++) CHECK(px(&im, x, y, k) == (float)s_rgb16(x, y, k) / 65535.f);
    dn_image_free(&im);
    /* palette (with a tRNS entry, ignored) */
    CHECK(write_png_raw(tpath("t_pal.png"), 4, 3, PNG_COLOR_TYPE_PALETTE, 8, 0, s_pal) == 0);
    CHECK_OK(dn_image_load(tpath("t_pal.png"), 0, &im));
    CHECK(im.c == 3);
    CHECK(px(&im, 0, 0, 0) == 1.f && px(&im, 0, 0, 1) == 0.f);  /* index 0: red */
    CHECK(px(&im, 1, 0, 1) == 1.f && px(&im, 2, 0, 2) == 1.f);  /* green, blue */
    CHECK(px(&im, 3, 0, 2) == 30.f / 255.f);
    dn_image_free(&im);
    /* 1-bit gray */
    CHECK(write_png_raw(tpath("t_b1.png"), 11, 3, PNG_COLOR_TYPE_GRAY, 1, 0, s_bit1) == 0);
    CHECK_OK(dn_image_load(tpath("t_b1.png"), 0, &im));
    CHECK(im.c == 1 && px(&im, 0, 0, 0) == 0.f && px(&im, 1, 0, 0) == 1.f &&
          px(&im, 10, 2, 0) == 0.f);
    dn_image_free(&im);
}

TEST(jpeg_cmyk)
{
    dn_image im;
    CHECK(write_cmyk_jpeg(tpath("cmyk.jpg"), 16, 8, 200, 40, 100) == 0);
    CHECK_OK(dn_image_load(tpath("cmyk.jpg"), 0, &im));
    CHECK(im.c == 3 && im.w == 16 && im.h == 8);
    CHECK_NEAR(px(&im, 5, 5, 0), 200 / 255.0, 0.03);
    CHECK_NEAR(px(&im, 5, 5, 1), 40 / 255.0, 0.03);
    CHECK_NEAR(px(&im, 5, 5, 2), 100 / 255.0, 0.03);
    dn_image_free(&im);
}

/* ---- malformed files -------------------------------------------------------------------- */

/* Loads path expecting status want, with the path in the message and an empty output. */
static int load_fails(const char *path, dn_status want)
{
    dn_image im = {1, 1, 1, NULL};
    dn_status s = dn_image_load(path, 3, &im);
    if (s != want || !error_names(path) || im.data || im.w) {
        printf("  load %s -> %s (%s)\n", path, dn_status_str(s), dn_last_error());
        dn_image_free(&im);
        return 0;
    }
    return 1;
}

TEST(load_bad_files)
{
    CHECK(load_fails(tpath("does-not-exist.png"), DN_ERR_IO));
    CHECK(load_fails(t_dir, DN_ERR_IO)); /* a directory */
    CHECK(write_bytes(tpath("empty.png"), "", 0) == 0);
    CHECK(load_fails(tpath("empty.png"), DN_ERR_FORMAT));
    CHECK(write_bytes(tpath("text.jpg"), "hello, world\n", 13) == 0);
    CHECK(load_fails(tpath("text.jpg"), DN_ERR_FORMAT));
    CHECK(write_bytes(tpath("short.png"), "\x89PNG", 4) == 0);
    CHECK(load_fails(tpath("short.png"), DN_ERR_FORMAT));
    CHECK(write_bytes(tpath("soi.jpg"), "\xff\xd8\xff", 3) == 0);
    CHECK(load_fails(tpath("soi.jpg"), DN_ERR_FORMAT));

    /* Good files to damage. */
    dn_image a;
    CHECK_OK(random8(40, 30, 3, 5u, &a));
    CHECK_OK(dn_image_save_png(&a, tpath("good.png")));
    CHECK_OK(dn_image_save_jpeg(&a, tpath("good.jpg"), 90));
    dn_image_free(&a);
    size_t np, nj;
    unsigned char *png = read_bytes(tpath("good.png"), &np);
    unsigned char *jpg = read_bytes(tpath("good.jpg"), &nj);
    CHECK(png && jpg && np > 100 && nj > 200);
    int ok = 1;
    /* Truncations at several points, including inside the headers. */
    for (size_t cut = 8; ok && cut < np; cut += np / 7) {
        ok = write_bytes(tpath("trunc.png"), png, cut) == 0 &&
             load_fails(tpath("trunc.png"), DN_ERR_FORMAT);
        if (!ok) printf("  PNG cut at %zu of %zu\n", cut, np);
    }
    for (size_t cut = 3; ok && cut < nj - 2; cut += nj / 9) {
        ok = write_bytes(tpath("trunc.jpg"), jpg, cut) == 0 &&
             load_fails(tpath("trunc.jpg"), DN_ERR_FORMAT);
        if (!ok) printf("  JPEG cut at %zu of %zu\n", cut, nj);
    }
    /* Every cut in the last bytes of entropy-coded data fails... */
    for (size_t cut = nj - 66; ok && cut < nj - 2; cut++) {
        ok = write_bytes(tpath("trunc.jpg"), jpg, cut) == 0 &&
             load_fails(tpath("trunc.jpg"), DN_ERR_FORMAT);
        if (!ok) printf("  JPEG cut at %zu of %zu\n", cut, nj);
    }
    /* ...but a single-scan JPEG that lacks only its end marker (FF D9) has every pixel, and
     * loads as in every viewer. */
    for (size_t cut = nj - 2; ok && cut < nj; cut++) {
        dn_image im;
        ok = write_bytes(tpath("noeoi.jpg"), jpg, cut) == 0 &&
             dn_image_load(tpath("noeoi.jpg"), 3, &im) == DN_OK && im.h == 30;
        dn_image_free(&im);
    }
    /* A progressive JPEG cut anywhere, even just before its end marker, fails (a cut at a scan
     * boundary would otherwise load as a blurred image). */
    size_t npj = 0;
    unsigned char *pj = NULL;
    if (ok) {
        dn_image im;
        ok = write_progressive_jpeg(tpath("prog.jpg"), 64, 40) == 0 &&
             dn_image_load(tpath("prog.jpg"), 0, &im) == DN_OK && im.w == 64 && im.c == 3;
        dn_image_free(&im);
        pj = ok ? read_bytes(tpath("prog.jpg"), &npj) : NULL;
        ok = pj && npj > 100;
    }
    for (size_t cut = 3; ok && cut < npj; cut += cut < npj - 40 ? 13 : 1) {
        ok = write_bytes(tpath("trunc.jpg"), pj, cut) == 0 &&
             load_fails(tpath("trunc.jpg"), DN_ERR_FORMAT);
        if (!ok) printf("  progressive JPEG cut at %zu of %zu\n", cut, npj);
    }
    free(pj);
    /* A flipped byte in the PNG image data fails its CRC. */
    if (ok) {
        png[np / 2] ^= 0x55;
        ok = write_bytes(tpath("crc.png"), png, np) == 0 &&
             load_fails(tpath("crc.png"), DN_ERR_FORMAT);
        png[np / 2] ^= 0x55;
    }
    /* A PNG header claiming 20000 x 30 pixels (valid CRC): too large. */
    if (ok) {
        put_be32(png + 16, 20000);
        put_be32(png + 29, crc32_png(png + 12, 17));
        ok = write_bytes(tpath("huge.png"), png, np) == 0 &&
             load_fails(tpath("huge.png"), DN_ERR_FORMAT) &&
             strstr(dn_last_error(), "20000") != NULL;
    }
    /* The JPEG's frame header (SOF): a bad sample precision, then a height of 20000. */
    if (ok) {
        size_t i = 2;
        while (i + 8 < nj && !(jpg[i] == 0xff && (jpg[i + 1] == 0xc0 || jpg[i + 1] == 0xc2)))
            i++;
        ok = i + 8 < nj;
        if (ok) {
            jpg[i + 4] = 7;
            ok = write_bytes(tpath("bad.jpg"), jpg, nj) == 0 &&
                 load_fails(tpath("bad.jpg"), DN_ERR_FORMAT);
            jpg[i + 4] = 8;
        }
        /* Bytes of junk between markers only draw a warning: the file still loads. The junk
         * goes after the first segment (APP0: marker at 2, length at 4). */
        if (ok) {
            dn_image im;
            size_t at = 4 + ((size_t)jpg[4] << 8 | jpg[5]);
            unsigned char *junk = malloc(nj + 4);
            ok = junk != NULL && at < nj;
            if (ok) {
                memcpy(junk, jpg, at);
                memset(junk + at, 0x5a, 4);
                memcpy(junk + at + 4, jpg + at, nj - at);
                ok = write_bytes(tpath("junk.jpg"), junk, nj + 4) == 0 &&
                     dn_image_load(tpath("junk.jpg"), 3, &im) == DN_OK && im.w == 40;
                dn_image_free(&im);
            }
            free(junk);
        }
        if (ok) {
            jpg[i + 5] = 20000 >> 8;
            jpg[i + 6] = 20000 & 255;
            ok = write_bytes(tpath("huge.jpg"), jpg, nj) == 0 &&
                 load_fails(tpath("huge.jpg"), DN_ERR_FORMAT) &&
                 strstr(dn_last_error(), "20000") != NULL;
        }
    }
    free(png);
    free(jpg);
    CHECK(ok);
}

/* Every allocation of a load may fail: the status is NOMEM and nothing leaks (ASan). */
TEST(load_alloc_failures)
{
    dn_image a, b;
    CHECK_OK(random8(8, 8, 3, 11u, &a));
    CHECK_OK(dn_image_save_png(&a, tpath("af.png")));
    CHECK_OK(dn_image_save_jpeg(&a, tpath("af.jpg"), 80));
    dn_image_free(&a);
    const char *files[2] = {tpath("af.png"), tpath("af.jpg")};
    for (int f = 0; f < 2; f++) {
        int done = 0;
        for (long n = 1; n < 50 && !done; n++) {
            dn_mem_fail_at(n);
            dn_status s = dn_image_load(files[f], 3, &b);
            dn_mem_fail_at(0);
            if (s == DN_OK) {
                done = 1;
                dn_image_free(&b);
            } else {
                CHECK(s == DN_ERR_NOMEM && b.data == NULL);
            }
        }
        CHECK(done);
    }
}

TEST(save_errors)
{
    dn_image a;
    CHECK_OK(random8(4, 4, 3, 1u, &a));
    const char *p = tpath("no-such-dir/x.png");
    CHECK(dn_image_save_png(&a, p) == DN_ERR_IO && error_names(p));
    CHECK(dn_image_save_jpeg(&a, p, 90) == DN_ERR_IO && error_names(p));
    /* The target is a directory: the rename fails and the temporary file is removed. */
    const char *d = tpath("adir");
    CHECK(mkdir(d, 0700) == 0);
    CHECK(dn_image_save_png(&a, d) == DN_ERR_IO && error_names(d));
    CHECK(!file_exists(tpath("adir.tmp")));
    CHECK(dn_image_save_jpeg(&a, d, 50) == DN_ERR_IO && error_names(d));
    CHECK(!file_exists(tpath("adir.tmp")));
    CHECK(dn_image_save_png16(&a, d) == DN_ERR_IO);
    CHECK(!file_exists(tpath("adir.tmp")));
    /* An existing file is replaced whole. */
    CHECK(write_bytes(tpath("old.png"), "old", 3) == 0);
    CHECK_OK(dn_image_save_png(&a, tpath("old.png")));
    dn_image b;
    CHECK_OK(dn_image_load(tpath("old.png"), 0, &b));
    dn_image_free(&b);
    CHECK(dn_image_save_jpeg(&a, tpath("q.jpg"), 0) == DN_ERR_ARG);
    CHECK(dn_image_save_jpeg(&a, tpath("q.jpg"), 101) == DN_ERR_ARG);
    dn_image_free(&a);
    CHECK_OK(dn_image_make(2, 2, 2, &a));
    CHECK(dn_image_save_png(&a, tpath("c2.png")) == DN_ERR_ARG);
    CHECK(dn_image_save_jpeg(&a, tpath("c2.jpg"), 80) == DN_ERR_ARG);
    dn_image_free(&a);
    CHECK(dn_image_save_png(&a, tpath("empty.png")) == DN_ERR_ARG);
}

/* ---- resize and letterbox --------------------------------------------------------------- */

static dn_image from_rows(int w, int h, const float *v)
{
    dn_image im;
    if (dn_image_make(w, h, 1, &im) != DN_OK) return im;
    memcpy(im.data, v, sizeof(float) * (size_t)w * (size_t)h);
    return im;
}

TEST(resize_2x2_to_3x3)
{
    /* src [[0,1],[2,3]]: scale 0.5 both ways. Horizontal: rows (0, .5, 1) and (2, 2.5, 3);
     * vertical: row 1 = .5 * row0 + .5 * row1, row 2 = part row 1 (last row). */
    const float src[4] = {0, 1, 2, 3};
    const float want[9] = {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3};
    dn_image a = from_rows(2, 2, src), b;
    CHECK(a.data);
    CHECK_OK(dn_image_resize(&a, 3, 3, &b));
    for (int i = 0; i < 9; i++) CHECK_NEAR(b.data[i], want[i], 1e-7);
    dn_image_free(&a);
    dn_image_free(&b);
}

TEST(resize_hand_cases)
{
    dn_image a, b;
    /* 3 -> 5 wide: scale 2/4 = .5: 0, .5*0+.5*1, 1, .5*1+.5*4, 4 (last column copied). */
    const float r3[3] = {0, 1, 4};
    a = from_rows(3, 1, r3);
    CHECK_OK(dn_image_resize(&a, 5, 1, &b));
    const float w5[5] = {0, 0.5f, 1, 2.5f, 4};
    for (int i = 0; i < 5; i++) CHECK_NEAR(b.data[i], w5[i], 1e-7);
    dn_image_free(&b);
    dn_image_free(&a);
    /* 4 -> 2 wide: scale 3: column 0 = src 0, column 1 (last) = src 3. */
    const float r4[4] = {5, 6, 7, 8};
    a = from_rows(4, 1, r4);
    CHECK_OK(dn_image_resize(&a, 2, 1, &b));
    CHECK(b.data[0] == 5.f && b.data[1] == 8.f);
    dn_image_free(&b);
    dn_image_free(&a);
    /* 1 x 3 column -> 1 x 4: h scale 2/3. Rows: sy 0 -> 10; sy 2/3 -> 10/3 + 2/3*20;
     * sy 4/3 -> (2/3)*20 + (1/3)*40; last row: (1 - dy) * part[iy]. */
    const float c3[3] = {10, 20, 40};
    a = from_rows(1, 3, c3);
    CHECK_OK(dn_image_resize(&a, 1, 4, &b));
    CHECK_NEAR(b.data[0], 10, 1e-5);
    CHECK_NEAR(b.data[1], 10.0 / 3 + 40.0 / 3, 1e-5);
    CHECK_NEAR(b.data[2], 40.0 / 3 + 40.0 / 3, 1e-5);
    CHECK_NEAR(b.data[3], 40, 1e-4);
    dn_image_free(&b);
    /* Output of one pixel: Darknet's last-column rule gives the top-right source pixel. */
    const float s9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    dn_image_free(&a);
    a = from_rows(3, 3, s9);
    CHECK_OK(dn_image_resize(&a, 1, 1, &b));
    CHECK(b.w == 1 && b.h == 1 && b.data[0] == 3.f);
    dn_image_free(&b);
    /* Width 1, height 3: the last column at each row. */
    CHECK_OK(dn_image_resize(&a, 1, 3, &b));
    CHECK(b.data[0] == 3.f && b.data[1] == 6.f && b.data[2] == 9.f);
    dn_image_free(&b);
    /* Height 1: the first row, resampled horizontally. */
    CHECK_OK(dn_image_resize(&a, 2, 1, &b));
    CHECK(b.data[0] == 1.f && b.data[1] == 3.f);
    dn_image_free(&b);
    /* A 1 x 1 source fills everything. */
    dn_image_free(&a);
    const float one[1] = {0.25f};
    a = from_rows(1, 1, one);
    CHECK_OK(dn_image_resize(&a, 4, 3, &b));
    for (int i = 0; i < 12; i++) CHECK(b.data[i] == 0.25f);
    dn_image_free(&b);
    dn_image_free(&a);
    CHECK(dn_image_resize(&a, 4, 3, &b) == DN_ERR_ARG);
}

TEST(resize_identity)
{
    dn_image a, b;
    CHECK_OK(random8(13, 9, 3, 21u, &a));
    CHECK_OK(dn_image_resize(&a, 13, 9, &b));
    for (size_t i = 0; i < (size_t)13 * 9 * 3; i++) CHECK(a.data[i] == b.data[i]);
    dn_image_free(&b);
    /* In place through the same struct: the old pixels are freed (ASan checks the leak). */
    CHECK_OK(dn_image_resize(&a, 5, 4, &a));
    CHECK(a.w == 5 && a.h == 4 && a.c == 3);
    CHECK_OK(dn_image_letterbox(&a, 6, 6, &a));
    CHECK(a.w == 6 && a.h == 6 && a.c == 3 && a.data[0] == 0.5f);
    dn_image_free(&a);
}

/* Darknet's resize written out pixel by pixel, as a second opinion for odd sizes. */
static float ref_resize_px(const dn_image *im, int w, int h, int x, int y, int k)
{
    float ws = (float)(im->w - 1) / (float)(w - 1), hs = (float)(im->h - 1) / (float)(h - 1);
    float part[2];
    float sy = (float)y * hs;
    int iy = (int)sy;
    float dy = sy - (float)iy;
    for (int t = 0; t < 2; t++) {
        int row = iy + t < im->h ? iy + t : im->h - 1;
        if (x == w - 1 || im->w == 1) {
            part[t] = px(im, im->w - 1, row, k);
        } else {
            float sx = (float)x * ws;
            int ix = (int)sx;
            float dx = sx - (float)ix;
            part[t] = (1 - dx) * px(im, ix, row, k) + dx * px(im, ix + 1, row, k);
        }
    }
    float v = (1 - dy) * part[0];
    if (y != h - 1 && im->h != 1) v += dy * part[1];
    return v;
}

TEST(resize_matches_reference)
{
    const int sizes[][4] = {{7, 5, 16, 9}, {32, 20, 5, 3}, {1, 6, 4, 4}, {9, 1, 3, 2},
                            {100, 75, 41, 31}, {3, 3, 64, 64}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        dn_image a, b;
        CHECK_OK(random8(sizes[t][0], sizes[t][1], 2, 40u + (unsigned)t, &a));
        int w = sizes[t][2], h = sizes[t][3];
        CHECK_OK(dn_image_resize(&a, w, h, &b));
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    CHECK_NEAR(px(&b, x, y, k), ref_resize_px(&a, w, h, x, y, k), 1e-5);
        dn_image_free(&a);
        dn_image_free(&b);
    }
}

TEST(letterbox_geometry)
{
    int nw, nh, dx, dy;
    dn_letterbox_geometry(768, 576, 416, 416, &nw, &nh, &dx, &dy);
    CHECK(nw == 416 && nh == 312 && dx == 0 && dy == 52);
    dn_letterbox_geometry(576, 768, 416, 416, &nw, &nh, &dx, &dy);
    CHECK(nw == 312 && nh == 416 && dx == 52 && dy == 0);
    dn_letterbox_geometry(500, 500, 608, 608, &nw, &nh, &dx, &dy);
    CHECK(nw == 608 && nh == 608 && dx == 0 && dy == 0);
    dn_letterbox_geometry(640, 480, 320, 320, &nw, &nh, &dx, &dy);
    CHECK(nw == 320 && nh == 240 && dx == 0 && dy == 40);
    /* Extreme aspect ratio: at least one pixel. */
    dn_letterbox_geometry(1, 1000, 416, 416, &nw, &nh, &dx, &dy);
    CHECK(nw == 1 && nh == 416 && dx == 207 && dy == 0);
    dn_letterbox_geometry(768, 576, 416, 416, NULL, NULL, NULL, &dy);
    CHECK(dy == 52);
}

TEST(letterbox_image)
{
    dn_image a, b, r;
    CHECK_OK(random8(8, 4, 3, 77u, &a));
    /* 8x4 into 6x6: 6/8 < 6/4, so 6 x 3 at dy = 1. */
    CHECK_OK(dn_image_letterbox(&a, 6, 6, &b));
    CHECK(b.w == 6 && b.h == 6 && b.c == 3);
    CHECK_OK(dn_image_resize(&a, 6, 3, &r));
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                if (y < 1 || y >= 4)
                    CHECK(px(&b, x, y, k) == 0.5f);
                else
                    CHECK(px(&b, x, y, k) == px(&r, x, y - 1, k));
            }
    dn_image_free(&r);
    dn_image_free(&b);
    CHECK(dn_image_letterbox(&a, 0, 6, &b) == DN_ERR_ARG && b.data == NULL);
    dn_image_free(&a);
}

/* ---- drawing ---------------------------------------------------------------------------- */

static int is_rgb(const dn_image *im, int x, int y, float r, float g, float b)
{
    return px(im, x, y, 0) == r && px(im, x, y, 1) == g && px(im, x, y, 2) == b;
}

TEST(draw_box_clipped)
{
    dn_image im;
    CHECK_OK(dn_image_make(10, 10, 3, &im));
    /* Top-left corner outside: only the right and bottom edges are visible. */
    dn_image_draw_box(&im, -5, -5, 4, 4, 1, 1, 0, 0);
    CHECK(is_rgb(&im, 4, 0, 1, 0, 0) && is_rgb(&im, 0, 4, 1, 0, 0) && is_rgb(&im, 4, 4, 1, 0, 0));
    CHECK(is_rgb(&im, 0, 0, 0, 0, 0) && is_rgb(&im, 3, 3, 0, 0, 0) && is_rgb(&im, 5, 5, 0, 0, 0));
    /* Width 2 around the whole image, corners given swapped. */
    dn_image_draw_box(&im, 9, 9, 0, 0, 2, 0, 1, 0);
    CHECK(is_rgb(&im, 0, 0, 0, 1, 0) && is_rgb(&im, 1, 1, 0, 1, 0) && is_rgb(&im, 8, 5, 0, 1, 0));
    CHECK(is_rgb(&im, 2, 2, 0, 0, 0) && is_rgb(&im, 4, 4, 1, 0, 0));
    /* Absurd coordinates and widths must stay inside the buffer (ASan checks). */
    dn_image_draw_box(&im, -100, -100, 100, 100, 1000, 0, 0, 1);
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++) CHECK(is_rgb(&im, x, y, 0, 0, 1));
    /* Edges 2^31 away: a ring INT_MAX thick misses column 0 only (distance INT_MAX). */
    dn_image_draw_box(&im, INT_MIN, INT_MIN, INT_MAX, INT_MAX, INT_MAX, 1, 1, 1);
    CHECK(is_rgb(&im, 0, 0, 0, 0, 1) && is_rgb(&im, 1, 0, 1, 1, 1) && is_rgb(&im, 9, 9, 1, 1, 1));
    dn_image_draw_box(&im, 100, 100, 200, 200, 3, 1, 1, 1);
    dn_image_draw_box(&im, -200, -200, -100, -100, 3, 1, 1, 1);
    dn_image_draw_box(&im, INT_MAX, INT_MAX, INT_MAX, INT_MAX, 0, 1, 1, 1);
    dn_image_draw_box(&im, 3, 3, 3, 3, -4, 0, 1, 0); /* a single pixel */
    CHECK(is_rgb(&im, 3, 3, 0, 1, 0) && is_rgb(&im, 4, 3, 1, 1, 1) && is_rgb(&im, 2, 2, 1, 1, 1));
    dn_image_free(&im);
    /* A gray image gets the luma. */
    CHECK_OK(dn_image_make(4, 4, 1, &im));
    dn_image_draw_box(&im, 0, 0, 3, 3, 1, 1, 1, 1);
    CHECK_NEAR(im.data[0], 1.0, 1e-6);
    dn_image_free(&im);
    dn_image_draw_box(NULL, 0, 0, 1, 1, 1, 1, 1, 1);
}

TEST(draw_label_contrast_and_clipping)
{
    dn_image im;
    CHECK_OK(dn_image_make(40, 20, 3, &im));
    /* Light background: black text. The box starts at (2, 2); glyphs at (3, 3). */
    dn_image_draw_label(&im, 2, 2, "A", 1, 1, 1, 0.8f);
    CHECK(is_rgb(&im, 2, 2, 1, 1, 0.8f));   /* margin */
    CHECK(is_rgb(&im, 3, 3, 1, 1, 0.8f));   /* 'A' top row is .###. */
    CHECK(is_rgb(&im, 4, 3, 0, 0, 0));      /* ink */
    CHECK(is_rgb(&im, 1, 1, 0, 0, 0));      /* outside the box: untouched */
    int ink = 0;
    for (int y = 2; y < 11; y++)
        for (int x = 2; x < 9; x++) {
            int bg = is_rgb(&im, x, y, 1, 1, 0.8f), fg = is_rgb(&im, x, y, 0, 0, 0);
            CHECK(bg || fg);
            ink += fg;
        }
    CHECK(ink > 8);
    /* Dark background: white text. */
    dn_image_draw_label(&im, 20, 5, "Hi", 2, 0, 0, 0.6f);
    ink = 0;
    for (int y = 5; y < 20; y++)
        for (int x = 20; x < 40; x++) ink += is_rgb(&im, x, y, 1, 1, 1);
    CHECK(ink > 20);
    /* Edges, huge scales, long and odd text: no writes outside (ASan checks). */
    size_t n = 200000;
    char *big = malloc(n + 1);
    CHECK(big);
    for (size_t i = 0; i < n; i++) big[i] = (char)(32 + i % 95);
    big[n] = '\0';
    dn_image_draw_label(&im, -7, -3, big, 1, 0.5f, 0.5f, 0.5f);
    dn_image_draw_label(&im, -1000000, 10, big, 3, 1, 0, 0);
    dn_image_draw_label(&im, 35, 15, big, 1000, 0, 1, 0);
    dn_image_draw_label(&im, INT_MIN, INT_MIN, big, INT_MAX, 0, 1, 0);
    dn_image_draw_label(&im, INT_MAX, INT_MAX, big, INT_MAX, 0, 1, 0);
    dn_image_draw_label(&im, 0, 0, "\x01\x7f\xc3\xa9\n\t", 0, 0, 0, 0);
    dn_image_draw_label(&im, 0, 0, NULL, 1, 0, 0, 0);
    dn_image_draw_label(NULL, 0, 0, "x", 1, 0, 0, 0);
    free(big);
    /* A huge scale fills whatever it covers with background or ink only. */
    dn_image_draw_label(&im, 0, 0, "M", 100, 0.9f, 0.9f, 0.9f);
    CHECK(is_rgb(&im, 39, 19, 0.9f, 0.9f, 0.9f));
    dn_image_free(&im);
}

TEST(class_colors)
{
    /* class 0 of 80: offset 0 -> colors[0] = (1, 0, 1). */
    CHECK(dn_class_color(0, 0, 80) == 1.f && dn_class_color(1, 0, 80) == 0.f &&
          dn_class_color(2, 0, 80) == 1.f);
    /* class 1: offset 123457 % 80 = 17, ratio 17/80*5 = 1.0625 -> .9375*colors[1] +
     * .0625*colors[2] = (0, .0625, 1). */
    CHECK_NEAR(dn_class_color(0, 1, 80), 0.0, 1e-6);
    CHECK_NEAR(dn_class_color(1, 1, 80), 0.0625, 1e-6);
    CHECK_NEAR(dn_class_color(2, 1, 80), 1.0, 1e-6);
    /* class 2: offset 246914 % 80 = 34, ratio 2.125 -> .875*(0,1,1) + .125*(0,1,0). */
    CHECK_NEAR(dn_class_color(0, 2, 80), 0.0, 1e-6);
    CHECK_NEAR(dn_class_color(1, 2, 80), 1.0, 1e-6);
    CHECK_NEAR(dn_class_color(2, 2, 80), 0.875, 1e-6);
    /* class 5 of 20: offset 617285 % 20 = 5, ratio 1.25 -> .75*(0,0,1) + .25*(0,1,1). */
    CHECK_NEAR(dn_class_color(1, 5, 20), 0.25, 1e-6);
    CHECK_NEAR(dn_class_color(2, 5, 20), 1.0, 1e-6);
    /* Out-of-range arguments give 0 and never index outside the table. */
    CHECK(dn_class_color(3, 1, 80) == 0.f && dn_class_color(0, 1, 0) == 0.f);
    for (int cls = -3; cls < 100000; cls += 997)
        for (int c = 0; c < 3; c++) {
            float v = dn_class_color(c, cls, 91);
            CHECK(v >= 0.f && v <= 1.f);
        }
}

int main(void)
{
    snprintf(t_dir, sizeof t_dir, "/tmp/dn_test_image_XXXXXX");
    if (!mkdtemp(t_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(make_and_free);
    RUN(png8_round_trip_exact);
    RUN(png_clamps_values);
    RUN(png16_round_trip_exact);
    RUN(jpeg_round_trip_approx);
    RUN(gray_rgb_conversion);
    RUN(png_color_types);
    RUN(jpeg_cmyk);
    RUN(load_bad_files);
    RUN(load_alloc_failures);
    RUN(save_errors);
    RUN(resize_2x2_to_3x3);
    RUN(resize_hand_cases);
    RUN(resize_identity);
    RUN(resize_matches_reference);
    RUN(letterbox_geometry);
    RUN(letterbox_image);
    RUN(draw_box_clipped);
    RUN(draw_label_contrast_and_clipping);
    RUN(class_colors);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
    if (getenv("KEEP")) printf("kept %s\n", t_dir);
    else if (system(cmd) != 0) printf("note: could not remove %s\n", t_dir);
    DONE();
}
