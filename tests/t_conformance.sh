#!/usr/bin/env bash
# t_conformance.sh - forward-pass conformance against Debian's darknet (pjreddie, 2018): for each
# public cfg in /usr/share/darknet/cfg whose layers we support, write seeded random weights, run
# both programs on the same lossless PNG input and compare: classifiers by `classifier predict`
# top-5, detectors by `detector valid` boxes (tests/tools/cmp_results.py states the tolerances).
source "$(dirname "$0")/lib.sh"
REF=/usr/bin/darknet
CFGDIR=/usr/share/darknet/cfg
if [ ! -x "$REF" ] || [ ! -d "$CFGDIR" ]; then
    echo "skip conformance: Debian's darknet package is not installed"
    echo "RESULT 0 0 1"; exit 0
fi
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

# Debian's outputs are kept in $CACHE under a hash of the cfg, the weights and the inputs, so
# the sanitizer and valgrind passes compare against them without running Debian's darknet again
CACHE=${CONFORMANCE_CACHE:-$PWD/.cache/conformance}
mkdir -p "$CACHE"
key() { cat "$@" | sha256sum | cut -c1-32; }

# cfg NAME[@SIZE]: the cfg to run, with [net] width and height set to SIZE when given (the big
# networks run at a smaller input: the same layers, a fraction of Debian's time)
cfg() {
    local c=${1%%@*} size=${1#*@}
    if [ "$size" = "$1" ]; then echo "$CFGDIR/$c.cfg"; return; fi
    sed -E "0,/^width=/s/^width=.*/width=$size/; 0,/^height=/s/^height=.*/height=$size/" \
        "$CFGDIR/$c.cfg" > "$tmp/$c.cfg"
    echo "$tmp/$c.cfg"
}

classify() { # cfg[@size]
    local c=${1%%@*} f w="$tmp/${1%%@*}.weights"
    f=$(cfg "$1")
    if ! $DK weights random "$f" "$w" -seed 7 2>"$tmp/err"; then
        echo "FAIL conformance $c: $(tail -1 "$tmp/err")"; fail=$((fail + 1)); return
    fi
    local k; k=$CACHE/$(key "$f" "$w" "$tmp/dog.png").cls
    if [ ! -s "$k" ]; then
        timeout 300 $REF classifier predict "$tmp/cls.data" "$f" "$w" "$tmp/dog.png" > "$k.tmp" 2>/dev/null && mv "$k.tmp" "$k"
    fi
    $DK classifier predict "$tmp/cls.data" "$f" "$w" "$tmp/dog.png" > "$tmp/ours.txt" 2>"$tmp/err"
    local out rc
    out=$(python3 tests/tools/cmp_results.py top5 "$k" "$tmp/ours.txt"); rc=$?
    echo "  $1: $out"
    check "$c" $rc
    rm -f "$w"
}

detect() { # cfg[@size] classes
    local c=${1%%@*} f w="$tmp/${1%%@*}.weights"
    f=$(cfg "$1")
    if ! $DK weights random "$f" "$w" -seed 3 -image "$tmp/dog.png" 2>"$tmp/err"; then
        echo "FAIL conformance $c: $(tail -1 "$tmp/err")"; fail=$((fail + 1)); return
    fi
    seq 0 $(($2 - 1)) | sed 's/^/k/' > "$tmp/names$2.txt"
    local k; k=$CACHE/$(key "$f" "$w" "$tmp"/*.png).det
    rm -rf "$tmp/r" "$tmp/o"; mkdir -p "$tmp/r" "$tmp/o"
    if [ ! -d "$k" ]; then
        printf 'classes=%d\nvalid=%s\nnames=%s\nresults=%s\n' "$2" "$tmp/valid.txt" "$tmp/names$2.txt" "$tmp/r" > "$tmp/r.data"
        timeout 600 $REF detector valid "$tmp/r.data" "$f" "$w" >/dev/null 2>&1 && cp -r "$tmp/r" "$k.tmp" && mv "$k.tmp" "$k"
    fi
    printf 'classes=%d\nvalid=%s\nnames=%s\nresults=%s\n' "$2" "$tmp/valid.txt" "$tmp/names$2.txt" "$tmp/o" > "$tmp/o.data"
    $DK detector valid "$tmp/o.data" "$f" "$w" >/dev/null 2>"$tmp/err"
    local out rc
    out=$(python3 tests/tools/cmp_results.py dets "$k" "$tmp/o"); rc=$?
    echo "  $1: $out"
    check "$c" $rc
    rm -f "$w"
}

# CONFORMANCE=quick (also TEST_QUICK=1: the valgrind pass) checks four small networks;
# CONFORMANCE=layers (the ASan + UBSan pass) adds one network for each layer setup the quick
# set lacks (route concat, reorg, stride-1 maxpools of 5/9/13); the full set runs otherwise. All
# are subsets of the full set, so their reference outputs come from the cache.
if [ -n "${CONFORMANCE_CFGS:-}" ]; then
    # e.g. CONFORMANCE_CFGS="tiny yolov3:80" to check a few
    classifiers=$(printf '%s\n' $CONFORMANCE_CFGS | grep -v : || true)
    detectors=$(printf '%s\n' $CONFORMANCE_CFGS | grep : || true)
elif [ "${CONFORMANCE:-full}" != full ] || [ "$QUICK" = 1 ]; then
    classifiers="tiny resnet18@160"
    detectors="yolov2-tiny-voc:20@256 yolov3-tiny:80@256"
    if [ "${CONFORMANCE:-}" = layers ]; then
        classifiers="$classifiers densenet201@128"
        detectors="$detectors yolov2:80@256 yolov3-spp:80@256"
    fi
    echo "(${CONFORMANCE:-quick} conformance set: $classifiers $detectors)"
else
    # tiny, alexnet, vgg-16 (fixed-size connected layers), yolov2-tiny and yolov3-tiny at their
    # own sizes; the rest (and yolov3-tiny again, for the quick set) smaller
    classifiers="tiny darknet@160 darknet19@160 extraction@160 alexnet resnet18@160 resnet34@160
                 resnet50@128 resnext50@128 darknet53@128 densenet201@128 resnet101@128
                 resnet152@128 vgg-16"
    detectors="yolov2-tiny:80 yolov2-tiny-voc:20@256 yolov3-tiny:80 yolov3-tiny:80@256 yolov2:80@256 yolov2-voc:20@256
               yolov3:80@256 yolov3-voc:20@256 yolov3-spp:80@256"
fi
for c in $classifiers; do
    classify "$c"
done
for c in $detectors; do # name:classes[@size]
    n=${c%%:*} k=${c##*:}
    case $k in *@*) n=$n@${k#*@}; k=${k%%@*} ;; esac
    detect "$n" "$k"
done
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
