#!/usr/bin/env bash
# t_eval.sh - `gradcampp eval` end to end on a small random detector: three images whose label
# files hold the boxes the detector finds plus a hand-written box it misses; bad input (malformed
# and missing label files, a box outside the image, a class beyond the names, an unreadable image,
# an empty list) is named file:line and skipped while the rest is evaluated; JSON fields, the
# HTML report (loaded in headless Chromium when installed, and a broken copy caught), shards + merge = one run; and
# Yolo-Fastest-1.1 on 16 coco128 images when ../shared is there.
source "$(dirname "$0")/lib.sh"
has() { # name, file, fixed string
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: '$3' not in $(basename "$2"): $(head -c 600 "$2")"; fi
}
SAMPLES=$SHARED/datasets/darknet-sample-images
[ -f "$SAMPLES/dog.jpg" ] || SAMPLES=/usr/share/darknet/data

# --- a small random detector (2 classes, names beside the cfg) ---
cp tests/fixtures/small_detector.cfg "$tmp/det.cfg"
cp tests/fixtures/small_detector.names "$tmp/det.names"
$DK weights random "$tmp/det.cfg" "$tmp/det.weights" -seed 5 -image "$SAMPLES/dog.jpg" 2>/dev/null
NET=("$tmp/det.cfg" "$tmp/det.weights")
T=0.01 # the random heads' confidences are small

# --- three images; labels: the first detection of each class plus a box nothing detects ---
D=$tmp/data
mkdir -p "$D/images" "$D/labels"
for i in dog horses giraffe; do
    cp "$SAMPLES/$i.jpg" "$D/images/$i.jpg"
    $DK gradcampp "${NET[@]}" "$D/images/$i.jpg" -thresh $T -out "$tmp/g" -json >/dev/null 2>&1
    python3 - "$tmp/g/gradcampp.json" > "$D/labels/$i.txt" <<'PY'
import json, sys
im = json.load(open(sys.argv[1]))["images"][0]
W, H, seen = im["width"], im["height"], set()
for m in im["maps"]:
    if m["kind"] != "detection" or m["class"] in seen:
        continue
    seen.add(m["class"])
    l, t, w, h = m["box"]
    x1, y1, x2, y2 = max(l, 0) / W, max(t, 0) / H, min(l + w, W) / W, min(t + h, H) / H
    print("%d %.6f %.6f %.6f %.6f" % (m["class"], (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1))
print("0 0.080000 0.080000 0.100000 0.100000")
PY
done
printf '%s\n' "$D/images/dog.jpg" "$D/images/horses.jpg" "$D/images/giraffe.jpg" > "$tmp/good.txt"
n_lab=$(cat "$D"/labels/*.txt | wc -l)
[ "$n_lab" -ge 5 ] && ok "label files written ($n_lab boxes, from the detections and by hand)" || bad "label files: $n_lab boxes"

# --- bad input among good: each named, skipped, the rest evaluated, exit 1 ---
for b in malformed nolabel outside badclass; do cp "$SAMPLES/dog.jpg" "$D/images/$b.jpg"; done
printf '0 0.5 0.5 0.2 0.2\n1 0.5 oops\n' > "$D/labels/malformed.txt"
printf '1 0.95 0.5 0.3 0.2\n' > "$D/labels/outside.txt"
printf '0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.2 0.2\n' > "$D/labels/badclass.txt"
: > "$D/images/empty.jpg"
printf '0 0.5 0.5 0.2 0.2\n' > "$D/labels/empty.txt"
printf '%s\n' "$D/images/dog.jpg" "$D/images/malformed.jpg" "$D/images/nolabel.jpg" "$D/images/horses.jpg" \
    "$D/images/outside.jpg" "$D/images/badclass.jpg" "$D/images/empty.jpg" "$D/images/giraffe.jpg" > "$tmp/mixed.txt"
expect "bad input among good images: exit 1" 1 $DK gradcampp eval "${NET[@]}" "$tmp/mixed.txt" -thresh $T -json "$tmp/mixed.json"
cp "$tmp/err" "$tmp/mixed.err"; cp "$tmp/out" "$tmp/mixed.out"
has "malformed label named with its line" "$tmp/mixed.err" "labels/malformed.txt:2: expected 'class x y w h'"
has "missing label file named" "$tmp/mixed.err" "labels/nolabel.txt: cannot open label file"
has "box outside the image named with its line" "$tmp/mixed.err" "labels/outside.txt:1: box"
has "class beyond the names named with its line" "$tmp/mixed.err" "labels/badclass.txt:2: class 5 is outside 0..1"
has "unreadable image named" "$tmp/mixed.err" "empty.jpg"
has "skipped images counted at the end" "$tmp/mixed.err" "skipped 5 of 8 images"
[ "$(grep -c '(image skipped)' "$tmp/mixed.err")" -eq 5 ] && ok "one line per skipped image" || bad "skip lines: $(grep -c '(image skipped)' "$tmp/mixed.err")"
if python3 - "$tmp/mixed.json" 2>"$tmp/perr" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
assert t["images_evaluated"] == 3 and t["images_skipped"] == 5, t
ev = [i for i in d["images"] if i["skipped"] is None]
assert [i["image"].split("/")[-1] for i in ev] == ["dog.jpg", "horses.jpg", "giraffe.jpg"]
assert sum(len(i["maps"]) for i in ev) >= 3
assert all(i["skipped"] for i in d["images"] if i not in ev)
PY
then ok "the good images are still evaluated (3 of 8, with maps); JSON says why each other was skipped"
else bad "mixed JSON: $(tail -1 "$tmp/perr")"; fi

# --- a clean run: table, JSON, HTML ---
expect "eval on three images: exit 0" 0 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -thresh $T -delta 0.3 \
    -json "$tmp/e.json" -html "$tmp/html"
cp "$tmp/out" "$tmp/e.out"; cp "$tmp/err" "$tmp/e.err"
has "table: methods as columns" "$tmp/e.out" "gradcampp      gradcam"
has "table: per detection section" "$tmp/e.out" "per detection:"
has "table: per class section" "$tmp/e.out" "per class:"
has "table: -delta adds Loc(0.3)" "$tmp/e.out" "Loc(0.3)"
has "table: the component threshold is stated" "$tmp/e.out" "at 0.5 of its max (-box_thresh)"
if awk '/^  (Loc\(0\.5\)|Average Drop %|pointing game %)/ { n++; if ($NF !~ /^[0-9.]+$/ || $(NF-1) !~ /^[0-9.]+$/) bad = 1 }
        END { exit !(n >= 4 && !bad) }' "$tmp/e.out"; then ok "table rows hold numbers for both methods"
else bad "table numbers: $(cat "$tmp/e.out")"; fi
has "progress on stderr" "$tmp/e.err" "eval: 3/3 images"
if python3 - "$tmp/e.json" 2>"$tmp/perr" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("cfg", "weights", "list", "task", "methods", "target", "layer", "thresh", "nms", "letterbox", "deltas",
          "box_thresh", "names", "images", "totals", "shard", "list_images"):
    assert k in d, k
assert d["methods"] == ["gradcampp", "gradcam"] and d["deltas"] == [0, 0.25, 0.5, 0.3], d["deltas"]
kinds = set()
for im in d["images"]:
    for k in ("index", "image", "skipped", "width", "height", "gt", "detections", "unmatched", "missed_gt",
              "missed_classes", "fp_classes", "maps"):
        assert k in im, k
    for m in im["maps"]:
        kinds.add(m["kind"])
        for k in ("kind", "class", "name", "det", "gt", "iou", "box", "instances", "detections", "y", "methods"):
            assert k in m, k
        for meth in ("gradcampp", "gradcam"):
            s = m["methods"][meth]
            for k in ("loc", "best_iou", "components", "loc_ok", "pointing", "covered", "o", "drop"):
                assert k in s, k
            assert len(s["loc"]) == 4 and all(0 <= v <= 1 for v in s["loc"]), s["loc"]
            assert 0 <= s["covered"] <= m["instances"]
assert kinds == {"detection", "class"}, kinds
t = d["totals"]
for kind in ("detection", "class"):
    for meth in ("gradcampp", "gradcam"):
        s = t[kind][meth]
        for k in ("maps", "loc", "best_iou", "loc_accuracy", "pointing", "coverage", "average_drop",
                  "increase_in_confidence", "win"):
            assert k in s, (kind, k)
assert t["class"]["gradcampp"]["coverage"]["all"]["instances"] >= 1
assert abs(t["detection"]["gradcampp"]["win"]["gradcam"] + t["detection"]["gradcam"]["win"]["gradcampp"] - 100) <= 100
PY
then ok "JSON: settings, per-image records with every method's metrics, totals per kind and method"
else bad "JSON fields: $(tail -1 "$tmp/perr")"; fi
n_src=$(grep -o '<img src="[^"]*"' "$tmp/html/index.html" 2>/dev/null | wc -l)
missing=0
for s in $(grep -o '<img src="[^"]*"' "$tmp/html/index.html" 2>/dev/null | sed 's/<img src="//; s/"$//'); do
    [ -s "$tmp/html/$s" ] || missing=$((missing + 1))
done
[ -f "$tmp/html/index.html" ] && [ "$n_src" -ge 5 ] && [ "$missing" -eq 0 ] \
    && ok "HTML report: index.html and its $n_src pictures" || bad "HTML: $n_src pictures, $missing missing"
has "HTML: summary table first" "$tmp/html/index.html" '<table class="summary">'
# the report in a real browser: headless Chromium driven over its DevTools pipe
# (tests/tools/browser_check.py): no console error or failed request, every <img> displayed
# (complete, naturalWidth > 0); then a deliberately broken copy (one picture deleted, one script
# error) must fail the same check. EVAL_SCREENSHOT=file.png keeps the screenshot to look at. The
# limits are generous: on this 2-core machine at load 10 Chromium took 95 s (10 s unloaded).
CHROMIUM=$(command -v chromium || true)
if [ -n "$CHROMIUM" ]; then
    timeout 600 python3 tests/tools/browser_check.py --timeout 300 --chromium "$CHROMIUM" --screenshot "$tmp/shot.png" \
        "$tmp/html/index.html" > "$tmp/bc.out" 2>&1; rc=$?
    [ "$rc" -eq 0 ] && grep -q "^images $n_src/$n_src displayed" "$tmp/bc.out" \
        && ok "Chromium: the report loads with no console error and displays all $n_src images" \
        || bad "Chromium: exit $rc: $(head -4 "$tmp/bc.out")"
    [ -n "${EVAL_SCREENSHOT:-}" ] && cp "$tmp/shot.png" "$EVAL_SCREENSHOT"
    sz=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); print(*struct.unpack('>II', d[16:24]))" "$tmp/shot.png" 2>/dev/null)
    set -- $sz
    [ "${1:-0}" -ge 1000 ] && [ "${2:-0}" -ge 600 ] && ok "Chromium: screenshot of the report (${1}x${2})" || bad "screenshot: '$sz'"
    cp -r "$tmp/html" "$tmp/broken"
    rm "$tmp/broken/$(grep -o '<img src="[^"]*_gradcam\.png"' "$tmp/broken/index.html" | head -1 | sed 's/<img src="//; s/"$//')"
    sed -i 's|</body>|<script>no_such_function();</script></body>|' "$tmp/broken/index.html"
    timeout 600 python3 tests/tools/browser_check.py --timeout 300 --chromium "$CHROMIUM" "$tmp/broken/index.html" > "$tmp/bc2.out" 2>&1; rc=$?
    [ "$rc" -eq 1 ] && grep -q "^images $((n_src - 1))/$n_src displayed" "$tmp/bc2.out" \
        && grep -q "image not displayed: .*_gradcam.png" "$tmp/bc2.out" && grep -q "no_such_function" "$tmp/bc2.out" \
        && grep -q "ERR_FILE_NOT_FOUND" "$tmp/bc2.out" \
        && ok "Chromium check fails on a broken copy (missing picture, failed request, script error named)" \
        || bad "broken report not caught: exit $rc: $(head -5 "$tmp/bc2.out")"
else
    sk "HTML in a browser: chromium is not installed (scripts/setup.sh installs it; index.html was checked for its files only)"
fi

# --- shards + merge = one run ---
expect "-shard 0/2" 0 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -thresh $T -delta 0.3 -json "$tmp/s0.json" -shard 0/2
expect "-shard 1/2" 0 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -thresh $T -delta 0.3 -json "$tmp/s1.json" -shard 1/2
expect "merge" 0 $DK gradcampp eval merge "$tmp/m.json" "$tmp/s1.json" "$tmp/s0.json"
has "merge prints the table" "$tmp/out" "per class:"
if python3 - "$tmp/e.json" "$tmp/m.json" "$tmp/s0.json" 2>"$tmp/perr" <<'PY'
import json, sys
a, b, s0 = (json.load(open(p)) for p in sys.argv[1:4])
assert len(s0["images"]) == 2 and [i["index"] for i in s0["images"]] == [0, 2]
assert [i["index"] for i in b["images"]] == [0, 1, 2]
def cmp(x, y, path):
    if isinstance(x, dict):
        assert set(x) == set(y), path
        for k in x:
            if k != "seconds":
                cmp(x[k], y[k], path + "." + k)
    elif isinstance(x, list):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y)):
            cmp(u, v, "%s[%d]" % (path, i))
    else:
        assert x == y, "%s: %r != %r" % (path, x, y)
cmp(a["totals"], b["totals"], "totals")
PY
then ok "shard 0/2 + 1/2 merged: exactly the totals of the unsharded run"
else bad "merge totals: $(tail -1 "$tmp/perr")"; fi
expect "-shard 0/2 -html" 0 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -thresh $T -json "$tmp/h0.json" -shard 0/2 -html "$tmp/sh"
expect "-shard 1/2 -html" 0 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -thresh $T -json "$tmp/h1.json" -shard 1/2 -html "$tmp/sh"
expect "merge -html" 0 $DK gradcampp eval merge "$tmp/hm.json" "$tmp/h0.json" "$tmp/h1.json" -html "$tmp/sh"
n_sh=0; miss_sh=0
for s in $(grep -o '<img src="[^"]*"' "$tmp/sh/index.html" 2>/dev/null | sed 's/<img src="//; s/"$//'); do
    n_sh=$((n_sh + 1)); [ -s "$tmp/sh/$s" ] || miss_sh=$((miss_sh + 1))
done
[ -f "$tmp/sh/index_shard0of2.html" ] && [ "$n_sh" -eq "$n_src" ] && [ "$miss_sh" -eq 0 ] \
    && ok "shards share one report folder; merge -html writes index.html over all their pictures ($n_sh)" \
    || bad "sharded HTML: $n_sh pictures (want $n_src), $miss_sh missing"
expect "merge of a missing shard set: exit 1" 1 $DK gradcampp eval merge "$tmp/m2.json" "$tmp/s0.json"
has "merge says a shard is missing" "$tmp/err" "merged 2 of the 3 listed images"
echo '{"format": "gradcampp-eval 1", "methods": [' > "$tmp/broken.json"
expect "merge of a malformed JSON: exit 1" 1 $DK gradcampp eval merge "$tmp/m3.json" "$tmp/broken.json"
has "malformed JSON named with its line" "$tmp/err" "broken.json:2:"

# --- a small random classifier: one map per image against all GT boxes, or with -map one per mapped class ---
mkdir -p "$tmp/cls"
cat > "$tmp/cls/cls.cfg" <<'CFG'
[net]
width=32
height=32
channels=3
[convolutional]
filters=8
size=3
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=3
size=1
activation=linear
[avgpool]
[softmax]
CFG
printf 'x\ny\nz\n' > "$tmp/cls/cls.names"
$DK weights random "$tmp/cls/cls.cfg" "$tmp/cls/cls.weights" -seed 3 2>/dev/null
CL=("$tmp/cls/cls.cfg" "$tmp/cls/cls.weights")
expect "classifier eval (-threads 1)" 0 $DK gradcampp eval "${CL[@]}" "$tmp/good.txt" -json "$tmp/c.json" -threads 1
has "classifier: one map per image, scored against all GT boxes" "$tmp/out" "per image: 3 maps"
printf '# label -> network class\n0 2\n1 -> 2\n' > "$tmp/map.txt"
expect "classifier -map -class" 0 $DK gradcampp eval "${CL[@]}" "$tmp/good.txt" -map "$tmp/map.txt" -class 2 -json "$tmp/c2.json"
if python3 - "$tmp/c.json" "$tmp/c2.json" 2>"$tmp/perr" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["task"] == "classifier" and a["totals"]["image"]["maps"] == 3
for im in a["images"]:
    assert im["maps"][0]["instances"] == len(im["gt"])            # no -map: every GT box
for im in b["images"]:
    m = im["maps"][0]
    assert m["class"] == 2 and m["instances"] == sum(1 for g in im["gt"] if g[4] in (0, 1))
PY
then ok "classifier maps: all GT boxes without -map; with -map the boxes mapped to the explained class"
else bad "classifier JSON: $(tail -1 "$tmp/perr")"; fi
# a label mapped to a set of classes (as data/coco_to_imagenet.txt maps a COCO class to ImageNet
# classes): each box takes the best-scoring class of its label's set, one map per class so chosen;
# the single-class runs give the two scores the set run must choose between
printf '0 0\n' > "$tmp/map0.txt"; printf '0 1\n' > "$tmp/map1.txt"
printf '# label 0: classes 0 or 1; label 1: class 2\n0 0,1  # x or y\n1 2\n' > "$tmp/mapset.txt"
for v in 0 1 set; do
    expect "classifier -map, label 0 -> class ${v/set/0 or 1}" 0 $DK gradcampp eval "${CL[@]}" "$tmp/good.txt" \
        -map "$tmp/map$v.txt" -json "$tmp/cm$v.json"
done
if python3 - "$tmp/cm0.json" "$tmp/cm1.json" "$tmp/cmset.json" 2>"$tmp/perr" <<'PY2'
import json, sys
a, b, s = (json.load(open(p)) for p in sys.argv[1:4])
chose = set()
for ia, ib, im in zip(a["images"], b["images"], s["images"]):
    y0 = [m["y"] for m in ia["maps"] if m["class"] == 0]
    y1 = [m["y"] for m in ib["maps"] if m["class"] == 1]
    n0 = sum(1 for g in im["gt"] if g[4] == 0)
    if n0:
        best = 0 if y0[0] >= y1[0] else 1
        chose.add(best)
        assert all(g[5] == best for g in im["gt"] if g[4] == 0), (im["gt"], y0, y1)
        assert [m["instances"] for m in im["maps"] if m["class"] == best] == [n0]
    assert all(g[5] == 2 for g in im["gt"] if g[4] == 1)
    assert all(g[5] == -1 for g in im["gt"] if g[4] > 1)
    assert sorted(m["class"] for m in im["maps"]) == sorted(set(g[5] for g in im["gt"] if g[5] >= 0))
    assert sum(m["instances"] for m in im["maps"]) == sum(1 for g in im["gt"] if g[5] >= 0)
PY2
then ok "-map with a set: each box explained by the best-scoring class of its label's set, one map per class"
else bad "-map set: $(tail -1 "$tmp/perr")"; fi
expect "classifier -map -thresh 0.999" 0 $DK gradcampp eval "${CL[@]}" "$tmp/good.txt" -map "$tmp/mapset.txt" \
    -thresh 0.999 -json "$tmp/cmt.json"
has "classes below -thresh counted" "$tmp/out" "GT classes scoring below 0.999 (no map)"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert all(not i['maps'] and i['missed_classes'] == len({g[4] for g in i['gt'] if g[4] < 2}) > 0 for i in d['images'])" \
    "$tmp/cmt.json" 2>"$tmp/perr" && ok "-thresh: a mapped class below it gets no map" || bad "-thresh: $(tail -1 "$tmp/perr")"
printf '0 0,1\n' > "$tmp/detset.txt"
expect "-map with a set on a detector: exit 1" 1 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -map "$tmp/detset.txt"
has "detector -map set refused with a reason" "$tmp/err" "label 0 maps to several classes: only a classifier's -map may"
printf '0 7\n' > "$tmp/badmap.txt"
expect "-map to a class the network lacks: exit 1" 1 $DK gradcampp eval "${CL[@]}" "$tmp/good.txt" -map "$tmp/badmap.txt"
has "-map error named with its line" "$tmp/err" "badmap.txt:1:"

# --- usage and list errors ---
expect "unknown method: usage" 2 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -methods gradcampp,nope
expect "bad -shard: usage" 2 $DK gradcampp eval "${NET[@]}" "$tmp/good.txt" -shard 2/2
expect "missing list argument: usage" 2 $DK gradcampp eval "${NET[@]}"
: > "$tmp/empty.txt"
expect "empty list: exit 1" 1 $DK gradcampp eval "${NET[@]}" "$tmp/empty.txt"
has "empty list named" "$tmp/err" "empty.txt: the list holds no images"
expect "missing list: exit 1" 1 $DK gradcampp eval "${NET[@]}" "$tmp/nolist.txt"
has "missing list named" "$tmp/err" "nolist.txt"

# --- Yolo-Fastest-1.1 on the first 16 coco128 images ---
Y=$SHARED/models/yolo-fastest-1.1_coco
C=$SHARED/datasets/coco128-val2017
if [ ! -f "$Y/yolo-fastest-1.1.weights" ] || [ ! -d "$C/images" ]; then
    sk "Yolo-Fastest on coco128: $SHARED/models or $SHARED/datasets/coco128-val2017 is absent"
else
    ls "$C"/images/*.jpg | head -16 > "$tmp/coco16.txt"
    expect "Yolo-Fastest-1.1 eval on 16 coco128 images" 0 $DK gradcampp eval "$Y/yolo-fastest-1.1.cfg" \
        "$Y/yolo-fastest-1.1.weights" "$tmp/coco16.txt" -json "$tmp/y.json"
    sed 's/^/  /' "$tmp/out" | head -40
    if awk '/^per detection: [1-9]/ { d = 1 } /^per class: [1-9]/ { c = 1 }
            /^  Loc\(0\.5\)/ { n++; if ($NF !~ /^[0-9.]+$/ || $(NF-1) !~ /^[0-9.]+$/) bad = 1 }
            END { exit !(d && c && n == 2 && !bad) }' "$tmp/out"; then ok "Yolo-Fastest: the table has numbers for detections and classes"
    else bad "Yolo-Fastest table"; fi
    grep -q "16 images evaluated (0 skipped)" "$tmp/out" && ok "Yolo-Fastest: all 16 images evaluated" || bad "Yolo-Fastest: $(head -1 "$tmp/out")"
fi
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
