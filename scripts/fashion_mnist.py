#!/usr/bin/env python3
"""fashion_mnist.py - converts Debian's Fashion-MNIST (IDX files) to Darknet's classifier layout.

    python3 scripts/fashion_mnist.py OUTDIR [--limit N] [--src DIR]

Writes OUTDIR/{train,test}/NNNNN_<label>.png (28x28 8-bit grayscale, pixel values exactly as
stored), OUTDIR/{train,test}.list (absolute paths), OUTDIR/labels.list (the substrings Darknet's
fill_truth() finds with strstr() in each path), OUTDIR/names.list (display names, same order) and
OUTDIR/fashion.data. Standard library only; deterministic; idempotent (a finished conversion is
recorded in OUTDIR/.fashion_mnist.done and skipped, an interrupted one resumes). make_scenes.py
imports the IDX reader and the PNG writer from here.
"""
import argparse
import gzip
import os
import struct
import sys
import time
import zlib

SRC_DIR = "/usr/share/datasets/fashion-mnist"
# Display names in Fashion-MNIST's class order (0 T-shirt/top ... 9 Ankle boot).
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "boot"]
# What Darknet matches in a path: "_<name>.png". "_shirt.png" is not a substring of "_tshirt.png"
# (the character before "shirt" is "t", not "_"); check_labels() verifies every pair.
LABELS = ["_%s.png" % n for n in NAMES]
SPLITS = (("train", "train"), ("test", "t10k"))  # (our split name, IDX file prefix)
VERSION = "fashion_mnist 1"


def load_idx(path):
    """Reads a gzipped IDX file. Returns (dims, data bytes): images are (n, rows, cols), labels (n,)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    nd = raw[3]
    dims = struct.unpack(">%dI" % nd, raw[4:4 + 4 * nd])
    data = raw[4 + 4 * nd:]
    want = 1
    for d in dims:
        want *= d
    if len(data) != want:
        raise ValueError("%s: %d data bytes, header says %d" % (path, len(data), want))
    return dims, data


def load_split(src_dir, prefix):
    """Returns (images bytes n*784, labels bytes n, n) of one IDX split ('train' or 't10k')."""
    idims, images = load_idx(os.path.join(src_dir, "%s-images-idx3-ubyte.gz" % prefix))
    ldims, labels = load_idx(os.path.join(src_dir, "%s-labels-idx1-ubyte.gz" % prefix))
    if len(idims) != 3 or idims[1:] != (28, 28) or len(ldims) != 1 or ldims[0] != idims[0]:
        raise ValueError("%s: unexpected IDX shapes %s / %s" % (prefix, idims, ldims))
    if max(labels) > 9:
        raise ValueError("%s: label out of range" % prefix)
    return images, labels, idims[0]


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _up_rows(rows):
    """PNG filter 2 (Up): each row minus the row above, bytewise mod 256. The rows are packed into
    big integers with a 16-bit lane per byte, so one subtraction handles a whole row (each lane
    holds 256 + cur - above, which never borrows from its neighbour)."""
    n = len(rows[0])
    k = int.from_bytes(b"\x01\x00" * n, "big")
    out = [rows[0]]
    prev = None
    for r in rows:
        buf = bytearray(2 * n)
        buf[1::2] = r
        cur = int.from_bytes(buf, "big")
        if prev is not None:
            out.append((cur + k - prev).to_bytes(2 * n, "big")[1::2])
        prev = cur
    return out


def png_bytes(width, height, channels, pixels, level=6, up=False):
    """Encodes 8-bit gray (channels 1) or RGB (channels 3) pixels, row-major and interleaved, as a
    PNG: every row with filter 0 (None), or with up=True filter 2 (Up, smaller for smooth images).
    Deterministic for a given zlib."""
    stride = width * channels
    if len(pixels) != stride * height:
        raise ValueError("png_bytes: %d bytes for %dx%dx%d" % (len(pixels), width, height, channels))
    rows = [bytes(pixels[y * stride:(y + 1) * stride]) for y in range(height)]
    if up and height > 1:
        ft = b"\x02"
        rows = _up_rows(rows)
        raw = b"\x00" + rows[0] + ft + ft.join(rows[1:])
    else:
        raw = b"\x00" + b"\x00".join(rows)
    colour_type = 0 if channels == 1 else 2
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) +
            _chunk(b"IDAT", zlib.compress(raw, level)) + _chunk(b"IEND", b""))


def write_atomic(path, data):
    """Writes data to path through a temporary file and a rename, so that path is never partial."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def check_labels(outdir):
    """Exits with a message unless every image path under outdir matches exactly one label."""
    for i, a in enumerate(LABELS):
        for j, b in enumerate(LABELS):
            if i != j and a in b:
                sys.exit("fashion_mnist: label %r is a substring of %r" % (a, b))
        if a in outdir + "/":
            sys.exit("fashion_mnist: OUTDIR %s contains the label string %r; choose another "
                     "folder" % (outdir, a))
    for split, _ in SPLITS:
        for k, lab in enumerate(LABELS):
            path = os.path.join(outdir, split, "00000" + lab)
            hits = [i for i, lb in enumerate(LABELS) if lb in path]
            if hits != [k]:
                sys.exit("fashion_mnist: path %s matches labels %s" % (path, hits))


def write_meta(outdir, lists):
    with open(os.path.join(outdir, "labels.list"), "w") as f:
        f.write("".join(lb + "\n" for lb in LABELS))
    with open(os.path.join(outdir, "names.list"), "w") as f:
        f.write("".join(n + "\n" for n in NAMES))
    os.makedirs(os.path.join(outdir, "backup"), exist_ok=True)
    with open(os.path.join(outdir, "fashion.data"), "w") as f:
        f.write("classes=10\n")
        f.write("train=%s\n" % lists["train"])
        f.write("valid=%s\n" % lists["test"])
        f.write("labels=%s\n" % os.path.join(outdir, "labels.list"))
        f.write("names=%s\n" % os.path.join(outdir, "names.list"))
        f.write("backup=%s/\n" % os.path.join(outdir, "backup"))
        f.write("top=1\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fashion-MNIST to Darknet's classifier layout")
    ap.add_argument("outdir")
    ap.add_argument("--limit", type=int, default=0, help="convert only the first N of each split")
    ap.add_argument("--src", default=SRC_DIR, help="folder of the IDX .gz files (%(default)s)")
    args = ap.parse_args(argv)
    if args.limit < 0:
        ap.error("--limit must be >= 0")
    outdir = os.path.abspath(args.outdir)
    check_labels(outdir)
    os.makedirs(outdir, exist_ok=True)
    stamp = os.path.join(outdir, ".fashion_mnist.done")
    want_stamp = "%s limit=%d\n" % (VERSION, args.limit)
    lists = {s: os.path.join(outdir, s + ".list") for s, _ in SPLITS}

    if os.path.exists(stamp) and open(stamp).read() == want_stamp:
        complete = True
        for s in lists.values():
            try:
                paths = open(s).read().split()
            except OSError:
                complete = False
                break
            if not paths or not all(os.path.exists(p) for p in paths):
                complete = False
                break
        if complete:
            write_meta(outdir, lists)
            print("fashion_mnist: %s is already complete (limit %d); nothing to do"
                  % (outdir, args.limit))
            return 0
    if os.path.exists(stamp):
        os.remove(stamp)

    for split, prefix in SPLITS:
        images, labels, n = load_split(args.src, prefix)
        if args.limit:
            n = min(n, args.limit)
        d = os.path.join(outdir, split)
        os.makedirs(d, exist_ok=True)
        paths = []
        t0 = time.time()
        written = 0
        for i in range(n):
            p = os.path.join(d, "%05d%s" % (i, LABELS[labels[i]]))
            paths.append(p)
            if not os.path.exists(p):  # resume: files are written atomically
                write_atomic(p, png_bytes(28, 28, 1, images[i * 784:(i + 1) * 784], 9))
                written += 1
            if (i + 1) % 5000 == 0 or i + 1 == n:
                dt = time.time() - t0
                rate = (i + 1) / dt if dt > 0 else 0.0
                eta = (n - i - 1) / rate if rate > 0 else 0.0
                print("fashion_mnist: %s %d/%d (%d written) %.0f img/s, ETA %.0f s"
                      % (split, i + 1, n, written, rate, eta), flush=True)
        keep = set(os.path.basename(p) for p in paths)
        for name in os.listdir(d):  # left by an earlier run with a larger --limit, or interrupted
            if name not in keep:
                os.remove(os.path.join(d, name))
        write_atomic(lists[split], "".join(p + "\n" for p in paths).encode())
    write_meta(outdir, lists)
    write_atomic(stamp, want_stamp.encode())
    print("fashion_mnist: done: %s" % os.path.join(outdir, "fashion.data"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
