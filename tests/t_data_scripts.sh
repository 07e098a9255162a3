#!/usr/bin/env bash
# t_data_scripts.sh - checks the dataset scripts on small counts: scripts/fashion_mnist.py (Darknet
# classifier layout: file counts, PNG headers and pixels against the IDX bytes, one label match per
# path, idempotence) and scripts/make_scenes.py (file counts, PNGs, label lines, IoU limit,
# byte-identical output for a seed and for any --jobs, different seeds differ, disjoint source
# garments between train and valid, repeat scenes with one class k times, idempotence).
# Skips when Debian's dataset-fashion-mnist is not installed.
source "$(dirname "$0")/lib.sh"
FM=/usr/share/datasets/fashion-mnist

have_fm=1
for f in train-images-idx3 train-labels-idx1 t10k-images-idx3 t10k-labels-idx1; do
    [ -f "$FM/$f-ubyte.gz" ] || have_fm=0
done
if [ "$have_fm" -eq 0 ] || ! command -v python3 >/dev/null; then
    why="$FM is absent (apt-get install dataset-fashion-mnist)"
    command -v python3 >/dev/null || why="python3 is absent"
    sk fashion_mnist "$why"; sk make_scenes "$why"
    finish
fi

T=$tmp
start=$SECONDS

# check NAME CMD...: ok when CMD exits 0, else FAIL with the last line CMD printed.
check() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(printf '%s\n' "$out" | tail -n 1)"; fi
}
# sums DIR: one checksum line per file under DIR (to see that a rerun changed nothing)
sums() { (cd "$1" && find . -type f ! -name '*.tmp' | LC_ALL=C sort | xargs cksum); }

# ---- the Python side of the checks: python3 $T/chk.py WHAT ARGS -------------------------------
cat > "$T/chk.py" <<'EOF'
import gzip, os, struct, sys, zlib
FM = "/usr/share/datasets/fashion-mnist"
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]

def die(msg):
    print(msg); sys.exit(1)

def idx(name):
    raw = gzip.open(os.path.join(FM, name)).read()
    nd = raw[3]
    return raw[4 + 4 * nd:]

def png(path, want_w, want_h, want_ct):
    """Checks signature, chunk CRCs, IHDR, zlib stream, row filters; returns unfiltered pixels."""
    d = open(path, "rb").read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        die("%s: not a PNG signature" % path)
    pos, idat, ihdr, end = 8, b"", None, False
    while pos < len(d) and not end:
        if pos + 12 > len(d) or pos + 12 + struct.unpack(">I", d[pos:pos + 4])[0] > len(d):
            die("%s: truncated chunk at byte %d" % (path, pos))
        n, = struct.unpack(">I", d[pos:pos + 4])
        kind, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
        if struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])[0] != zlib.crc32(kind + body):
            die("%s: bad CRC in %r" % (path, kind))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            end = True
        pos += 12 + n
    if ihdr is None or not end or pos != len(d):
        die("%s: missing IHDR or IEND, or bytes after IEND" % path)
    w, h, depth, ct, _, _, lace = ihdr
    if (w, h, depth, ct, lace) != (want_w, want_h, 8, want_ct, 0):
        die("%s: IHDR %dx%d depth %d colour type %d interlace %d" % (path, w, h, depth, ct, lace))
    bpp = 1 if ct == 0 else 3
    st = w * bpp
    raw = zlib.decompress(idat)
    if len(raw) != h * (st + 1):
        die("%s: %d bytes of image data for %dx%d" % (path, len(raw), w, h))
    out, prev = bytearray(), bytearray(st)
    for y in range(h):
        f = raw[y * (st + 1)]
        r = bytearray(raw[y * (st + 1) + 1:(y + 1) * (st + 1)])
        if f == 2:
            r = bytearray((a + b) & 255 for a, b in zip(r, prev))
        elif f != 0:
            die("%s: row filter %d (the scripts write 0 and 2)" % (path, f))
        out += r
        prev = r
    return bytes(out)

def fm_check(out, n):
    labels_list = open(os.path.join(out, "labels.list")).read().split("\n")[:-1]
    names = open(os.path.join(out, "names.list")).read().split()
    if names != NAMES:
        die("names.list is %s" % names)
    if len(labels_list) != 10:
        die("labels.list has %d lines" % len(labels_list))
    for a in labels_list:
        if a in out + "/":
            die("label %r occurs in OUTDIR" % a)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        pix = idx(prefix + "-images-idx3-ubyte.gz")
        lab = idx(prefix + "-labels-idx1-ubyte.gz")
        paths = open(os.path.join(out, split + ".list")).read().split("\n")[:-1]
        if len(paths) != n:
            die("%s.list has %d lines, want %d" % (split, len(paths), n))
        files = sorted(os.listdir(os.path.join(out, split)))
        if len(files) != n:
            die("%s/ has %d files, want %d" % (split, len(files), n))
        for i, p in enumerate(paths):
            if not os.path.isabs(p) or not os.path.isfile(p):
                die("%s: not an absolute path to a file" % p)
            if not os.path.basename(p).startswith("%05d_" % i):
                die("%s: line %d is not image %05d" % (p, i + 1, i))
            hits = [k for k, a in enumerate(labels_list) if a in p]
            if hits != [lab[i]]:
                die("%s: matches labels %s, true class %d" % (p, hits, lab[i]))
            if png(p, 28, 28, 0) != pix[i * 784:(i + 1) * 784]:
                die("%s: pixels differ from the IDX file" % p)
    data = dict(l.split("=", 1) for l in open(os.path.join(out, "fashion.data")).read().split())
    want = {"classes": "10", "top": "1", "train": out + "/train.list", "valid": out + "/test.list",
            "labels": out + "/labels.list", "names": out + "/names.list", "backup": out + "/backup/"}
    if data != want:
        die("fashion.data is %s" % data)

COUNTS = {}
def scene_files(out):
    for split, n in COUNTS.items():
        imgs = sorted(os.listdir(os.path.join(out, split, "images")))
        labs = sorted(os.listdir(os.path.join(out, split, "labels")))
        want = ["s%05d" % i for i in range(n)]
        if imgs != [s + ".png" for s in want] or labs != [s + ".txt" for s in want]:
            die("%s: %d images and %d labels, want %d of each" % (split, len(imgs), len(labs), n))
        lst = open(os.path.join(out, split + ".list")).read().split("\n")[:-1]
        if lst != [os.path.join(out, split, "images", s + ".png") for s in want]:
            die("%s.list does not list the %d images by absolute path" % (split, n))
        yield split, n

def iou(a, b):
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    i = ix * iy
    return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)

def scenes_check(out, size):
    lab = {"train": idx("train-labels-idx1-ubyte.gz"), "t10k": idx("t10k-labels-idx1-ubyte.gz")}
    used = {}
    for split, n in scene_files(out):
        srcs = open(os.path.join(out, split + ".sources")).read().split("\n")[:-1]
        if len(srcs) != n:
            die("%s.sources has %d lines, want %d" % (split, len(srcs), n))
        used[split] = set()
        for i in range(n):
            p = os.path.join(out, split, "images", "s%05d.png" % i)
            if i < 3:
                png(p, size, size, 2)        # full decode of a few
            else:
                d = open(p, "rb").read(33)   # header of the rest
                if d[:8] != b"\x89PNG\r\n\x1a\n" or struct.unpack(">IIBB", d[16:26]) != (size, size, 8, 2):
                    die("%s: not a %dx%d 8-bit RGB PNG" % (p, size, size))
            lines = open(os.path.join(out, split, "labels", "s%05d.txt" % i)).read().split("\n")[:-1]
            sf = srcs[i].split()
            if sf[0] != "s%05d" % i or sf[1] not in lab or len(sf) - 2 != len(lines):
                die("%s.sources line %d: %r for %d label lines" % (split, i + 1, srcs[i], len(lines)))
            if not 1 <= len(lines) <= 6:
                die("%s s%05d: %d garments" % (split, i, len(lines)))
            boxes, classes = [], []
            for k, line in enumerate(lines):
                f = line.split()
                if len(f) != 5 or not f[0].isdigit() or any(len(x.split(".")[-1]) != 6 for x in f[1:]):
                    die("%s s%05d: bad label line %r" % (split, i, line))
                c, x, y, w, h = int(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[4])
                e = 1e-6
                if not (0 <= c <= 9 and 0 < w <= 1 and 0 < h <= 1 and x - w / 2 >= -e and
                        y - h / 2 >= -e and x + w / 2 <= 1 + e and y + h / 2 <= 1 + e):
                    die("%s s%05d: label %r is out of range" % (split, i, line))
                if w * size > 64.001 or h * size > 64.001:
                    die("%s s%05d: box %r is larger than a 64 px garment" % (split, i, line))
                src = int(sf[2 + k])
                if lab[sf[1]][src] != c:
                    die("%s s%05d: class %d but source %s %d is class %d"
                        % (split, i, c, sf[1], src, lab[sf[1]][src]))
                used[split].add((sf[1], src))
                boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
                classes.append(c)
            for a in range(len(boxes)):
                for b in range(a):
                    if iou(boxes[a], boxes[b]) > 0.3 + 1e-3:
                        die("%s s%05d: boxes %d and %d have IoU %.3f" % (split, i, a, b, iou(boxes[a], boxes[b])))
            if split == "repeat":
                if len(lines) != i % 6 + 1 or set(classes) != {(i // 6) % 10}:
                    die("repeat s%05d: classes %s, want class %d %d times"
                        % (i, classes, (i // 6) % 10, i % 6 + 1))
                if len(set(sf[2:])) != len(lines):
                    die("repeat s%05d: a garment is repeated, not its class" % i)
    tr, va = used.get("train", set()), used.get("valid", set())
    if tr & va:
        die("train and valid share %d source garments, e.g. %s" % (len(tr & va), sorted(tr & va)[0]))
    if any(s != "train" or not 0 <= i < 50000 for s, i in tr) or \
       any(s != "train" or not 50000 <= i < 60000 for s, i in va):
        die("train/valid sources outside train 0-49999 / 50000-59999")
    if any(s != "t10k" for sp in ("test", "repeat") for s, _ in used.get(sp, ())):
        die("test/repeat sources are not from t10k")
    names = open(os.path.join(out, "names.list")).read().split()
    if names != NAMES:
        die("names.list is %s" % names)
    data = dict(l.split("=", 1) for l in open(os.path.join(out, "scenes.data")).read().split())
    want = {"classes": "10", "train": out + "/train.list", "valid": out + "/valid.list",
            "test": out + "/test.list", "names": out + "/names.list", "backup": out + "/backup/"}
    if data != want:
        die("scenes.data is %s" % data)

def seeds_differ(a, b):
    same = []
    for split, n in scene_files(a):
        for i in range(n):
            p = os.path.join(split, "images", "s%05d.png" % i)
            if open(os.path.join(a, p), "rb").read() == open(os.path.join(b, p), "rb").read():
                same.append(p)
    if same:
        die("%d scenes identical across seeds, e.g. %s" % (len(same), same[0]))

what = sys.argv[1]
if what == "fm":
    fm_check(sys.argv[2], int(sys.argv[3]))
else:
    COUNTS.update(train=20, valid=5, test=5, repeat=12)
    if what == "scenes":
        scenes_check(sys.argv[2], 160)
    elif what == "differ":
        seeds_differ(sys.argv[2], sys.argv[3])
EOF

# ---- fashion_mnist.py --------------------------------------------------------------------------
if python3 scripts/fashion_mnist.py "$T/fm" --limit 50 > "$T/fm.log" 2>&1; then
    ok fm_run
    check fm_layout python3 "$T/chk.py" fm "$T/fm" 50
    sums "$T/fm" > "$T/fm.sum1"
    if python3 scripts/fashion_mnist.py "$T/fm" --limit 50 > "$T/fm2.log" 2>&1 &&
       grep -q 'already complete' "$T/fm2.log" && sums "$T/fm" | cmp -s - "$T/fm.sum1"; then
        ok fm_idempotent
    else
        bad fm_idempotent "a second run did not skip, or changed files: $(tail -n 1 "$T/fm2.log")"
    fi
    rm "$T/fm/train/00007_pullover.png"
    if python3 scripts/fashion_mnist.py "$T/fm" --limit 50 > "$T/fm3.log" 2>&1 &&
       grep -q '(1 written)' "$T/fm3.log" && sums "$T/fm" | cmp -s - "$T/fm.sum1"; then
        ok fm_resume
    else
        bad fm_resume "a missing image was not rewritten alone: $(tail -n 1 "$T/fm3.log")"
    fi
else
    bad fm_run "$(tail -n 1 "$T/fm.log")"
fi
if python3 scripts/fashion_mnist.py "$T/x_bag.png/fm" --limit 1 > "$T/fm4.log" 2>&1; then
    bad fm_label_in_outdir "an OUTDIR containing \"_bag.png\" was accepted"
else
    ok fm_label_in_outdir
fi

# ---- make_scenes.py ----------------------------------------------------------------------------
SMALL="--train 20 --valid 5 --test 5 --repeat 12"
run_scenes() { # name outdir args...
    local name=$1 out=$2; shift 2
    if python3 scripts/make_scenes.py "$out" "$@" > "$out.log" 2>&1; then ok "$name"; return 0; fi
    bad "$name" "$(tail -n 1 "$out.log")"; return 1
}
# listings of A and B, without the folder name that differs
strip_dir() { sed "s#^$1/#OUT/#" "$2"; }
if run_scenes ms_run "$T/a" --seed 1 $SMALL --jobs 2; then
    check ms_layout python3 "$T/chk.py" scenes "$T/a"
    if [ -x "$BUILD/tests/tools/imgconv" ]; then
        check ms_imgconv "$BUILD/tests/tools/imgconv" "$T/a/train/images/s00001.png" "$T/conv.png"
    else
        sk ms_imgconv "$BUILD/tests/tools/imgconv is not built"
    fi
    if run_scenes ms_run_jobs1 "$T/b" --seed 1 $SMALL --jobs 1; then
        why=""
        for s in train valid test repeat; do
            diff -r "$T/a/$s" "$T/b/$s" > /dev/null || why="$why $s/"
            cmp -s "$T/a/$s.sources" "$T/b/$s.sources" || why="$why $s.sources"
            cmp -s <(strip_dir "$T/a" "$T/a/$s.list") <(strip_dir "$T/b" "$T/b/$s.list") ||
                why="$why $s.list"
        done
        if [ -z "$why" ]; then ok ms_deterministic; else bad ms_deterministic "differ:$why"; fi
    fi
    if run_scenes ms_run_seed2 "$T/c" --seed 2 $SMALL; then
        check ms_seeds_differ python3 "$T/chk.py" differ "$T/a" "$T/c"
    fi
    # scene i does not depend on the split sizes: a shorter run gives the same first scenes
    if run_scenes ms_run_short "$T/d" --seed 1 --train 6 --valid 0 --test 0 --repeat 3 --jobs 1; then
        why=""
        for f in train/images/s00005.png train/labels/s00005.txt repeat/images/s00002.png; do
            cmp -s "$T/a/$f" "$T/d/$f" || why="$why $f"
        done
        [ "$(wc -l < "$T/d/valid.list")" -eq 0 ] || why="$why valid.list-not-empty"
        if [ -z "$why" ]; then ok ms_prefix_stable; else bad ms_prefix_stable "differ:$why"; fi
    fi
    sums "$T/a" > "$T/a.sum1"
    if python3 scripts/make_scenes.py "$T/a" --seed 1 $SMALL > "$T/a2.log" 2>&1 &&
       [ "$(grep -c 'already complete' "$T/a2.log")" -eq 4 ] && sums "$T/a" | cmp -s - "$T/a.sum1"; then
        ok ms_idempotent
    else
        bad ms_idempotent "a second run did not skip all 4 splits, or changed files"
    fi
    # single-garment tiles for backbone pretraining: 48x48, class in the name, deterministic
    if python3 scripts/make_scenes.py "$T/t1" --seed 1 --train 0 --valid 0 --test 0 --repeat 0 --tiles 12 --jobs 1 > "$T/t1.log" 2>&1 &&
       python3 scripts/make_scenes.py "$T/t2" --seed 1 --train 0 --valid 0 --test 0 --repeat 0 --tiles 12 --jobs 2 > "$T/t2.log" 2>&1; then
        why=""
        [ "$(wc -l < "$T/t1/tiles.list")" -eq 12 ] || why="$why count"
        diff -r "$T/t1/tiles" "$T/t2/tiles" > /dev/null || why="$why jobs-differ"
        while read -r f; do
            [[ "$f" =~ /tiles/[0-9]{5}_(tshirt|trouser|pullover|dress|coat|sandal|shirt|sneaker|bag|boot)\.png$ ]] || why="$why name:$f"
            [ "$(od -An -tx1 -j16 -N8 "$f" | tr -d ' ')" = "0000003000000030" ] || why="$why size:$f"
        done < "$T/t1/tiles.list"
        grep -q "^labels=$T/t1/tiles_labels.list" "$T/t1/tiles.data" && [ "$(wc -l < "$T/t1/tiles_labels.list")" -eq 10 ] || why="$why tiles.data"
        if [ -z "$why" ]; then ok ms_tiles; else bad ms_tiles "$why"; fi
    else
        bad ms_tiles "$(tail -n 1 "$T/t1.log" "$T/t2.log")"
    fi
    # a smaller rerun removes the scenes it no longer lists
    if python3 scripts/make_scenes.py "$T/a" --seed 1 --train 10 --valid 5 --test 5 --repeat 12 \
            > "$T/a3.log" 2>&1 && [ "$(ls "$T/a/train/images" | wc -l)" -eq 10 ] &&
       [ "$(ls "$T/a/train/labels" | wc -l)" -eq 10 ] && [ "$(wc -l < "$T/a/train.list")" -eq 10 ] &&
       cmp -s "$T/a/train/images/s00009.png" "$T/b/train/images/s00009.png"; then
        ok ms_shrink
    else
        bad ms_shrink "--train 10 after --train 20 did not leave exactly the first 10 scenes"
    fi
fi

elapsed=$((SECONDS - start))
echo "  (the data-script tests took ${elapsed}s; about 20 s on an idle 2-core machine)"
finish
