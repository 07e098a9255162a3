#!/usr/bin/env bash
# t_train.sh - training end to end on a small slice of Fashion-MNIST: the loss falls, checkpoints
# are written in Darknet's format and load in Debian's darknet with the same predictions, resume
# continues the iteration count, classifier valid and detector train/map run; and the training
# bad inputs (missing image, class beyond classes, batch not divisible by subdivisions, a full
# disk at checkpoint time) fail with one clear line and leave no truncated weights file.
source "$(dirname "$0")/lib.sh"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    sk "training tests: Debian's dataset-fashion-mnist is not installed"
    echo "RESULT $pass $fail $skip"; exit 0
fi
python3 scripts/fashion_mnist.py "$tmp/fm" --limit 300 >/dev/null 2>&1 || { bad "fashion_mnist.py"; echo "RESULT $pass $fail $skip"; exit 1; }
cp tests/fixtures/small_classifier.cfg "$tmp/small.cfg"
sed -e "s|^backup=.*|backup=$tmp/backup|" "$tmp/fm/fashion.data" > "$tmp/fm.data"
$DK classifier train "$tmp/fm.data" "$tmp/small.cfg" -max 40 -save 20 > "$tmp/log" 2> "$tmp/err"; rc=$?
if [ $rc -eq 0 ] && clean "$tmp/err"; then ok "classifier train runs (40 batches)"; else bad "classifier train: exit $rc: $(tail -2 "$tmp/err")"; fi
first=$(head -5 "$tmp/log" | awk -F', ' '{s += $1} END {print s / NR}' | sed 's/^[0-9]*: //')
first=$(head -5 "$tmp/log" | sed 's/^[0-9]*: //' | awk -F, '{s += $1} END {print s / NR}')
last=$(tail -5 "$tmp/log" | sed 's/^[0-9]*: //' | awk -F, '{s += $1} END {print s / NR}')
echo "  loss: first 5 batches $first, last 5 $last"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a * .9) }' && ok "the loss falls" || bad "loss did not fall ($first -> $last)"
grep -q "ETA" "$tmp/log" && grep -q "img/s" "$tmp/log" && ok "progress line: loss, avg, rate, time, images, img/s, ETA" || bad "progress line"
[ -f "$tmp/backup/small_20.weights" ] && [ -f "$tmp/backup/small_final.weights" ] && ! ls "$tmp/backup"/*.tmp >/dev/null 2>&1 \
    && ok "checkpoints small_20 and small_final written, no temporary left" || bad "checkpoints: $(ls "$tmp/backup")"
# resume: continues from the saved iteration count
$DK classifier train "$tmp/fm.data" "$tmp/small.cfg" "$tmp/backup/small_final.weights" -max 45 > "$tmp/log2" 2> "$tmp/err"
head -1 "$tmp/log2" | grep -q "^41:" && ok "resume continues at batch 41" || bad "resume: $(head -1 "$tmp/log2")"
$DK classifier valid "$tmp/fm.data" "$tmp/small.cfg" "$tmp/backup/small_final.weights" > "$tmp/valid" 2>"$tmp/err" \
    && grep -q "top 1:" "$tmp/valid" && ok "classifier valid: $(cat "$tmp/valid")" || bad "classifier valid: $(tail -1 "$tmp/err")"
# a pretrained prefix (Darknet's `partial`): layers 0-1 of the trained net start a new one
$DK partial "$tmp/small.cfg" "$tmp/backup/small_final.weights" "$tmp/prefix.weights" 2 2> "$tmp/err" \
    && [ "$(stat -c %s "$tmp/prefix.weights")" -eq $((20 + 4 * (8 * 4 + 8 * 9 + 16 * 4 + 16 * 8 * 9))) ] \
    && ok "partial writes layers 0-1 only (header + 1320 floats)" || bad "partial: $(tail -1 "$tmp/err")"
$DK weights info "$tmp/small.cfg" "$tmp/prefix.weights" > /dev/null 2> "$tmp/err"
[ $? -eq 1 ] && grep -q "file ends in layer 2" "$tmp/err" && ok "a prefix is not complete weights for inference" || bad "weights info on a prefix: $(tail -1 "$tmp/err")"
sed 's/^filters=16/filters=20/' "$tmp/small.cfg" > "$tmp/other.cfg"
sed -e "s|^backup=.*|backup=$tmp/pbackup|" "$tmp/fm/fashion.data" > "$tmp/p.data"
$DK classifier train "$tmp/p.data" "$tmp/small.cfg" "$tmp/prefix.weights" -max 2 > /dev/null 2> "$tmp/err" \
    && grep -q "a pretrained prefix: 2 of 6 layers loaded" "$tmp/err" && ok "train starts from a prefix" || bad "train from a prefix: $(grep -v "^ " "$tmp/err" | tail -1)"
$DK classifier train "$tmp/p.data" "$tmp/other.cfg" "$tmp/prefix.weights" -max 2 > /dev/null 2> "$tmp/err"
[ $? -eq 1 ] && grep -q "prefix.weights: file ends in layer 1 \[convolutional\]" "$tmp/err" && ok "a prefix that does not fit the cfg fails naming the layer" || bad "mismatched prefix: $(tail -1 "$tmp/err")"
$DK partial "$tmp/small.cfg" "$tmp/backup/small_final.weights" "$tmp/p.weights" 9 2> "$tmp/err"
[ $? -eq 1 ] && grep -q "has 6 layers, not 9" "$tmp/err" && [ ! -e "$tmp/p.weights" ] && ok "partial beyond the last layer fails" || bad "partial 9: $(tail -1 "$tmp/err")"
# Debian's darknet loads our checkpoint and agrees
img=$(head -1 "$tmp/fm/test.list")
if [ -x /usr/bin/darknet ]; then
    $DK classifier predict "$tmp/fm.data" "$tmp/small.cfg" "$tmp/backup/small_final.weights" "$img" -top 3 > "$tmp/ours" 2>/dev/null
    (cd "$tmp" && /usr/bin/darknet classifier predict "$tmp/fm.data" "$tmp/small.cfg" "$tmp/backup/small_final.weights" "$img" -t 3 > "$tmp/ref" 2>/dev/null)
    sed -n 1,3p "$tmp/ref" > "$tmp/ref3"
    python3 tests/tools/cmp_results.py top5 "$tmp/ref3" "$tmp/ours" > "$tmp/cmp" && ok "Debian's darknet loads our checkpoint: $(cat "$tmp/cmp")" \
        || bad "Debian's darknet on our checkpoint: $(cat "$tmp/cmp")"
else
    sk "Debian's darknet is not installed: checkpoint compatibility not checked"
fi
# bad inputs
expect_fail() { # name regex command...
    local name=$1 re=$2; shift 2
    timeout 60 "$@" > /dev/null 2> "$tmp/err"; local rc=$?
    if [ $rc -eq 1 ] && grep -Eq "$re" "$tmp/err" && clean "$tmp/err"; then ok "$name"; else bad "$name: exit $rc: $(tail -1 "$tmp/err")"; fi
}
head -20 "$tmp/fm/train.list" > "$tmp/missing.list"; echo "$tmp/fm/train/99999_nothere_trouser.png" >> "$tmp/missing.list"
sed -e "s|^train=.*|train=$tmp/missing.list|" "$tmp/fm.data" > "$tmp/missing.data"
expect_fail "a list naming a missing image" "99999_nothere.*does not exist" $DK classifier train "$tmp/missing.data" "$tmp/small.cfg" -max 2
sed 's/^subdivisions=2/subdivisions=3/' "$tmp/small.cfg" > "$tmp/sub.cfg"
expect_fail "batch not divisible by subdivisions" "sub.cfg:5: batch=32 is not divisible by subdivisions=3" $DK classifier train "$tmp/fm.data" "$tmp/sub.cfg" -max 2
# detector: tiny scenes with one bad label
mkdir -p "$tmp/sc/images" "$tmp/sc/labels"
for i in 0 1 2 3; do cp "$img" "$tmp/sc/images/s$i.png"; echo "$tmp/sc/images/s$i.png"; printf '3 0.5 0.5 0.6 0.7\n' > "$tmp/sc/labels/s$i.txt"; done > "$tmp/sc/list"
printf 'classes=10\ntrain=%s\nvalid=%s\nnames=%s\nbackup=%s\n' "$tmp/sc/list" "$tmp/sc/list" "$tmp/fm/names.list" "$tmp/dbackup" > "$tmp/sc.data"
sed -e 's/^width=.*/width=64/' -e 's/^height=.*/height=64/' -e 's/^channels=.*/channels=3/' -e 's/^max_batches=.*/max_batches=4/' \
    -e 's/^batch=.*/batch=4/' -e 's/^subdivisions=.*/subdivisions=1/' cfg/scenes.cfg > "$tmp/det.cfg"
$DK detector train "$tmp/sc.data" "$tmp/det.cfg" > "$tmp/dlog" 2> "$tmp/err" && [ -f "$tmp/dbackup/det_final.weights" ] && clean "$tmp/err" \
    && ok "detector train runs and saves" || bad "detector train: $(tail -1 "$tmp/err")"
$DK detector map "$tmp/sc.data" "$tmp/det.cfg" "$tmp/dbackup/det_final.weights" > "$tmp/map" 2> "$tmp/err" && grep -q "mean average precision" "$tmp/map" \
    && ok "detector map: $(grep mean "$tmp/map")" || bad "detector map: $(tail -1 "$tmp/err")"
printf '12 0.5 0.5 0.2 0.2\n' > "$tmp/sc/labels/s2.txt"
expect_fail "a label with a class beyond classes" "s2.txt:1: class 12 is outside 0..9" $DK detector train "$tmp/sc.data" "$tmp/det.cfg"
printf '3 0.5 0.5 0.2 0.2\n' > "$tmp/sc/labels/s2.txt"
# a full disk at checkpoint time: the file-size limit makes every write past 64 KiB fail
rm -rf "$tmp/dbackup"
( trap '' XFSZ; ulimit -f 64; exec $DK detector train "$tmp/sc.data" "$tmp/det.cfg" ) > /dev/null 2> "$tmp/err"; rc=$?
if [ $rc -eq 1 ] && grep -q "cannot write weights" "$tmp/err" && [ ! -e "$tmp/dbackup/det_final.weights" ] && ! ls "$tmp/dbackup"/*.tmp >/dev/null 2>&1; then
    ok "full disk at checkpoint: clear error, no truncated weights left"
else
    bad "full disk: exit $rc, $(tail -1 "$tmp/err"), files: $(ls "$tmp/dbackup" 2>/dev/null)"
fi
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
