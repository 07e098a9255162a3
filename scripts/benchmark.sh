#!/usr/bin/env bash
# benchmark.sh - forward-pass speed of ./darknet against Debian's darknet (pjreddie, 2018) on the
# same cfg and weights, plus Grad-CAM++ overhead and peak memory. Forward times: median of N runs
# after warm-up (ours: `darknet benchmark`, in-process; Debian's: its own "Predicted in" lines
# from N images fed to one process on stdin, first one dropped). Whole-command times via
# hyperfine and peak RSS via /usr/bin/time. Usage: scripts/benchmark.sh [runs] [threads]
# (PART=train: only the training throughput; PART=forward: all but it)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
TH=${2:-2}
REF=/usr/bin/darknet
CFG=/usr/share/darknet/cfg
M=../shared/models
[ -d "$M" ] && M=$(readlink -f "$M")
IMG=/usr/share/darknet/data/dog.jpg
[ -f "$IMG" ] || IMG=../shared/datasets/darknet-sample-images/dog.jpg
IMG=$(readlink -f "$IMG")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
[ -x ./darknet ] || make -j2 >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $TH threads; $(date -u +%F)"
printf '%-28s %10s %12s %8s\n' "model" "ours (ms)" "Debian (ms)" "speedup"

resized() { # cfg w h out
    sed -e "s/^width *=.*/width=$2/" -e "s/^height *=.*/height=$3/" "$1" > "$4"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

ref_time() { # kind data cfg weights
    local feed
    feed=$(for i in $(seq 0 "$N"); do echo "$IMG"; done)
    # (in the temp folder: Debian's darknet writes predictions.jpg into the current one)
    if [ "$1" = classifier ]; then
        (cd "$tmp" && printf '%s\n' "$feed" | $REF classifier predict "$2" "$3" "$4" 2>&1 >/dev/null) | sed -n 's/.*Predicted in \([0-9.]*\) seconds.*/\1/p'
    else
        (cd "$tmp" && printf '%s\n' "$feed" | $REF detector test "$2" "$3" "$4" -out "$tmp/refpred" 2>/dev/null) | sed -n 's/.*Predicted in \([0-9.]*\) seconds.*/\1/p'
    fi | tail -n +2 | awk '{print $1 * 1000}' | median
}

seq 0 999 | sed 's/^/c/' > "$tmp/n1000"; printf 'classes=1000\nnames=%s\ntop=5\n' "$tmp/n1000" > "$tmp/cls.data"
seq 0 79 | sed 's/^/k/' > "$tmp/n80"; printf 'classes=80\nnames=%s\n' "$tmp/n80" > "$tmp/det.data"

row() { # label kind cfg w h [weights]
    local label=$1 kind=$2 cfg=$3 w=$4 h=$5 weights=${6:-}
    [ -n "$weights" ] && weights=$(readlink -f "$weights")
    resized "$cfg" "$w" "$h" "$tmp/m.cfg"
    if [ -z "$weights" ]; then
        weights=$tmp/m.weights
        ./darknet weights random "$tmp/m.cfg" "$weights" -seed 1 -image "$IMG" 2>/dev/null
    fi
    local ours theirs="n/a" sp="n/a"
    ours=$(./darknet benchmark "$tmp/m.cfg" "$weights" -n "$N" -threads "$TH" -image "$IMG" 2>/dev/null | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    if [ -x "$REF" ]; then
        local data=$tmp/det.data
        [ "$kind" = classifier ] && data=$tmp/cls.data
        theirs=$(ref_time "$kind" "$data" "$tmp/m.cfg" "$weights")
        sp=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.1fx", b / a}')
    fi
    printf '%-28s %10s %12s %8s\n' "$label" "$ours" "$theirs" "$sp"
}

PART=${PART:-all}
if [ "$PART" != train ]; then
row "yolov3-tiny 416" detector "$CFG/yolov3-tiny.cfg" 416 416
row "darknet19 224" classifier "$CFG/darknet19.cfg" 224 224
row "yolov3 416" detector "$CFG/yolov3.cfg" 416 416
if [ -d "$M" ]; then
    row "yolo-fastest-1.1 320" detector "$M/yolo-fastest-1.1_coco/yolo-fastest-1.1.cfg" 320 320 "$M/yolo-fastest-1.1_coco/yolo-fastest-1.1.weights"
    row "tiny-darknet 224" classifier "$M/tiny-darknet_imagenet/tiny.cfg" 224 224 "$M/tiny-darknet_imagenet/tiny.weights"
    echo
    echo "Grad-CAM++ cost (forward + maps, median of $N):"
    ./darknet benchmark "$M/tiny-darknet_imagenet/tiny.cfg" "$M/tiny-darknet_imagenet/tiny.weights" -n "$N" -threads "$TH" -image "$IMG" -cam 1 | tail -1
    Y="$M/yolo-fastest-1.1_coco/yolo-fastest-1.1"
    for k in 0 1 10 100; do
        ./darknet benchmark "$Y.cfg" "$Y.weights" -n "$N" -threads "$TH" -image "$IMG" -cam $k | tail -1
    done
else
    echo "(../shared/models absent: Yolo-Fastest and Tiny Darknet rows skipped)"
fi

fi
echo
# training throughput: the project's own cfgs and data, 25 batches each (first 5 dropped)
train_rate() { # label kind data cfg
    local ours theirs cfg
    # every layer trains in the measured batches: stopbackward=n (AlexeyAB: frozen until batch n)
    # is left out, and pjreddie's darknet would read it as frozen for good
    cfg="$tmp/$(basename "$4")"
    sed '/^stopbackward/d' "$4" > "$cfg"
    mkdir -p "$tmp/bk"
    sed "s|^backup=.*|backup=$tmp/bk/|" "$3" > "$tmp/t.data"
    ours=$(./darknet "$2" train "$tmp/t.data" "$cfg" -max 25 -threads "$TH" 2>/dev/null | sed -n '/rate,/s/.*, \([0-9.]*\) seconds.*/\1/p' | tail -n +6 | median)
    local b
    b=$(sed -n 's/^batch *= *//p' "$cfg" | head -1)
    if [ -x "$REF" ]; then
        # Debian's darknet to a file (a pipe to head makes it block-buffer, and under stdbuf it
        # crashes), stopped once 25 batches are in; its "Loaded: x seconds" lines are skipped.
        # It sometimes segfaults in its loader thread: up to 3 tries.
        local try
        for try in 1 2 3; do
            ( cd "$tmp" && exec $REF "$2" train "$tmp/t.data" "$cfg" > "$tmp/ref.log" 2>/dev/null ) 2>/dev/null &
            local pid=$! i
            for i in $(seq 900); do
                [ "$(grep -c 'rate,' "$tmp/ref.log" 2>/dev/null)" -ge 25 ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 1
            done
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            [ "$(grep -c 'rate,' "$tmp/ref.log" 2>/dev/null)" -ge 25 ] && break
            echo "  (Debian's darknet stopped after $(grep -c 'rate,' "$tmp/ref.log") batches; try $try of 3)" >&2
        done
        theirs=$(sed -n '/rate,/s/.* \([0-9.]*\) seconds.*/\1/p' "$tmp/ref.log" | head -25 | tail -n +6 | median)
    fi
    awk -v l="$1" -v b="$b" -v o="$ours" -v t="${theirs:-0}" 'BEGIN {
        printf "%-28s %10.0f %12s %8s  images/s\n", l, b / o, (t > 0 ? sprintf("%.0f", b / t) : "n/a"), (t > 0 ? sprintf("%.1fx", t / o) : "n/a") }'
}
if [ "$PART" != forward ] && { [ -f data/fashion/fashion.data ] || [ -f data/scenes/scenes.data ]; }; then
    echo "training throughput (batch of the cfg, median seconds per batch after 5):"
    printf '%-28s %10s %12s %8s\n' "model" "ours" "Debian" "speedup"
    [ -f data/fashion/fashion.data ] && train_rate "fashion (classifier)" classifier data/fashion/fashion.data cfg/fashion.cfg
    [ -f data/scenes/scenes.data ] && train_rate "scenes (detector)" detector data/scenes/scenes.data cfg/scenes.cfg
    echo
fi
[ "$PART" = train ] && exit 0
resized "$CFG/yolov3.cfg" 416 416 "$tmp/y3.cfg"
./darknet weights random "$tmp/y3.cfg" "$tmp/y3.weights" -seed 1 2>/dev/null
rss=$( { /usr/bin/time -v ./darknet benchmark "$tmp/y3.cfg" "$tmp/y3.weights" -n 3 -threads "$TH" >/dev/null; } 2>&1 | sed -n 's/.*Maximum resident set size (kbytes): //p')
echo "peak RSS, yolov3 416 (ours, benchmark of 3 runs): $((rss / 1024)) MiB"
if [ -x "$REF" ]; then
    rss=$( { cd "$tmp" && /usr/bin/time -v $REF detector test "$tmp/det.data" "$tmp/y3.cfg" "$tmp/y3.weights" "$IMG" -out "$tmp/refpred" >/dev/null 2>&1; } 2>&1 | sed -n 's/.*Maximum resident set size (kbytes): //p')
    echo "peak RSS, yolov3 416 (Debian's darknet, detector test): $((rss / 1024)) MiB"
fi
if command -v hyperfine >/dev/null && [ -x "$REF" ]; then
    echo
    echo "whole command, detector test yolov3-tiny 416 (hyperfine):"
    resized "$CFG/yolov3-tiny.cfg" 416 416 "$tmp/t.cfg"
    ./darknet weights random "$tmp/t.cfg" "$tmp/t.weights" -seed 1 -image "$IMG" 2>/dev/null
    hyperfine -N -w 1 -r 5 --export-markdown "$tmp/h.md" \
        "./darknet detector test $tmp/det.data $tmp/t.cfg $tmp/t.weights $IMG -out $tmp/p1" \
        "$REF detector test $tmp/det.data $tmp/t.cfg $tmp/t.weights $IMG -out $tmp/p2" >/dev/null 2>&1 || true
    sed "s|$tmp/||g" "$tmp/h.md" 2>/dev/null || true
fi
