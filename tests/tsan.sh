#!/usr/bin/env bash
# tsan.sh - ThreadSanitizer runs (`make tsan`: BUILD=build-tsan*, everything built with
# -fsanitize=thread): test_threads (the kernels' thread pool, 1 vs N threads bit-identical), a
# short `classifier train` and `detector train` (the threaded data loader feeding batches while
# the network trains with 2 threads), and the headless `gradcampp demo` and `detector demo`
# pipelines on a 6-frame image sequence. A data race, a lock-order inversion or any other TSan
# report fails its row (TSan exits 66). Ends with "RESULT p f s" and "tsan: N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
DK=$BUILD/darknet
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# OpenBLAS and OpenCV are not instrumented: races inside them are theirs (tests/tsan.supp)
export TSAN_OPTIONS="exitcode=66 halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
run() { # description, command...
    local desc=$1; shift
    local t0=$SECONDS
    "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [ $rc -eq 0 ] && ! grep -q "ThreadSanitizer" "$tmp/err"; then
        echo "ok   $desc ($((SECONDS - t0)) s)"; pass=$((pass + 1))
    else
        echo "FAIL $desc: exit $rc"; grep -A 12 "WARNING: ThreadSanitizer\|ERROR" "$tmp/err" | head -n 30 | sed 's/^/       /'
        tail -n 3 "$tmp/err" | sed 's/^/       /'
        fail=$((fail + 1))
    fi
}
finish() { echo "RESULT $pass $fail $skip"; echo "tsan: $pass passed, $fail failed, $skip skipped"; [ $fail -eq 0 ]; exit; }
if [ ! -x "$DK" ] || [ ! -x "$BUILD/tests/test_threads" ]; then
    echo "FAIL tsan: $DK or $BUILD/tests/test_threads is not built (make SANITIZE=thread)"; fail=1; finish
fi

# the build must really be instrumented, or every row below would pass vacuously
if nm "$DK" 2>/dev/null | grep -q "__tsan_init"; then echo "ok   $DK is built with ThreadSanitizer"; pass=$((pass + 1))
else echo "FAIL $DK is not built with -fsanitize=thread"; fail=$((fail + 1)); finish; fi
# has(file): the row's command produced a non-empty file
has() { if [ -s "$1" ]; then echo "ok   wrote $(basename "$1")"; pass=$((pass + 1)); else echo "FAIL no $1"; fail=$((fail + 1)); fi; }

run "test_threads under TSan" "$BUILD/tests/test_threads"

# --- classifier train: the threaded loader on 96 Fashion-MNIST images, 2 kernel threads ---
if [ -d /usr/share/datasets/fashion-mnist ]; then
    python3 scripts/fashion_mnist.py "$tmp/fm" --limit 96 >/dev/null 2>&1
    # the training tests' classifier, 4 batches of 16 with hue augmentation
    sed -e 's/^batch=.*/batch=16/' -e 's/^max_batches=.*/max_batches=4/' -e '/^\[net\]/a hue=.1' \
        tests/fixtures/small_classifier.cfg >"$tmp/cls.cfg"
    sed -e "s|^backup=.*|backup=$tmp/cbackup|" "$tmp/fm/fashion.data" >"$tmp/fm.data"
    run "classifier train (threaded loader, 2 threads)" "$DK" classifier train "$tmp/fm.data" "$tmp/cls.cfg" -threads 2 -dont_show
    has "$tmp/cbackup/cls_final.weights"
else
    echo "skip classifier train: Debian's dataset-fashion-mnist is not installed"; skip=$((skip + 1))
fi

# --- detector train: 4 scenes made from the shipped garment picture ---
mkdir -p "$tmp/sc/images" "$tmp/sc/labels"
for i in 0 1 2 3; do
    cp data/garment_demo.png "$tmp/sc/images/s$i.png"
    echo "$tmp/sc/images/s$i.png"
    printf '%d 0.5 0.5 0.6 0.7\n1 0.3 0.3 0.2 0.2\n' "$i" >"$tmp/sc/labels/s$i.txt"
done >"$tmp/sc/list"
printf 'a\nb\nc\nd\n' >"$tmp/sc/names"
printf 'classes=4\ntrain=%s\nvalid=%s\nnames=%s\nbackup=%s\n' "$tmp/sc/list" "$tmp/sc/list" "$tmp/sc/names" "$tmp/dbackup" >"$tmp/sc.data"
cat >"$tmp/det.cfg" <<'CFG'
[net]
batch=4
subdivisions=1
width=32
height=32
channels=3
learning_rate=0.01
max_batches=3
jitter=.2
hue=.1
saturation=1.3
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=18
size=1
activation=linear
[yolo]
mask=0,1
anchors=6,6, 14,14
classes=4
num=2
CFG
run "detector train (threaded loader, 2 threads)" "$DK" detector train "$tmp/sc.data" "$tmp/det.cfg" -threads 2 -dont_show
has "$tmp/dbackup/det_final.weights"

# --- the demo pipeline, headless, on a 6-frame sequence ---
if "$DK" gradcampp demo -info /nonexistent 2>&1 | grep -q "without OpenCV"; then
    echo "skip demo: $DK was built without OpenCV"; skip=$((skip + 1)); finish
fi
for i in 0 1 2 3 4 5; do
    convert data/garment_demo.png -crop 80x80+$((i * 4))+$((i * 2)) +repage "$(printf '%s/f_%02d.jpg' "$tmp" "$i")" 2>/dev/null ||
        cp data/garment_demo.png "$(printf '%s/f_%02d.png' "$tmp" "$i")"
done
IN=$tmp/f_%02d.jpg; ls "$tmp"/f_00.jpg >/dev/null 2>&1 || IN=$tmp/f_%02d.png
"$DK" weights random "$tmp/det.cfg" "$tmp/det.weights" -seed 3 >/dev/null 2>&1
run "gradcampp demo headless (capture, explain, write threads)" \
    "$DK" gradcampp demo "$tmp/sc.data" "$tmp/det.cfg" "$tmp/det.weights" "$IN" -dont_show -threads 2 -out "$tmp/out.avi" -thresh .05
has "$tmp/out.avi"
run "detector demo headless" \
    "$DK" detector demo "$tmp/sc.data" "$tmp/det.cfg" "$tmp/det.weights" "$IN" -dont_show -out "$tmp/det.avi" -thresh .05
has "$tmp/det.avi"
finish
