/* image.c - float CHW images: allocation, JPEG/PNG decoding (libjpeg, libpng; format found by
 * magic bytes) and encoding with atomic writes, and Darknet's two-pass bilinear resize and
 * letterbox (pjreddie/darknet src/image.c: resize_image, letterbox_image), which the
 * conformance tests compare against Debian's darknet to 1e-4. */
#include "core/core.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

/* Largest file the decoders read into memory. */
#define IMG_MAX_FILE_BYTES ((size_t)1 << 31)
/* Largest ancillary PNG chunk (text, ICC profile) libpng may allocate. */
#define PNG_MAX_CHUNK_BYTES ((png_alloc_size_t)8 << 20)
/* Progressive JPEGs may hold many scans; a hostile file can hold millions. */
#define JPEG_MAX_SCANS 1000
/* Largest side libjpeg can encode. */
#define JPEG_MAX_SIDE 65500

/* ---- allocation ------------------------------------------------------------------------- */

dn_status dn_image_make(int w, int h, int c, dn_image *out)
{
    if (!out) return dn_error(DN_ERR_ARG, "dn_image_make: NULL output");
    memset(out, 0, sizeof *out);
    if (w <= 0 || h <= 0 || c <= 0)
        return dn_error(DN_ERR_ARG, "dn_image_make: bad size %d x %d x %d", w, h, c);
    size_t n = dn_size_mul(dn_size_mul((size_t)w, (size_t)h, DN_MAX_FLOATS), (size_t)c,
                           DN_MAX_FLOATS);
    if (!n) return dn_error(DN_ERR_NOMEM, "image of %d x %d x %d floats is too large", w, h, c);
    float *d = dn_calloc(n, sizeof(float));
    if (!d) return dn_error(DN_ERR_NOMEM, "out of memory for a %d x %d x %d image", w, h, c);
    out->w = w;
    out->h = h;
    out->c = c;
    out->data = d;
    return DN_OK;
}

void dn_image_free(dn_image *im)
{
    if (!im) return;
    dn_free(im->data);
    memset(im, 0, sizeof *im);
}

static int image_ok(const dn_image *im)
{
    return im && im->data && im->w > 0 && im->h > 0 && im->c > 0;
}

/* ---- reading files ---------------------------------------------------------------------- */

/* Reads the whole file into a new buffer (*buf, *len). Errors name the path. */
static dn_status read_file(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 0, n = 0;
    unsigned char *b = NULL;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > IMG_MAX_FILE_BYTES + 1) ncap = IMG_MAX_FILE_BYTES + 1;
            if (ncap <= cap) {
                dn_free(b);
                fclose(f);
                return dn_error(DN_ERR_FORMAT, "%s: file larger than %zu bytes", path,
                                IMG_MAX_FILE_BYTES);
            }
            unsigned char *nb = dn_realloc(b, ncap);
            if (!nb) {
                dn_free(b);
                fclose(f);
                return dn_error(DN_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            b = nb;
            cap = ncap;
        }
        size_t got = fread(b + n, 1, cap - n, f);
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
    if (n > IMG_MAX_FILE_BYTES) {
        dn_free(b);
        return dn_error(DN_ERR_FORMAT, "%s: file larger than %zu bytes", path,
                        IMG_MAX_FILE_BYTES);
    }
    *buf = b;
    *len = n;
    return DN_OK;
}

/* ---- decoded pixels -> float image ------------------------------------------------------ */

/* Interleaved samples as a decoder produced them. */
typedef struct raw_pixels {
    const unsigned char *pix; /* (h, w, ch) samples, 8-bit or 16-bit big-endian */
    int w, h;
    int ch;                   /* 1 gray, 3 RGB, 4 CMYK (8-bit only) */
    int depth;                /* 8 or 16 */
    int cmyk_inverted;        /* Adobe CMYK JPEGs store inverted ink values */
} raw_pixels;

static unsigned sample_at(const raw_pixels *r, size_t i)
{
    if (r->depth == 16) return ((unsigned)r->pix[2 * i] << 8) | r->pix[2 * i + 1];
    return r->pix[i];
}

/* BT.601 luma of integer samples, 14-bit fixed-point weights (0.299, 0.587, 0.114 x 16384),
 * rounded to the nearest sample value: the conversion OpenCV's imread applies, and so Debian's
 * darknet when it loads a colour image as gray. */
static unsigned luma(unsigned r, unsigned g, unsigned b)
{
    return (unsigned)(((unsigned long)r * 4899 + (unsigned long)g * 9617 +
                       (unsigned long)b * 1868 + 8192) >> 14);
}

/* Converts raw samples to a planar float image of `want` channels (0: 1 for gray, else 3).
 * Alpha was dropped by the decoders (as Darknet does); gray to RGB replicates; RGB to gray
 * uses luma() above. */
static dn_status raw_to_image(const raw_pixels *r, int want, dn_image *out)
{
    int oc = want ? want : (r->ch == 1 ? 1 : 3);
    dn_status s = dn_image_make(r->w, r->h, oc, out);
    if (s != DN_OK) return s;
    size_t plane = (size_t)r->w * (size_t)r->h;
    float maxv = r->depth == 16 ? 65535.f : 255.f;
    float *d = out->data;
    for (size_t p = 0; p < plane; p++) {
        size_t i = p * (size_t)r->ch;
        unsigned c0, c1, c2;
        if (r->ch == 1) {
            c0 = c1 = c2 = sample_at(r, i);
        } else if (r->ch == 3) {
            c0 = sample_at(r, i);
            c1 = sample_at(r, i + 1);
            c2 = sample_at(r, i + 2);
        } else {
            /* CMYK (8-bit): red = (1 - C)(1 - K), ... on the ink values. */
            unsigned cc = r->pix[i], m = r->pix[i + 1], y = r->pix[i + 2], k = r->pix[i + 3];
            if (!r->cmyk_inverted) {
                cc = 255 - cc;
                m = 255 - m;
                y = 255 - y;
                k = 255 - k;
            }
            c0 = (cc * k + 127) / 255;
            c1 = (m * k + 127) / 255;
            c2 = (y * k + 127) / 255;
        }
        if (oc == 1) {
            unsigned v = r->ch == 1 ? c0 : luma(c0, c1, c2);
            d[p] = (float)v / maxv;
        } else {
            d[p] = (float)c0 / maxv;
            d[plane + p] = (float)c1 / maxv;
            d[2 * plane + p] = (float)c2 / maxv;
        }
    }
    return DN_OK;
}

/* ---- PNG decoding ----------------------------------------------------------------------- */

typedef struct png_rd {
    const unsigned char *data;
    size_t len, pos;
    char msg[160];
    png_structp png;
    png_infop info;
    unsigned char *pix;  /* (h, rowbytes) decoded rows; freed by the caller */
    png_bytep *rows;     /* (h) pointers into pix; freed by the caller */
    raw_pixels raw;
    int too_large;       /* 1: a side beyond DN_IMAGE_MAX_SIDE; 2: out of memory */
} png_rd;

static void png_rd_error(png_structp png, png_const_charp msg)
{
    png_rd *x = png_get_error_ptr(png);
    snprintf(x->msg, sizeof x->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* libpng's warnings (e.g. a bad sRGB profile) are harmless for us and must not be printed. */
static void png_rd_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_rd_read(png_structp png, png_bytep dst, size_t n)
{
    png_rd *x = png_get_io_ptr(png);
    if (n > x->len - x->pos) png_error(png, "unexpected end of file (truncated)");
    memcpy(dst, x->data + x->pos, n);
    x->pos += n;
}

/* Runs libpng over x->data. Returns 0 on success; on failure x->msg or x->too_large says why.
 * Everything allocated lives in *x so that the caller can free it after a longjmp. */
static int png_decode(png_rd *x)
{
    if (setjmp(png_jmpbuf(x->png))) return -1;
    png_set_read_fn(x->png, x, png_rd_read);
    /* libpng allocates an ancillary chunk (text, ICC profile) at the length its header claims
       before reading it: cap that, and the number of such chunks (fuzzing found a 6x6 file whose
       tEXt header claimed 1.7 GB) */
    png_set_chunk_malloc_max(x->png, PNG_MAX_CHUNK_BYTES);
    png_set_chunk_cache_max(x->png, 1000);
    png_read_info(x->png, x->info);
    png_uint_32 w = png_get_image_width(x->png, x->info);
    png_uint_32 h = png_get_image_height(x->png, x->info);
    if (w > DN_IMAGE_MAX_SIDE || h > DN_IMAGE_MAX_SIDE) {
        x->raw.w = (int)(w > INT_MAX ? INT_MAX : w);
        x->raw.h = (int)(h > INT_MAX ? INT_MAX : h);
        x->too_large = 1;
        return -1;
    }
    int type = png_get_color_type(x->png, x->info);
    int depth = png_get_bit_depth(x->png, x->info);
    /* Palette -> RGB; gray of 1/2/4 bits -> 8 bits; alpha dropped; tRNS ignored. 16-bit
     * samples stay 16-bit so that 16-bit files load exactly. */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(x->png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(x->png);
    if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(x->png, x->info, PNG_INFO_tRNS))
        png_set_strip_alpha(x->png);
    (void)png_set_interlace_handling(x->png);
    png_read_update_info(x->png, x->info);
    int ch = png_get_channels(x->png, x->info);
    int bd = png_get_bit_depth(x->png, x->info);
    if ((ch != 1 && ch != 3) || (bd != 8 && bd != 16)) {
        snprintf(x->msg, sizeof x->msg, "unexpected layout after decoding (%d channels, %d bits)",
                 ch, bd);
        return -1;
    }
    /* Rows are packed: rowbytes is exactly w * ch * bd / 8 for 8/16-bit samples. */
    size_t rowbytes = png_get_rowbytes(x->png, x->info);
    size_t need = dn_size_mul(rowbytes, h, IMG_MAX_FILE_BYTES * 4);
    if (rowbytes != (size_t)w * (size_t)ch * (size_t)(bd / 8) || !need) {
        snprintf(x->msg, sizeof x->msg, "bad row size %zu", rowbytes);
        return -1;
    }
    x->pix = dn_malloc(need);
    x->rows = dn_calloc(h, sizeof *x->rows);
    if (!x->pix || !x->rows) {
        x->too_large = 2;
        return -1;
    }
    for (png_uint_32 r = 0; r < h; r++) x->rows[r] = x->pix + (size_t)r * rowbytes;
    png_read_image(x->png, x->rows);
    png_read_end(x->png, NULL);
    x->raw.pix = x->pix;
    x->raw.w = (int)w;
    x->raw.h = (int)h;
    x->raw.ch = ch;
    x->raw.depth = bd;
    return 0;
}

static dn_status load_png(const char *path, const unsigned char *buf, size_t len, int want,
                          dn_image *out)
{
    png_rd x;
    memset(&x, 0, sizeof x);
    x.data = buf;
    x.len = len;
    x.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &x, png_rd_error, png_rd_warning);
    if (!x.png) return dn_error(DN_ERR_NOMEM, "%s: cannot create a PNG decoder", path);
    x.info = png_create_info_struct(x.png);
    if (!x.info) {
        png_destroy_read_struct(&x.png, NULL, NULL);
        return dn_error(DN_ERR_NOMEM, "%s: cannot create a PNG decoder", path);
    }
    /* png_read_info allocates each chunk before the image data at the length its header
       claims (libpng's chunk limit did not stop a 1.7 GB tEXt in a 6x6 file found by fuzzing):
       the whole file is in memory, so a chunk claiming more bytes than are left is corrupt */
    for (size_t off = 8; off + 8 <= len;) {
        size_t n = ((size_t)buf[off] << 24) | ((size_t)buf[off + 1] << 16) |
                   ((size_t)buf[off + 2] << 8) | buf[off + 3];
        if (n > len - off - 8 || len - off - 8 - n < 4) {
            png_destroy_read_struct(&x.png, &x.info, NULL);
            return dn_error(DN_ERR_FORMAT, "%s: corrupt PNG: chunk '%c%c%c%c' at byte %zu claims %zu "
                            "bytes, more than the file holds", path, isprint(buf[off + 4]) ? buf[off + 4] : '?',
                            isprint(buf[off + 5]) ? buf[off + 5] : '?', isprint(buf[off + 6]) ? buf[off + 6] : '?',
                            isprint(buf[off + 7]) ? buf[off + 7] : '?', off, n);
        }
        if (!memcmp(buf + off + 4, "IDAT", 4)) break; /* libpng reads the image data in rows */
        off += 12 + n;
    }
    int rc = png_decode(&x);
    png_destroy_read_struct(&x.png, &x.info, NULL);
    dn_status s;
    if (rc == 0)
        s = raw_to_image(&x.raw, want, out);
    else if (x.too_large == 1)
        s = dn_error(DN_ERR_FORMAT, "%s: PNG of %d x %d exceeds the largest side %d", path,
                     x.raw.w, x.raw.h, DN_IMAGE_MAX_SIDE);
    else if (x.too_large == 2)
        s = dn_error(DN_ERR_NOMEM, "%s: out of memory decoding the PNG", path);
    else
        s = dn_error(DN_ERR_FORMAT, "%s: corrupt PNG: %s", path, x.msg);
    dn_free(x.rows);
    dn_free(x.pix);
    return s;
}

/* ---- JPEG decoding ---------------------------------------------------------------------- */

typedef struct jpg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int eof_ok; /* a single-scan image: running out of data is fatal only if data was missing */
    int eof;    /* the data ran out (libjpeg then inserts an end marker) */
} jpg_err;

static void jpg_error_exit(j_common_ptr c)
{
    jpg_err *e = (jpg_err *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings. A truncated file is fatal, since libjpeg would pad the image with gray. Running
 * out of data is tolerated only in a single-scan image whose entropy decoder then never
 * lacks bits (no JWRN_HIT_MARKER after the end): a file missing just its end-of-image marker,
 * which every viewer accepts. Other warnings (stray bytes before a marker, ...) are tolerated
 * too. Nothing is printed. */
static void jpg_emit_message(j_common_ptr c, int level)
{
    if (level >= 0) return;
    c->err->num_warnings++;
    jpg_err *e = (jpg_err *)c->err;
    int code = c->err->msg_code;
    if (code == JWRN_JPEG_EOF) e->eof = 1;
    if ((code == JWRN_JPEG_EOF && !e->eof_ok) || (code == JWRN_HIT_MARKER && e->eof)) {
        snprintf(e->msg, sizeof e->msg, "unexpected end of data (truncated)");
        longjmp(e->jb, 1);
    }
}

static void jpg_output_message(j_common_ptr c) { (void)c; }

static void jpg_progress(j_common_ptr c)
{
    if (!c->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpg_err *e = (jpg_err *)c->err;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

typedef struct jpg_rd {
    struct jpeg_decompress_struct d;
    jpg_err err;
    struct jpeg_progress_mgr progress;
    unsigned char *pix; /* (h, w, components); freed by the caller */
    raw_pixels raw;
    int too_large;      /* 1: a side beyond DN_IMAGE_MAX_SIDE; 2: out of memory */
} jpg_rd;

/* Runs libjpeg over buf. Returns 0 on success; on failure x->err.msg or x->too_large says why.
 * The caller destroys x->d and frees x->pix. */
static int jpg_decode(jpg_rd *x, const unsigned char *buf, size_t len)
{
    if (setjmp(x->err.jb)) return -1;
    jpeg_create_decompress(&x->d);
    x->d.progress = &x->progress;
    jpeg_mem_src(&x->d, buf, (unsigned long)len);
    jpeg_read_header(&x->d, TRUE);
    if (x->d.image_width > DN_IMAGE_MAX_SIDE || x->d.image_height > DN_IMAGE_MAX_SIDE) {
        x->raw.w = (int)x->d.image_width;
        x->raw.h = (int)x->d.image_height;
        x->too_large = 1;
        return -1;
    }
    x->err.eof_ok = !jpeg_has_multiple_scans(&x->d);
    J_COLOR_SPACE cs = x->d.jpeg_color_space;
    if (cs == JCS_GRAYSCALE)
        x->d.out_color_space = JCS_GRAYSCALE;
    else if (cs == JCS_CMYK || cs == JCS_YCCK)
        x->d.out_color_space = JCS_CMYK;
    else
        x->d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&x->d);
    int w = (int)x->d.output_width, h = (int)x->d.output_height;
    int ch = x->d.output_components;
    if (ch != 1 && ch != 3 && ch != 4) {
        snprintf(x->err.msg, sizeof x->err.msg, "unexpected %d components", ch);
        return -1;
    }
    size_t stride = (size_t)w * (size_t)ch;
    size_t need = dn_size_mul(stride, (size_t)h, IMG_MAX_FILE_BYTES * 4);
    x->pix = need ? dn_malloc(need) : NULL;
    if (!x->pix) {
        x->too_large = 2;
        return -1;
    }
    while (x->d.output_scanline < x->d.output_height) {
        JSAMPROW row = x->pix + (size_t)x->d.output_scanline * stride;
        if (jpeg_read_scanlines(&x->d, &row, 1) != 1) {
            snprintf(x->err.msg, sizeof x->err.msg, "no scanline decoded");
            return -1;
        }
    }
    jpeg_finish_decompress(&x->d);
    x->raw.pix = x->pix;
    x->raw.w = w;
    x->raw.h = h;
    x->raw.ch = ch;
    x->raw.depth = 8;
    x->raw.cmyk_inverted = x->d.saw_Adobe_marker;
    return 0;
}

static dn_status load_jpeg(const char *path, const unsigned char *buf, size_t len, int want,
                           dn_image *out)
{
    jpg_rd *x = dn_calloc(1, sizeof *x);
    if (!x) return dn_error(DN_ERR_NOMEM, "%s: out of memory for a JPEG decoder", path);
    x->d.err = jpeg_std_error(&x->err.pub);
    x->err.pub.error_exit = jpg_error_exit;
    x->err.pub.emit_message = jpg_emit_message;
    x->err.pub.output_message = jpg_output_message;
    x->progress.progress_monitor = jpg_progress;
    int rc = jpg_decode(x, buf, len);
    jpeg_destroy_decompress(&x->d);
    dn_status s;
    if (rc == 0)
        s = raw_to_image(&x->raw, want, out);
    else if (x->too_large == 1)
        s = dn_error(DN_ERR_FORMAT, "%s: JPEG of %d x %d exceeds the largest side %d", path,
                     x->raw.w, x->raw.h, DN_IMAGE_MAX_SIDE);
    else if (x->too_large == 2)
        s = dn_error(DN_ERR_NOMEM, "%s: out of memory decoding the JPEG", path);
    else
        s = dn_error(DN_ERR_FORMAT, "%s: corrupt JPEG: %s", path, x->err.msg);
    dn_free(x->pix);
    dn_free(x);
    return s;
}

/* ---- dn_image_load ---------------------------------------------------------------------- */

dn_status dn_image_load(const char *path, int channels, dn_image *out)
{
    if (!out) return dn_error(DN_ERR_ARG, "dn_image_load: NULL output");
    memset(out, 0, sizeof *out);
    if (!path) return dn_error(DN_ERR_ARG, "dn_image_load: NULL path");
    if (channels != 0 && channels != 1 && channels != 3)
        return dn_error(DN_ERR_ARG, "%s: cannot load with %d channels (0, 1 or 3)", path,
                        channels);
    unsigned char *buf;
    size_t len;
    dn_status s = read_file(path, &buf, &len);
    if (s != DN_OK) return s;
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len == 0)
        s = dn_error(DN_ERR_FORMAT, "%s: empty file", path);
    else if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        s = load_jpeg(path, buf, len, channels, out);
    else if (len >= 8 && memcmp(buf, png_magic, 8) == 0)
        s = load_png(path, buf, len, channels, out);
    else
        s = dn_error(DN_ERR_FORMAT, "%s: not a JPEG or PNG file", path);
    dn_free(buf);
    return s;
}

/* ---- writing ---------------------------------------------------------------------------- */

static unsigned to_sample(float v, unsigned maxv)
{
    if (!(v > 0.f)) return 0; /* also NaN */
    if (v >= 1.f) return maxv;
    return (unsigned)(v * (float)maxv + 0.5f);
}

/* Interleaves channels 0..ch-1 of im as 8-bit (bytes = 1) or big-endian 16-bit samples:
 * returns (h, w, ch) samples or NULL (error recorded). */
static unsigned char *interleave(const dn_image *im, int ch, int bytes, const char *path)
{
    size_t plane = (size_t)im->w * (size_t)im->h;
    size_t n = dn_size_mul(dn_size_mul(plane, (size_t)ch, SIZE_MAX / 2), (size_t)bytes,
                           SIZE_MAX / 2);
    unsigned char *b = n ? dn_malloc(n) : NULL;
    if (!b) {
        dn_error(DN_ERR_NOMEM, "%s: out of memory encoding the image", path);
        return NULL;
    }
    unsigned maxv = bytes == 2 ? 65535u : 255u;
    for (size_t p = 0; p < plane; p++)
        for (int k = 0; k < ch; k++) {
            unsigned v = to_sample(im->data[(size_t)k * plane + p], maxv);
            size_t i = (p * (size_t)ch + (size_t)k) * (size_t)bytes;
            if (bytes == 2) {
                b[i] = (unsigned char)(v >> 8);
                b[i + 1] = (unsigned char)(v & 0xff);
            } else {
                b[i] = (unsigned char)v;
            }
        }
    return b;
}


typedef struct png_wr {
    png_structp png;
    png_infop info;
    char msg[160];
} png_wr;

static void png_wr_error(png_structp png, png_const_charp msg)
{
    png_wr *x = png_get_error_ptr(png);
    snprintf(x->msg, sizeof x->msg, "%s", msg);
    png_longjmp(png, 1);
}

static int png_encode(png_wr *x, FILE *f, int w, int h, int ch, int depth,
                      const unsigned char *pix)
{
    if (setjmp(png_jmpbuf(x->png))) return -1;
    png_init_io(x->png, f);
    png_set_IHDR(x->png, x->info, (png_uint_32)w, (png_uint_32)h, depth,
                 ch == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(x->png, x->info);
    size_t stride = (size_t)w * (size_t)ch * (size_t)(depth / 8);
    for (int r = 0; r < h; r++) png_write_row(x->png, pix + (size_t)r * stride);
    png_write_end(x->png, x->info);
    return 0;
}

static dn_status save_png(const dn_image *im, const char *path, int ch, int depth)
{
    unsigned char *pix = interleave(im, ch, depth / 8, path);
    if (!pix) return DN_ERR_NOMEM;
    dn_afile af;
    dn_status s = dn_afile_open(&af, path);
    if (s != DN_OK) {
        dn_free(pix);
        return s;
    }
    FILE *f = af.f;
    png_wr x;
    memset(&x, 0, sizeof x);
    x.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &x, png_wr_error, png_rd_warning);
    if (x.png) x.info = png_create_info_struct(x.png);
    if (!x.png || !x.info)
        s = dn_error(DN_ERR_NOMEM, "%s: cannot create a PNG encoder", path);
    else if (png_encode(&x, f, im->w, im->h, ch, depth, pix) != 0)
        s = dn_error(DN_ERR_IO, "%s: cannot write PNG: %s", path, x.msg);
    if (x.png) png_destroy_write_struct(&x.png, x.info ? &x.info : NULL);
    s = dn_afile_close(&af, s);
    dn_free(pix);
    return s;
}

dn_status dn_image_save_png(const dn_image *im, const char *path)
{
    if (!path) return dn_error(DN_ERR_ARG, "dn_image_save_png: NULL path");
    if (!image_ok(im)) return dn_error(DN_ERR_ARG, "%s: cannot save an empty image", path);
    if (im->c != 1 && im->c != 3)
        return dn_error(DN_ERR_ARG, "%s: PNG needs 1 or 3 channels, image has %d", path,
                        im->c);
    return save_png(im, path, im->c, 8);
}

dn_status dn_image_save_png16(const dn_image *im, const char *path)
{
    if (!path) return dn_error(DN_ERR_ARG, "dn_image_save_png16: NULL path");
    if (!image_ok(im)) return dn_error(DN_ERR_ARG, "%s: cannot save an empty image", path);
    return save_png(im, path, 1, 16);
}

typedef struct jpg_wr {
    struct jpeg_compress_struct c;
    jpg_err err;
} jpg_wr;

static int jpg_encode(jpg_wr *x, FILE *f, const dn_image *im, int quality,
                      const unsigned char *pix)
{
    if (setjmp(x->err.jb)) return -1;
    jpeg_create_compress(&x->c);
    jpeg_stdio_dest(&x->c, f);
    x->c.image_width = (JDIMENSION)im->w;
    x->c.image_height = (JDIMENSION)im->h;
    x->c.input_components = im->c;
    x->c.in_color_space = im->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&x->c);
    jpeg_set_quality(&x->c, quality, TRUE);
    jpeg_start_compress(&x->c, TRUE);
    size_t stride = (size_t)im->w * (size_t)im->c;
    while (x->c.next_scanline < x->c.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)x->c.next_scanline * stride);
        jpeg_write_scanlines(&x->c, &row, 1);
    }
    jpeg_finish_compress(&x->c);
    return 0;
}

dn_status dn_image_save_jpeg(const dn_image *im, const char *path, int quality)
{
    if (!path) return dn_error(DN_ERR_ARG, "dn_image_save_jpeg: NULL path");
    if (!image_ok(im)) return dn_error(DN_ERR_ARG, "%s: cannot save an empty image", path);
    if (im->c != 1 && im->c != 3)
        return dn_error(DN_ERR_ARG, "%s: JPEG needs 1 or 3 channels, image has %d", path,
                        im->c);
    if (quality < 1 || quality > 100)
        return dn_error(DN_ERR_ARG, "%s: JPEG quality %d is not in 1..100", path, quality);
    if (im->w > JPEG_MAX_SIDE || im->h > JPEG_MAX_SIDE)
        return dn_error(DN_ERR_RANGE, "%s: %d x %d is larger than JPEG allows (%d)", path,
                        im->w, im->h, JPEG_MAX_SIDE);
    unsigned char *pix = interleave(im, im->c, 1, path);
    if (!pix) return DN_ERR_NOMEM;
    jpg_wr *x = dn_calloc(1, sizeof *x);
    if (!x) {
        dn_free(pix);
        return dn_error(DN_ERR_NOMEM, "%s: out of memory for a JPEG encoder", path);
    }
    dn_afile af;
    dn_status s = dn_afile_open(&af, path);
    FILE *f = af.f;
    if (s == DN_OK) {
        x->c.err = jpeg_std_error(&x->err.pub);
        x->err.pub.error_exit = jpg_error_exit;
        x->err.pub.emit_message = jpg_emit_message;
        x->err.pub.output_message = jpg_output_message;
        if (jpg_encode(x, f, im, quality, pix) != 0)
            s = dn_error(DN_ERR_IO, "%s: cannot write JPEG: %s", path, x->err.msg);
        jpeg_destroy_compress(&x->c);
        s = dn_afile_close(&af, s);
    }
    dn_free(x);
    dn_free(pix);
    return s;
}

/* ---- resize and letterbox --------------------------------------------------------------- */

/* Darknet's resize_image, pass by pass. Horizontal: tmp (c, src->h, dst->w) samples src at
 * col * (src->w - 1) / (dst->w - 1), the last column copied from src's last column. Vertical:
 * row r samples tmp at r * (src->h - 1) / (dst->h - 1); the last row gets only the (1 - dy)
 * term, exactly as Darknet computes it. A side of 1 uses scale 0 (Darknet divides by 0). */
void dn_image_resize_into(const dn_image *src, dn_image *dst, float *tmp)
{
    assert(src->c == dst->c);
    const int sw = src->w, sh = src->h, dw = dst->w, dh = dst->h, nc = src->c;
    const float w_scale = dw > 1 ? (float)(sw - 1) / (float)(dw - 1) : 0.f;
    const float h_scale = dh > 1 ? (float)(sh - 1) / (float)(dh - 1) : 0.f;
    for (int k = 0; k < nc; k++) {
        const float *in = src->data + (size_t)k * (size_t)sw * (size_t)sh; /* (sh, sw) */
        float *part = tmp + (size_t)k * (size_t)dw * (size_t)sh;          /* (sh, dw) */
        for (int r = 0; r < sh; r++) {
            const float *row = in + (size_t)r * (size_t)sw;
            float *prow = part + (size_t)r * (size_t)dw;
            for (int c = 0; c < dw; c++) {
                float val;
                if (c == dw - 1 || sw == 1) {
                    val = row[sw - 1];
                } else {
                    float sx = (float)c * w_scale;
                    int ix = (int)sx;
                    float dx = sx - (float)ix;
                    val = ix + 1 < sw ? (1.f - dx) * row[ix] + dx * row[ix + 1] : row[sw - 1];
                }
                prow[c] = val;
            }
        }
    }
    for (int k = 0; k < nc; k++) {
        const float *part = tmp + (size_t)k * (size_t)dw * (size_t)sh;  /* (sh, dw) */
        float *out = dst->data + (size_t)k * (size_t)dw * (size_t)dh;    /* (dh, dw) */
        for (int r = 0; r < dh; r++) {
            float sy = (float)r * h_scale;
            int iy = (int)sy;
            if (iy > sh - 1) iy = sh - 1;
            float dy = sy - (float)iy;
            const float *p0 = part + (size_t)iy * (size_t)dw;
            float *orow = out + (size_t)r * (size_t)dw;
            for (int c = 0; c < dw; c++) orow[c] = (1.f - dy) * p0[c];
            if (r == dh - 1 || sh == 1 || iy + 1 >= sh) continue;
            const float *p1 = p0 + dw;
            for (int c = 0; c < dw; c++) orow[c] += dy * p1[c];
        }
    }
}

/* out may be src itself: its pixels are then replaced (the old ones freed). On failure *out is
 * zeroed, unless it is src, which is left intact. */
dn_status dn_image_resize(const dn_image *src, int w, int h, dn_image *out)
{
    if (!out) return dn_error(DN_ERR_ARG, "dn_image_resize: NULL output");
    if (!image_ok(src)) {
        if (out != src) memset(out, 0, sizeof *out);
        return dn_error(DN_ERR_ARG, "dn_image_resize: empty source image");
    }
    dn_image r;
    dn_status s = dn_image_make(w, h, src->c, &r);
    if (s != DN_OK) {
        if (out != src) memset(out, 0, sizeof *out);
        return s;
    }
    size_t n = dn_size_mul(dn_size_mul((size_t)w, (size_t)src->h, DN_MAX_FLOATS),
                           (size_t)src->c, DN_MAX_FLOATS);
    float *tmp = n ? dn_malloc(n * sizeof(float)) : NULL;
    if (!tmp) {
        dn_image_free(&r);
        if (out != src) memset(out, 0, sizeof *out);
        return dn_error(DN_ERR_NOMEM, "resize to %d x %d: no room for the intermediate image",
                        w, h);
    }
    dn_image_resize_into(src, &r, tmp);
    dn_free(tmp);
    if (out == src) dn_free(out->data); /* resizing in place replaces the pixels */
    *out = r;
    return DN_OK;
}

void dn_letterbox_geometry(int im_w, int im_h, int net_w, int net_h,
                           int *new_w, int *new_h, int *dx, int *dy)
{
    long long nw = net_w, nh = net_h;
    if (im_w > 0 && im_h > 0 && net_w > 0 && net_h > 0) {
        /* Darknet compares the ratios in float and scales with integer arithmetic. */
        if ((float)net_w / (float)im_w < (float)net_h / (float)im_h) {
            nw = net_w;
            nh = (long long)im_h * net_w / im_w;
        } else {
            nh = net_h;
            nw = (long long)im_w * net_h / im_h;
        }
        /* Darknet would make an empty image of an extreme aspect ratio: keep one pixel. */
        if (nw < 1) nw = 1;
        if (nh < 1) nh = 1;
        if (nw > net_w) nw = net_w;
        if (nh > net_h) nh = net_h;
    }
    if (new_w) *new_w = (int)nw;
    if (new_h) *new_h = (int)nh;
    if (dx) *dx = (int)((net_w - nw) / 2);
    if (dy) *dy = (int)((net_h - nh) / 2);
}

/* Like dn_image_resize, out may be src. */
dn_status dn_image_letterbox(const dn_image *src, int w, int h, dn_image *out)
{
    if (!out) return dn_error(DN_ERR_ARG, "dn_image_letterbox: NULL output");
    if (!image_ok(src) || w <= 0 || h <= 0) {
        if (out != src) memset(out, 0, sizeof *out);
        return dn_error(DN_ERR_ARG, "dn_image_letterbox: bad image or size %d x %d", w, h);
    }
    int nw, nh, dx, dy;
    dn_letterbox_geometry(src->w, src->h, w, h, &nw, &nh, &dx, &dy);
    dn_image rs, box;
    dn_status s = dn_image_resize(src, nw, nh, &rs);
    if (s == DN_OK) {
        s = dn_image_make(w, h, src->c, &box);
        if (s != DN_OK) dn_image_free(&rs);
    }
    if (s != DN_OK) {
        if (out != src) memset(out, 0, sizeof *out);
        return s;
    }
    size_t plane = (size_t)w * (size_t)h;
    dn_fill(box.data, plane * (size_t)src->c, 0.5f);
    for (int k = 0; k < src->c; k++)
        for (int r = 0; r < nh; r++)
            memcpy(box.data + (size_t)k * plane + (size_t)(r + dy) * (size_t)w + (size_t)dx,
                   rs.data + ((size_t)k * (size_t)nh + (size_t)r) * (size_t)nw,
                   (size_t)nw * sizeof(float));
    dn_image_free(&rs);
    if (out == src) dn_free(out->data); /* in place replaces the pixels */
    *out = box;
    return DN_OK;
}
