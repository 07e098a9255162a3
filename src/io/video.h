/* video.h - video capture, video writing and an on-screen window for the demo commands.
 * The only OpenCV user: src/io/video.cpp implements this C interface (compiled with OPENCV=1,
 * which also defines DN_OPENCV). Frames are dn_images, RGB float CHW in [0,1]. Handles are
 * opaque; each is used by one thread at a time. The window calls belong to one thread (the
 * main thread, for GUI toolkits that require it). Errors are recorded for dn_last_error(). */
#ifndef DN_VIDEO_H
#define DN_VIDEO_H

#include "darknet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dn_video_in dn_video_in;
typedef struct dn_video_out dn_video_out;

/* Opens camera `index`. DN_ERR_IO ("no camera at index N") when it cannot be opened. */
dn_status dn_video_open_camera(int index, dn_video_in **out);
/* Opens a video file (or an image sequence pattern such as "f_%02d.jpg"). DN_ERR_IO names the
 * file when it is missing or cannot be decoded. */
dn_status dn_video_open_file(const char *path, dn_video_in **out);
/* Reads the next frame into *im (allocated, caller frees; previous content is not freed).
 * Returns 1 for a frame, 0 at the end of the stream (or on a camera read failure). */
int dn_video_read(dn_video_in *v, dn_image *im);
int dn_video_width(const dn_video_in *v);
int dn_video_height(const dn_video_in *v);
/* Frames per second as the container reports it (0 when unknown, e.g. some cameras). */
double dn_video_fps(const dn_video_in *v);
/* Frame count as the container reports it (-1 when unknown: cameras, some streams). */
long dn_video_frame_count(const dn_video_in *v);
void dn_video_close(dn_video_in *v); /* accepts NULL */

/* Opens a writer: ".mp4" -> MPEG-4 part 2 (mp4v), ".avi" -> Motion JPEG; other extensions are
 * DN_ERR_ARG. DN_ERR_IO when the file cannot be created or the codec is unavailable. */
dn_status dn_video_writer_open(const char *path, int w, int h, double fps, dn_video_out **out);
/* Appends one frame (resized to the writer's size when it differs). */
dn_status dn_video_write(dn_video_out *o, const dn_image *im);
/* Finishes the file (writes the index/trailer) and frees the handle; accepts NULL. */
void dn_video_writer_close(dn_video_out *o);

/* Shows im in window `name` (created on first use) and waits up to delay_ms (>= 1) for a key.
 * Returns the key code (low 8 bits, e.g. 'q', 27 for Esc), -1 when no key was pressed, and -2
 * when the user closed the window. */
int dn_window_show(const char *name, const dn_image *im, int delay_ms);
/* Pumps the window's events for delay_ms without redrawing; same return values. */
int dn_window_wait(const char *name, int delay_ms);
void dn_window_close(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* DN_VIDEO_H */
