/* video.cpp - the OpenCV side of video.h: capture (camera or file), writer (mp4v / MJPG) and a
 * HighGUI window, converting between OpenCV's BGR 8-bit HWC Mat and dn_image (RGB float CHW).
 * Compiled only with OPENCV=1; no other file includes an OpenCV header. */
#include "io/video.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

extern "C" dn_status dn_error(dn_status s, const char *fmt, ...);

struct dn_video_in {
    cv::VideoCapture cap;
    cv::Mat frame; /* (h, w, 3) BGR 8-bit, reused */
    int camera;
};

struct dn_video_out {
    cv::VideoWriter wr;
    cv::Mat frame;
    int w, h;
    std::string path;
};

/* OpenCV's own log lines (backend probing, codec notes) would drown the one-line errors. */
static void quiet_opencv(void)
{
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
}

static dn_status mat_to_image(const cv::Mat &m, dn_image *im)
{
    dn_status st = dn_image_make(m.cols, m.rows, 3, im);
    if (st != DN_OK) return st;
    size_t plane = (size_t)m.cols * m.rows;
    const float k = 1.f / 255.f;
    for (int y = 0; y < m.rows; y++) {
        const unsigned char *p = m.ptr<unsigned char>(y);
        float *r = im->data + (size_t)y * m.cols, *g = r + plane, *b = g + plane;
        for (int x = 0; x < m.cols; x++) {
            b[x] = p[3 * x] * k;
            g[x] = p[3 * x + 1] * k;
            r[x] = p[3 * x + 2] * k;
        }
    }
    return DN_OK;
}

static unsigned char to_u8(float v)
{
    v = v * 255.f + .5f;
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void image_to_mat(const dn_image *im, cv::Mat &m)
{
    m.create(im->h, im->w, CV_8UC3);
    size_t plane = (size_t)im->w * im->h;
    for (int y = 0; y < im->h; y++) {
        unsigned char *p = m.ptr<unsigned char>(y);
        const float *r = im->data + (size_t)y * im->w;
        const float *g = im->c >= 3 ? r + plane : r, *b = im->c >= 3 ? r + 2 * plane : r;
        for (int x = 0; x < im->w; x++) {
            p[3 * x] = to_u8(b[x]);
            p[3 * x + 1] = to_u8(g[x]);
            p[3 * x + 2] = to_u8(r[x]);
        }
    }
}

static dn_status open_common(dn_video_in *v, const char *what, dn_video_in **out)
{
    if (!v->cap.isOpened()) {
        delete v;
        return dn_error(DN_ERR_IO, "%s", what);
    }
    *out = v;
    return DN_OK;
}

extern "C" dn_status dn_video_open_camera(int index, dn_video_in **out)
{
    *out = NULL;
    quiet_opencv();
    dn_video_in *v = new (std::nothrow) dn_video_in();
    if (!v) return dn_error(DN_ERR_NOMEM, "out of memory opening camera %d", index);
    v->camera = 1;
    char what[96];
    snprintf(what, sizeof what, "no camera at index %d (or it cannot be opened)", index);
    try {
        /* V4L2 directly: probing every backend (gphoto2, aravis) is slow and leaks in libusb */
        if (index >= 0) v->cap.open(index, cv::CAP_V4L2);
    } catch (const cv::Exception &) {
    }
    return open_common(v, what, out);
}

extern "C" dn_status dn_video_open_file(const char *path, dn_video_in **out)
{
    *out = NULL;
    quiet_opencv();
    FILE *f = fopen(path, "rb");
    int exists = f != NULL;
    if (f) fclose(f);
    dn_video_in *v = new (std::nothrow) dn_video_in();
    if (!v) return dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
    v->camera = 0;
    std::string what = std::string(path) + (exists || strchr(path, '%') ? ": cannot be decoded as a video" : ": no such file");
    try {
        /* FFmpeg for files, the image-sequence reader for patterns such as f_%02d.jpg */
        if (exists || strchr(path, '%')) v->cap.open(path, strchr(path, '%') && !exists ? cv::CAP_IMAGES : cv::CAP_FFMPEG);
    } catch (const cv::Exception &) {
    }
    return open_common(v, what.c_str(), out);
}

extern "C" int dn_video_read(dn_video_in *v, dn_image *im)
{
    try {
        if (!v->cap.read(v->frame) || v->frame.empty()) return 0;
    } catch (const cv::Exception &) {
        return 0;
    }
    if (v->frame.type() != CV_8UC3) {
        cv::Mat c;
        if (v->frame.channels() == 1) cv::cvtColor(v->frame, c, cv::COLOR_GRAY2BGR);
        else if (v->frame.channels() == 4) cv::cvtColor(v->frame, c, cv::COLOR_BGRA2BGR);
        else return 0;
        v->frame = c;
    }
    return mat_to_image(v->frame, im) == DN_OK;
}

extern "C" int dn_video_width(const dn_video_in *v) { return (int)v->cap.get(cv::CAP_PROP_FRAME_WIDTH); }
extern "C" int dn_video_height(const dn_video_in *v) { return (int)v->cap.get(cv::CAP_PROP_FRAME_HEIGHT); }
extern "C" double dn_video_fps(const dn_video_in *v)
{
    double f = v->cap.get(cv::CAP_PROP_FPS);
    return f > 0 && f < 1000 ? f : 0;
}
extern "C" long dn_video_frame_count(const dn_video_in *v)
{
    if (v->camera) return -1;
    double n = v->cap.get(cv::CAP_PROP_FRAME_COUNT);
    return n > 0 ? (long)n : -1;
}
extern "C" void dn_video_close(dn_video_in *v) { delete v; }

extern "C" dn_status dn_video_writer_open(const char *path, int w, int h, double fps, dn_video_out **out)
{
    *out = NULL;
    quiet_opencv();
    size_t n = strlen(path);
    int fourcc;
    if (n > 4 && !strcmp(path + n - 4, ".mp4")) fourcc = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    else if (n > 4 && !strcmp(path + n - 4, ".avi")) fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    else return dn_error(DN_ERR_ARG, "%s: the output video must end in .mp4 or .avi", path);
    /* a clear reason for the common failure (missing folder, no permission) */
    FILE *f = fopen(path, "rb");
    int existed = f != NULL;
    if (f) fclose(f);
    f = fopen(path, "ab");
    if (!f) return dn_error(DN_ERR_IO, "%s: cannot be written", path);
    fclose(f);
    dn_video_out *o = new (std::nothrow) dn_video_out();
    if (!o) return dn_error(DN_ERR_NOMEM, "%s: out of memory", path);
    o->w = w, o->h = h, o->path = path;
    try {
        o->wr.open(path, cv::CAP_FFMPEG, fourcc, fps > 0 ? fps : 25, cv::Size(w, h), true);
        if (!o->wr.isOpened()) o->wr.open(path, fourcc, fps > 0 ? fps : 25, cv::Size(w, h), true);
    } catch (const cv::Exception &) {
    }
    if (!o->wr.isOpened()) {
        delete o;
        if (!existed) remove(path);
        return dn_error(DN_ERR_IO, "%s: cannot open a video writer (codec unavailable?)", path);
    }
    *out = o;
    return DN_OK;
}

extern "C" dn_status dn_video_write(dn_video_out *o, const dn_image *im)
{
    image_to_mat(im, o->frame);
    try {
        if (im->w != o->w || im->h != o->h) {
            cv::Mat r;
            cv::resize(o->frame, r, cv::Size(o->w, o->h));
            o->wr.write(r);
        } else {
            o->wr.write(o->frame);
        }
    } catch (const cv::Exception &e) {
        return dn_error(DN_ERR_IO, "%s: writing a frame failed: %s", o->path.c_str(), e.what());
    }
    return DN_OK;
}

extern "C" void dn_video_writer_close(dn_video_out *o)
{
    if (!o) return;
    o->wr.release();
    delete o;
}

static int key_or_closed(const char *name, int key)
{
    try {
        if (cv::getWindowProperty(name, cv::WND_PROP_VISIBLE) < 1) return -2;
    } catch (const cv::Exception &) {
        return -2;
    }
    return key < 0 ? -1 : key & 0xff;
}

extern "C" int dn_window_show(const char *name, const dn_image *im, int delay_ms)
{
    cv::Mat m;
    image_to_mat(im, m);
    try {
        cv::imshow(name, m);
        int key = cv::waitKey(delay_ms < 1 ? 1 : delay_ms);
        return key_or_closed(name, key);
    } catch (const cv::Exception &) {
        return -2;
    }
}

extern "C" int dn_window_wait(const char *name, int delay_ms)
{
    try {
        int key = cv::waitKey(delay_ms < 1 ? 1 : delay_ms);
        return key_or_closed(name, key);
    } catch (const cv::Exception &) {
        return -2;
    }
}

extern "C" void dn_window_close(const char *name)
{
    try {
        cv::destroyWindow(name);
        cv::waitKey(1);
    } catch (const cv::Exception &) {
    }
}
