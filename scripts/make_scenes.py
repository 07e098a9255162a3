#!/usr/bin/env python3
"""make_scenes.py - multi-instance detection scenes composed from Fashion-MNIST garments.

    python3 scripts/make_scenes.py OUTDIR --seed S [--size 160] [--train 8000] [--valid 1000]
                                   [--test 1000] [--repeat 600] [--jobs J] [--src DIR]

Each scene is a SIZExSIZE RGB PNG: a smooth random tinted background with low-amplitude noise and
1-6 garments (side 24-64 px, bilinear-resized; tight boxes fully inside, pairwise IoU <= 0.3 and
no box more than half covered by another), each drawn in its own colour, chosen to contrast with
the background under it, with the garment's intensity as alpha. Darknet/YOLO layout:
OUTDIR/<split>/images/sNNNNN.png, OUTDIR/<split>/labels/sNNNNN.txt ("class xc yc w h", relative,
6 decimals), OUTDIR/<split>.list (absolute image paths), OUTDIR/<split>.sources (per scene the
Fashion-MNIST set and indices used, in label-line order), OUTDIR/names.list, OUTDIR/scenes.data.
Sources: train scenes use Fashion-MNIST train images 0-49999, valid 50000-59999, test and repeat
the t10k set. "repeat" scenes (the multiple-occurrence study) hold ONE class k times, k = 1..6
cycling with the scene index and the class cycling every 6 scenes.
Deterministic: scene i of a split depends only on (seed, split, i, size), never on --jobs or on
the split sizes. Idempotent: a finished split is recorded in OUTDIR/.<split>.done and skipped.
Pure Python: images are rows of bytes, and the bilinear resize works on whole rows at once by
packing a row into one big integer with a 16-bit lane per pixel (a scalar multiply then scales
every pixel; lanes never carry).
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402  (IDX reader, PNG writer, class names)

VERSION = "make_scenes 1"
SPLITS = ("train", "valid", "test", "repeat")
# split -> (Fashion-MNIST set, first index, end index)
SOURCES = {"train": ("train", 0, 50000), "valid": ("train", 50000, 60000),
           "test": ("t10k", 0, 10000), "repeat": ("t10k", 0, 10000)}
SIDE_MIN, SIDE_MAX = 24, 64
MAX_IOU = 0.3
MAX_COVER = 0.5      # and at most half of the smaller box under another box: nothing is hidden
MAX_INSTANCES = 6
NOISE_MAX = 5        # noise amplitude a: each channel gets +[0, 2a] on a base in [0, 255 - 2a]
COLOUR_STEP = 5      # instance colours are multiples of 5 (52 levels a channel)
MIN_CONTRAST = 150   # Euclidean RGB distance wanted between a garment and the background under it

LITTLE = sys.byteorder == "little"


# ---- row-wise bilinear resize ------------------------------------------------------------------
_round_consts = {}
_coeff_cache = {}


def _round_const(n):
    """0x0080 in each of n 16-bit lanes: +0.5 before dropping the low byte."""
    c = _round_consts.get(n)
    if c is None:
        c = _round_consts[n] = int.from_bytes(b"\x00\x80" * n, "big")
    return c


def _lanes(row):
    """bytes of n pixels -> an int with one 16-bit lane per pixel (big-endian, pixel 0 highest)."""
    buf = bytearray(2 * len(row))
    buf[1::2] = row
    return int.from_bytes(buf, "big")


def _coeffs(src, dst, align_corners):
    """Per destination index (i0, i1, f): sample = src[i0] * (256 - f) / 256 + src[i1] * f / 256."""
    key = (src, dst, align_corners)
    c = _coeff_cache.get(key)
    if c is None:
        c = []
        for d in range(dst):
            if align_corners:
                s = d * (src - 1) / (dst - 1) if dst > 1 else 0.0
            else:  # pixel centres line up: the usual image resize
                s = (d + 0.5) * src / dst - 0.5
            s = min(max(s, 0.0), src - 1.0)
            i0 = int(s)
            f = int(round((s - i0) * 256))
            i1 = min(i0 + 1, src - 1)
            if f >= 256:
                i0, f = i1, 0
            c.append((i0, i1, f))
        _coeff_cache[key] = c
    return c


def _lerp_rows(rows, n, coeffs):
    """rows: list of bytes (n pixels each); returns one interpolated row per coefficient."""
    lanes = {}
    rc = _round_const(n)
    nb = 2 * n
    out = []
    for i0, i1, f in coeffs:
        if f == 0:
            out.append(rows[i0])
            continue
        a = lanes.get(i0)
        if a is None:
            a = lanes[i0] = _lanes(rows[i0])
        b = lanes.get(i1)
        if b is None:
            b = lanes[i1] = _lanes(rows[i1])
        # each lane: a*(256-f) + b*f + 128 <= 255*256 + 128 < 65536, so no lane carries
        out.append((a * (256 - f) + b * f + rc).to_bytes(nb, "big")[0::2])
    return out


def resize(src, sw, sh, dw, dh, align_corners=False):
    """Bilinear resize of an 8-bit single-channel image (bytes, row-major sw x sh) to dw x dh.
    Returns the dh rows as a list of bytes. Horizontal pass on the transposed image, then a
    vertical pass; weights have 8 fractional bits."""
    cols = [bytes(src[x::sw]) for x in range(sw)]                    # sw columns of sh pixels
    hcols = _lerp_rows(cols, sh, _coeffs(sw, dw, align_corners))     # dw columns of sh pixels
    cat = b"".join(hcols)
    rows = [cat[y::sh] for y in range(sh)]                           # sh rows of dw pixels
    return _lerp_rows(rows, dw, _coeffs(sh, dh, align_corners))      # dh rows of dw pixels


# ---- compositing -------------------------------------------------------------------------------
_blend_tables = {}
_noise_tables = [bytes((v * (2 * a + 1)) >> 8 for v in range(256)) for a in range(NOISE_MAX + 1)]


def _blend_table(c):
    """65536 bytes: [alpha * 256 + bg] -> round((bg * (255 - alpha) + c * alpha) / 255)."""
    t = _blend_tables.get(c)
    if t is None:
        t = _blend_tables[c] = bytes([(b * (255 - a) + c * a + 127) // 255
                                      for a in range(256) for b in range(256)])
    return t


def _blend_row(plane, off, alpha, c):
    """plane[off:off+len(alpha)] = alpha-blend of colour value c over it."""
    n = len(alpha)
    buf = bytearray(2 * n)
    if LITTLE:  # native unsigned short = alpha * 256 + bg
        buf[0::2] = plane[off:off + n]
        buf[1::2] = alpha
    else:
        buf[1::2] = plane[off:off + n]
        buf[0::2] = alpha
    plane[off:off + n] = bytes(map(_blend_table(c).__getitem__, memoryview(buf).cast("H")))


def _row_extents(rows):
    """Per row (first, end) of its non-zero pixels, or None for an all-zero row."""
    ext = []
    for r in rows:
        s = r.lstrip(b"\x00")
        ext.append((len(r) - len(s), len(r.rstrip(b"\x00"))) if s else None)
    return ext


def _tight_box(ext):
    """Tight box (x0, y0, x1, y1), ends exclusive, of the non-zero pixels, or None."""
    ys = [y for y, e in enumerate(ext) if e]
    if not ys:
        return None
    return (min(ext[y][0] for y in ys), ys[0], max(ext[y][1] for y in ys), ys[-1] + 1)


def _compatible(b, p):
    ix = min(b[2], p[2]) - max(b[0], p[0])
    iy = min(b[3], p[3]) - max(b[1], p[1])
    if ix <= 0 or iy <= 0:
        return True
    inter = ix * iy
    ab = (b[2] - b[0]) * (b[3] - b[1])
    ap = (p[2] - p[0]) * (p[3] - p[1])
    return inter <= MAX_IOU * (ab + ap - inter) and inter <= MAX_COVER * min(ab, ap)


# ---- scenes ------------------------------------------------------------------------------------
G = {}  # per process: seed, size, data {set name: (images, labels, n, by_class)}


def _load(src_dir, sets):
    for s in sets:
        if s not in G["data"]:
            images, labels, n = fm.load_split(src_dir, s)
            by_class = [[] for _ in range(10)]
            for i in range(n):
                by_class[labels[i]].append(i)
            G["data"][s] = (images, labels, n, by_class)


def _init(seed, size, src_dir, sets):
    if G.get("seed") != seed or G.get("size") != size:
        G.clear()
        G.update(seed=seed, size=size, data={})
    _load(src_dir, sets)


def _background(rng, w, h):
    """Three planes (bytearray w*h): a tinted smooth random field plus low-amplitude noise."""
    amp = rng.randint(0, NOISE_MAX)
    top = 255 - 2 * amp
    base = [rng.randint(0, top) for _ in range(3)]
    spread = rng.randint(8, 90)          # luminance variation of the field
    tint = rng.randint(0, 40)            # per-channel variation (colour shifts across the field)
    gw, gh = rng.randint(2, 6), rng.randint(2, 6)
    grids = [bytearray(gw * gh) for _ in range(3)]
    for k in range(gw * gh):
        lum = rng.randint(-spread, spread)
        for ch in range(3):
            v = base[ch] + lum + rng.randint(-tint, tint)
            grids[ch][k] = 0 if v < 0 else top if v > top else v
    planes = []
    noise = rng.randbytes(3 * w * h).translate(_noise_tables[amp]) if amp else None
    for ch in range(3):
        p = b"".join(resize(grids[ch], gw, gh, w, h, True))
        if noise is not None:  # base <= 255 - 2a and noise <= 2a: byte lanes never carry
            p = (int.from_bytes(p, "big") +
                 int.from_bytes(noise[ch * w * h:(ch + 1) * w * h], "big")).to_bytes(w * h, "big")
        planes.append(bytearray(p))
    return planes


def _local_mean(planes, w, box):
    x0, y0, x1, y1 = box
    n = 0
    sums = [0, 0, 0]
    for y in range(y0, y1, 2):
        for ch in range(3):
            sums[ch] += sum(planes[ch][y * w + x0:y * w + x1])
        n += x1 - x0
    return [s / n for s in sums]


def _pick_colour(rng, mean):
    best, best_d = None, -1.0
    for _ in range(60):
        c = [COLOUR_STEP * rng.randrange(256 // COLOUR_STEP + 1) for _ in range(3)]
        d = sum((c[i] - mean[i]) ** 2 for i in range(3)) ** 0.5
        if d > best_d:
            best, best_d = c, d
        if d >= MIN_CONTRAST:
            break
    return best


def _place(rng, img, w, h, placed, tries):
    """Scales one 28x28 garment and finds a position for it. Returns (ox, oy, rows, ext, box)
    with box in image coordinates, or None."""
    smax = min(SIDE_MAX, w, h)
    smin = min(SIDE_MIN, smax)
    hi = smax
    for _ in range(tries):
        s = rng.randint(smin, hi)
        rows = resize(img, 28, 28, s, s)
        ext = _row_extents(rows)
        tb = _tight_box(ext)
        if tb is None:
            return None
        for _ in range(30):
            ox = rng.randint(-tb[0], w - tb[2])
            oy = rng.randint(-tb[1], h - tb[3])
            box = (ox + tb[0], oy + tb[1], ox + tb[2], oy + tb[3])
            if all(_compatible(box, p) for p in placed):
                return ox, oy, rows, ext, box
        hi = max(smin, s - 8)  # no room: try smaller
    return None


def _layout(rng, images, srcs, w, h, required):
    """Places the garments srcs; one that finds no room is left out, or when every garment is
    required the layout fails (None)."""
    placed = []
    insts = []
    for src in srcs:
        p = _place(rng, images[src * 784:(src + 1) * 784], w, h, placed, 16 if required else 8)
        if p is None:
            if required:
                return None
            continue
        placed.append(p[4])
        insts.append((src,) + p)
    return insts


def render(rng, images, labels, srcs, w, h, required, what):
    """Draws garments srcs (Fashion-MNIST indices) on a random background: returns (interleaved
    RGB bytes, YOLO label lines, placed instances (src, ox, oy, rows, ext, box))."""
    planes = _background(rng, w, h)
    for _ in range(50):  # repeat scenes need all k garments: start the layout again
        insts = _layout(rng, images, srcs, w, h, required)
        if insts is not None:
            break
    else:
        raise RuntimeError("%s: no room for %d garments in %dx%d" % (what, len(srcs), w, h))
    # larger garments first, so that a smaller one is never drawn under a larger one
    insts.sort(key=lambda t: -(t[5][2] - t[5][0]) * (t[5][3] - t[5][1]))
    lines = []
    for src, ox, oy, rows, ext, box in insts:
        colour = _pick_colour(rng, _local_mean(planes, w, box))
        for y, e in enumerate(ext):
            if e is None:
                continue
            off = (oy + y) * w + ox + e[0]
            alpha = rows[y][e[0]:e[1]]
            for ch in range(3):
                _blend_row(planes[ch], off, alpha, colour[ch])
        x0, y0, x1, y1 = box
        lines.append("%d %.6f %.6f %.6f %.6f\n" % (labels[src], (x0 + x1) / 2 / w,
                                                   (y0 + y1) / 2 / h, (x1 - x0) / w,
                                                   (y1 - y0) / h))
    rgb = bytearray(3 * w * h)
    for ch in range(3):
        rgb[ch::3] = planes[ch]
    return rgb, "".join(lines), insts


def make_scene(split, i):
    """Renders scene i of a split. Returns (png bytes, label text, sources line)."""
    size = G["size"]
    w = h = size
    rng = random.Random("%d:%s:%d" % (G["seed"], split, i))
    set_name, lo, end = SOURCES[split]
    images, labels, _, by_class = G["data"][set_name]
    if split == "repeat":
        cls, k = (i // MAX_INSTANCES) % 10, i % MAX_INSTANCES + 1
        srcs = rng.sample(by_class[cls], k)
    else:
        srcs = rng.sample(range(lo, end), rng.randint(1, MAX_INSTANCES))
    rgb, lines, insts = render(rng, images, labels, srcs, w, h, split == "repeat", "%s scene %d" % (split, i))
    sources = "s%05d %s %s\n" % (i, set_name, " ".join(str(t[0]) for t in insts))
    return fm.png_bytes(w, h, 3, rgb, 3, up=True), lines, sources


def _write_scene(job):
    split, i, outdir = job
    png, label, sources = make_scene(split, i)
    d = os.path.join(outdir, split)
    fm.write_atomic(os.path.join(d, "labels", "s%05d.txt" % i), label.encode())
    fm.write_atomic(os.path.join(d, "images", "s%05d.png" % i), png)
    return sources


def make_tile(i):
    """Tile i of the backbone-pretraining set: ONE train-split garment (Fashion-MNIST train
    0-49999, the train scenes' sources) drawn as in the scenes on a TILExTILE background.
    Returns (png bytes, class name)."""
    t = G["size"]
    rng = random.Random("%d:tile:%d" % (G["seed"], i))
    images, labels, _, _ = G["data"]["train"]
    src = rng.randrange(*SOURCES["train"][1:])
    rgb, _, _ = render(rng, images, labels, [src], t, t, True, "tile %d" % i)
    return fm.png_bytes(t, t, 3, rgb, 3, up=True), fm.NAMES[labels[src]]


def _write_tile(job):
    i, outdir = job
    png, name = make_tile(i)
    path = os.path.join(outdir, "tiles", "%05d_%s.png" % (i, name))
    fm.write_atomic(path, png)
    return path


def run_tiles(outdir, n, seed, tile, jobs, src):
    """Writes OUTDIR/tiles/NNNNN_<class>.png, tiles.list, tiles_labels.list and tiles.data: a
    Darknet classifier set (the class is the name in the path) for pretraining a backbone."""
    stamp = os.path.join(outdir, ".tiles.done")
    stamp_text = "%s seed=%d tile=%d count=%d\n" % (VERSION, seed, tile, n)
    try:
        if open(stamp).read() == stamp_text:
            print("make_scenes: tiles: %d tiles already complete; skipped" % n)
            return
    except OSError:
        pass
    os.makedirs(os.path.join(outdir, "tiles"), exist_ok=True)
    _init(seed, tile, src, ["train"])
    pool = None
    if jobs > 1 and n > 32:
        import multiprocessing
        pool = multiprocessing.Pool(jobs, _init, (seed, tile, src, ["train"]))
    try:
        work = [(i, outdir) for i in range(n)]
        paths = []
        t0 = last = time.time()
        for i, p in enumerate(pool.imap(_write_tile, work, chunksize=64) if pool else map(_write_tile, work)):
            paths.append(p)
            now = time.time()
            if now - last >= 2.0 or i + 1 == n:
                last = now
                rate = (i + 1) / (now - t0) if now > t0 else 0.0
                print("make_scenes: tiles %d/%d, %.1f tiles/s, ETA %.0f s"
                      % (i + 1, n, rate, (n - i - 1) / rate if rate > 0 else 0.0), flush=True)
    finally:
        if pool:
            pool.close()
            pool.join()
    fm.write_atomic(os.path.join(outdir, "tiles.list"), "".join(p + "\n" for p in paths).encode())
    fm.write_atomic(os.path.join(outdir, "tiles_labels.list"),
                    "".join(label + "\n" for label in fm.LABELS).encode())
    fm.write_atomic(os.path.join(outdir, "tiles.data"), (
        "classes=10\ntrain=%s\nlabels=%s\nnames=%s\nbackup=%s/\ntop=2\n" % (
            os.path.join(outdir, "tiles.list"), os.path.join(outdir, "tiles_labels.list"),
            os.path.join(outdir, "names.list"), os.path.join(outdir, "backup"))).encode())
    fm.write_atomic(stamp, stamp_text.encode())


# ---- driver ------------------------------------------------------------------------------------
def _split_complete(outdir, split, stamp_text):
    stamp = os.path.join(outdir, ".%s.done" % split)
    try:
        if open(stamp).read() != stamp_text:
            return False
        paths = open(os.path.join(outdir, split + ".list")).read().split()
    except OSError:
        return False
    n = int(stamp_text.split("count=")[1])
    if len(paths) != n or not os.path.exists(os.path.join(outdir, split + ".sources")):
        return False
    for p in paths:
        lab = os.path.join(os.path.dirname(os.path.dirname(p)), "labels",
                           os.path.basename(p)[:-4] + ".txt")
        if not (os.path.exists(p) and os.path.exists(lab)):
            return False
    return True


def _remove_stale(outdir, split, n):
    """Removes scenes numbered n and above left by an earlier, larger run."""
    for sub, ext in (("images", ".png"), ("labels", ".txt")):
        d = os.path.join(outdir, split, sub)
        for name in os.listdir(d):
            stem = name[:-len(ext)] if name.endswith(ext) else name
            if (name.endswith(".tmp") or
                    (stem.startswith("s") and stem[1:].isdigit() and int(stem[1:]) >= n)):
                os.remove(os.path.join(d, name))


def _stamp_text(args, n):
    return "%s seed=%d size=%d count=%d\n" % (VERSION, args.seed, args.size, n)


def run_split(outdir, split, n, args, pool):
    """(Re)generates every scene of one split, then its lists and its .done stamp."""
    stamp_text = _stamp_text(args, n)
    stamp = os.path.join(outdir, ".%s.done" % split)
    if os.path.exists(stamp):
        os.remove(stamp)
    for sub in ("images", "labels"):
        os.makedirs(os.path.join(outdir, split, sub), exist_ok=True)
    _remove_stale(outdir, split, n)
    jobs = [(split, i, outdir) for i in range(n)]
    results = pool.imap(_write_scene, jobs, chunksize=8) if pool else map(_write_scene, jobs)
    sources = []
    t0 = last = time.time()
    for i, s in enumerate(results):
        sources.append(s)
        now = time.time()
        if now - last >= 2.0 or i + 1 == n:
            last = now
            rate = (i + 1) / (now - t0) if now > t0 else 0.0
            eta = (n - i - 1) / rate if rate > 0 else 0.0
            print("make_scenes: %s %d/%d scenes, %.1f scenes/s, ETA %.0f s"
                  % (split, i + 1, n, rate, eta), flush=True)
    fm.write_atomic(os.path.join(outdir, split + ".sources"), "".join(sources).encode())
    lst = "".join(os.path.join(outdir, split, "images", "s%05d.png\n" % i) for i in range(n))
    fm.write_atomic(os.path.join(outdir, split + ".list"), lst.encode())
    fm.write_atomic(stamp, stamp_text.encode())


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fashion-MNIST multi-instance detection scenes")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--size", type=int, default=160, help="scene width and height")
    ap.add_argument("--train", type=int, default=8000)
    ap.add_argument("--valid", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (output does not depend on it)")
    ap.add_argument("--src", default=fm.SRC_DIR, help="folder of the IDX .gz files")
    ap.add_argument("--tiles", type=int, default=0,
                    help="also write N single-garment tiles for pretraining a backbone")
    ap.add_argument("--tile-size", type=int, default=48)
    args = ap.parse_args(argv)
    if args.size < 64:
        ap.error("--size must be >= 64")
    counts = {s: getattr(args, s) for s in SPLITS}
    if any(c < 0 or c > 99999 for c in counts.values()):
        ap.error("scene counts must be in 0..99999")
    outdir = os.path.abspath(args.outdir)
    os.makedirs(outdir, exist_ok=True)
    os.makedirs(os.path.join(outdir, "backup"), exist_ok=True)
    with open(os.path.join(outdir, "names.list"), "w") as f:
        f.write("".join(n + "\n" for n in fm.NAMES))
    with open(os.path.join(outdir, "scenes.data"), "w") as f:
        f.write("classes=10\n")
        f.write("train=%s\n" % os.path.join(outdir, "train.list"))
        f.write("valid=%s\n" % os.path.join(outdir, "valid.list"))
        f.write("test=%s\n" % os.path.join(outdir, "test.list"))
        f.write("names=%s\n" % os.path.join(outdir, "names.list"))
        f.write("backup=%s/\n" % os.path.join(outdir, "backup"))

    t0 = time.time()
    todo = []
    for s in SPLITS:
        if _split_complete(outdir, s, _stamp_text(args, counts[s])):
            print("make_scenes: %s: %d scenes already complete; skipped" % (s, counts[s]))
        else:
            todo.append(s)
    sets = sorted({SOURCES[s][0] for s in todo if counts[s]})
    _init(args.seed, args.size, args.src, sets)
    pool = None
    if args.jobs > 1 and sum(counts[s] for s in todo) > 32:
        import multiprocessing
        pool = multiprocessing.Pool(args.jobs, _init, (args.seed, args.size, args.src, sets))
    try:
        for s in todo:
            run_split(outdir, s, counts[s], args, pool)
    finally:
        if pool:
            pool.close()
            pool.join()
    if args.tiles:
        run_tiles(outdir, args.tiles, args.seed, args.tile_size, args.jobs, args.src)
    print("make_scenes: done in %.1f s: %s" % (time.time() - t0,
                                               os.path.join(outdir, "scenes.data")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
