#!/usr/bin/env bash
# t_conformance.sh - forward-pass conformance against Debian's darknet (pjreddie, 2018): for each
# public cfg in /usr/share/darknet/cfg whose layers we support, write seeded random weights, run
# both programs on the same lossless PNG input and compare: classifiers by `classifier predict`
# top-5, detectors by `detector valid` boxes (tests/tools/cmp_results.py states the tolerances).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DK=./darknet
REF=/usr/bin/darknet
CFGDIR=/usr/share/darknet/cfg
pass=0; fail=0; skip=0
if [ ! -x "$REF" ] || [ ! -d "$CFGDIR" ]; then
    echo "skip conformance: Debian's darknet package is not installed"
    echo "RESULT 0 0 1"; exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
img=/usr/share/darknet/data
# lossless inputs of several aspect ratios (letterbox) for both programs
i=0
for f in dog eagle giraffe person; do
    "$BUILD"/tests/tools/imgconv "$img/$f.jpg" "$tmp/$f.png" || { echo "FAIL imgconv $f"; exit 1; }
    echo "$tmp/$f.png" >> "$tmp/valid.txt"
done
seq 0 999 | sed 's/^/c/' > "$tmp/n1000.txt"
printf 'classes=1000\nnames=%s\ntop=5\n' "$tmp/n1000.txt" > "$tmp/cls.data"

check() { # name status
    if [ "$2" -eq 0 ]; then echo "ok   conformance $1"; pass=$((pass + 1)); else echo "FAIL conformance $1"; fail=$((fail + 1)); fi
}

classify() { # cfg
    local c=$1 w="$tmp/$1.weights"
    if ! $DK weights random "$CFGDIR/$c.cfg" "$w" -seed 7 2>"$tmp/err"; then
        echo "FAIL conformance $c: $(tail -1 "$tmp/err")"; fail=$((fail + 1)); return
    fi
    timeout 300 $REF classifier predict "$tmp/cls.data" "$CFGDIR/$c.cfg" "$w" "$tmp/dog.png" > "$tmp/ref.txt" 2>/dev/null
    $DK classifier predict "$tmp/cls.data" "$CFGDIR/$c.cfg" "$w" "$tmp/dog.png" > "$tmp/ours.txt" 2>"$tmp/err"
    local out rc
    out=$(python3 tests/tools/cmp_results.py top5 "$tmp/ref.txt" "$tmp/ours.txt"); rc=$?
    echo "  $c: $out"
    check "$c" $rc
    rm -f "$w"
}

detect() { # cfg classes
    local c=$1 w="$tmp/$1.weights"
    if ! $DK weights random "$CFGDIR/$c.cfg" "$w" -seed 3 -image "$tmp/dog.png" 2>"$tmp/err"; then
        echo "FAIL conformance $c: $(tail -1 "$tmp/err")"; fail=$((fail + 1)); return
    fi
    seq 0 $(($2 - 1)) | sed 's/^/k/' > "$tmp/names$2.txt"
    rm -rf "$tmp/r" "$tmp/o"; mkdir -p "$tmp/r" "$tmp/o"
    printf 'classes=%d\nvalid=%s\nnames=%s\nresults=%s\n' "$2" "$tmp/valid.txt" "$tmp/names$2.txt" "$tmp/r" > "$tmp/r.data"
    printf 'classes=%d\nvalid=%s\nnames=%s\nresults=%s\n' "$2" "$tmp/valid.txt" "$tmp/names$2.txt" "$tmp/o" > "$tmp/o.data"
    timeout 600 $REF detector valid "$tmp/r.data" "$CFGDIR/$c.cfg" "$w" >/dev/null 2>&1
    $DK detector valid "$tmp/o.data" "$CFGDIR/$c.cfg" "$w" >/dev/null 2>"$tmp/err"
    local out rc
    out=$(python3 tests/tools/cmp_results.py dets "$tmp/r" "$tmp/o"); rc=$?
    echo "  $c: $out"
    check "$c" $rc
    rm -f "$w"
}

# CONFORMANCE=quick (the sanitizer run) checks a small set; the full set runs otherwise
if [ -n "${CONFORMANCE_CFGS:-}" ]; then
    # e.g. CONFORMANCE_CFGS="tiny yolov3:80" to check a few
    classifiers=$(printf '%s\n' $CONFORMANCE_CFGS | grep -v : || true)
    detectors=$(printf '%s\n' $CONFORMANCE_CFGS | grep : || true)
elif [ "${CONFORMANCE:-full}" = quick ]; then
    classifiers="tiny resnet18"
    detectors="yolov2-tiny:80 yolov3-tiny:80"
    echo "(quick conformance set: $classifiers ${detectors//:80/})"
else
    classifiers="tiny darknet darknet19 extraction alexnet resnet18 resnet34 resnet50 resnext50
                 darknet53 densenet201 resnet101 resnet152 vgg-16"
    detectors="yolov2-tiny:80 yolov2-tiny-voc:20 yolov3-tiny:80 yolov2:80 yolov2-voc:20 yolov3:80 yolov3-voc:20 yolov3-spp:80"
fi
for c in $classifiers; do
    classify "$c"
done
for c in $detectors; do
    detect "${c%%:*}" "${c##*:}"
done
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
