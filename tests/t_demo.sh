#!/usr/bin/env bash
# t_demo.sh - `gradcampp demo` and `detector demo` end to end. Without OpenCV: both print the
# one "no OpenCV" line and exit 1. With OpenCV (make OPENCV=1): a 12-frame image sequence is
# explained headless into .avi and .mp4 files (frame count, decodable, overlay differs from the
# input), -frames, SIGINT mid-run (exit 0, complete file), bad inputs (one line, exit 1, no
# hang), a window under Xvfb (screenshot not blank), and the FPS of Yolo-Fastest when present.
source "$(dirname "$0")/lib.sh"
EXPECT_TIMEOUT=${EXPECT_TIMEOUT:-60} # a hang is a failure
frames_of() { "$DK" gradcampp demo -info "$1" 2>/dev/null | sed -n 's/.*, \([0-9]*\) frames decoded.*/\1/p'; }

# --- without OpenCV: one clear line, exit 1 ---
"$DK" gradcampp demo a.cfg b.weights c.mp4 >"$tmp/out" 2>"$tmp/err"; rc=$?
if grep -q "this build has no OpenCV (make OPENCV=1)" "$tmp/err"; then
    [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok "gradcampp demo without OpenCV: one line, exit 1" \
        || bad "gradcampp demo without OpenCV: exit $rc, $(wc -l <"$tmp/err") lines"
    expect "detector demo without OpenCV: exit 1" 1 "$DK" detector demo a.data b.cfg c.weights -c 0
    grep -q "no OpenCV" "$tmp/err" && ok "detector demo names the missing OpenCV" || bad "detector demo: $(cat "$tmp/err")"
    sk "video checks: $DK was built without OpenCV (build with make OPENCV=1)"
    finish
fi

SAMPLES=$SHARED/datasets/darknet-sample-images
[ -f "$SAMPLES/dog.jpg" ] || SAMPLES=/usr/share/darknet/data
DOG=$SAMPLES/dog.jpg
if [ ! -f "$DOG" ]; then sk "video checks: no dog.jpg in ../shared/datasets or /usr/share/darknet/data"; finish; fi

# --- a 12-frame input: an image sequence OpenCV reads as a video (moving crops when ImageMagick
#     is present, else copies) ---
for i in $(seq 0 11); do
    f=$(printf '%s/f_%02d.jpg' "$tmp" "$i")
    if command -v convert >/dev/null; then convert "$DOG" -crop 600x440+$((i * 6))+$((i * 3)) +repage "$f"
    else cp "$DOG" "$f"; fi
done
IN="$tmp/f_%02d.jpg"
[ "$(frames_of "$IN")" = 12 ] && ok "input sequence decodes to 12 frames" || bad "input sequence: $("$DK" gradcampp demo -info "$IN" 2>&1)"

# --- a small random detector (tests/fixtures/small_detector.cfg, as t_gradcampp.sh and t_eval.sh) ---
cp tests/fixtures/small_detector.cfg "$tmp/det.cfg"
cp tests/fixtures/small_detector.names "$tmp/det.names"
printf 'classes=2\nnames=%s/det.names\n' "$tmp" > "$tmp/det.data"
"$DK" weights random "$tmp/det.cfg" "$tmp/det.weights" -seed 3 >/dev/null 2>&1 || bad "weights random"
NET=("$tmp/det.cfg" "$tmp/det.weights")

for ext in avi mp4; do
    expect "gradcampp demo headless -> .$ext" 0 "$DK" gradcampp demo "${NET[@]}" "$IN" -dont_show -out "$tmp/out.$ext" -thresh .05
    grep -q "^12 frames in .* FPS" "$tmp/out" && ok "FPS line printed ($(grep FPS "$tmp/out"))" || bad "no FPS line: $(cat "$tmp/out")"
    [ "$(frames_of "$tmp/out.$ext")" = 12 ] && ok ".$ext has all 12 frames and decodes" || bad ".$ext: $("$DK" gradcampp demo -info "$tmp/out.$ext" 2>&1)"
done
d=$("$DK" gradcampp demo -info "$tmp/out.avi" "$IN" | sed -n 's/^mean abs diff over 12 frames: //p')
awk -v d="${d:-0}" 'BEGIN { exit !(d > 0.02) }' && ok "overlay frames differ from the input (mean |diff| $d)" || bad "overlay too close to the input (${d:-none})"

expect "-frames 5" 0 "$DK" gradcampp demo "${NET[@]}" "$IN" -dont_show -frames 5 -out "$tmp/f5.avi"
[ "$(frames_of "$tmp/f5.avi")" = 5 ] && ok "-frames 5 writes 5 frames" || bad "-frames 5: $(frames_of "$tmp/f5.avi") frames"

expect "detector demo (boxes only)" 0 "$DK" detector demo "$tmp/det.data" "${NET[@]}" "$IN" -dont_show -out "$tmp/det.avi" -thresh .05
[ "$(frames_of "$tmp/det.avi")" = 12 ] && ok "detector demo writes 12 frames" || bad "detector demo output"

# --- SIGINT while holding the last frame: clean exit, complete file ---
"$DK" gradcampp demo "${NET[@]}" "$IN" -dont_show -hold -out "$tmp/sig.avi" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q "FPS" "$tmp/out" 2>/dev/null && break; sleep .1; done
sleep 1; kill -INT "$pid"; wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && grep -q "shutting down" "$tmp/err" && ok "SIGINT: clean shutdown, exit 0" || bad "SIGINT: exit $rc: $(tail -2 "$tmp/err")"
[ "$(frames_of "$tmp/sig.avi")" = 12 ] && ok "SIGINT: output complete (12 frames)" || bad "SIGINT: output $(frames_of "$tmp/sig.avi") frames"

# --- bad input: one clear line, exit 1, no hang ---
: > "$tmp/empty.avi"
echo garbage > "$tmp/garbage.mp4"
expect "no camera at index 99" 1 "$DK" gradcampp demo "${NET[@]}" -c 99 -dont_show
grep -q "no camera at index 99" "$tmp/err" && ok "names the camera index" || bad "camera error: $(cat "$tmp/err")"
expect "missing video" 1 "$DK" gradcampp demo "${NET[@]}" "$tmp/none.mp4" -dont_show
expect "empty video" 1 "$DK" gradcampp demo "${NET[@]}" "$tmp/empty.avi" -dont_show
expect "unreadable video" 1 "$DK" gradcampp demo "${NET[@]}" "$tmp/garbage.mp4" -dont_show
# hostile image-sequence patterns (a path with % goes to OpenCV's sequence reader): one line each
for pat in 'x_%s%n.png' '%999999999d.png' '%d%d.png' '%' 'a%%b.png' '%-5d.jpg'; do
    expect "sequence pattern '$pat': exit 1" 1 "$DK" gradcampp demo "${NET[@]}" "$tmp/$pat" -dont_show
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "cannot be decoded as a video" "$tmp/err" \
        || bad "sequence pattern '$pat': $(head -c 300 "$tmp/err")"
done
expect "unwritable output" 1 "$DK" gradcampp demo "${NET[@]}" "$IN" -dont_show -out /nonexistent/dir/x.avi
grep -q "cannot be written" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 2 ] && ok "unwritable output: clear message" || bad "unwritable output: $(cat "$tmp/err")"
expect "output extension other than .mp4/.avi" 1 "$DK" gradcampp demo "${NET[@]}" "$IN" -dont_show -out "$tmp/x.mkv"
expect "unknown method is a usage error" 2 "$DK" gradcampp demo "${NET[@]}" "$IN" -method nope
expect "-class out of range is a usage error" 2 "$DK" gradcampp demo "${NET[@]}" "$IN" -class 5 -dont_show

# --- a window under Xvfb: the screenshot shows the overlay ---
if command -v xvfb-run >/dev/null && command -v import >/dev/null && command -v convert >/dev/null; then
    cat > "$tmp/win.sh" <<WIN
"$DK" gradcampp demo ${NET[*]} "$IN" -hold -thresh .05 -out "$tmp/win.avi" >"$tmp/wout" 2>"$tmp/werr" &
pid=\$!
for _ in \$(seq 150); do grep -q FPS "$tmp/wout" 2>/dev/null && break; sleep .1; done
sleep 2
import -window root "$tmp/shot.png"
kill -INT \$pid; wait \$pid; echo "rc=\$?" >> "$tmp/wout"
WIN
    timeout 90 xvfb-run -a -s "-screen 0 1024x768x24" bash "$tmp/win.sh" >/dev/null 2>&1
    grep -q "rc=0" "$tmp/wout" && ok "window run: exit 0 after SIGINT" || bad "window run: $(tail -2 "$tmp/wout" "$tmp/werr" 2>/dev/null)"
    sd=$(convert "$tmp/shot.png" -format '%[fx:standard_deviation]' info: 2>/dev/null)
    awk -v s="${sd:-0}" 'BEGIN { exit !(s > 0.05) }' && ok "window screenshot is not blank (std $sd)" || bad "window screenshot blank (std ${sd:-none})"
else
    sk "window test: needs xvfb-run and ImageMagick (apt-get install xvfb imagemagick)"
fi

# --- keys under Xvfb: m cycles the method, c the class, s saves the overlay, q quits ---
if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
    DKA=$(cd "$(dirname "$DK")" && pwd)/$(basename "$DK")
    cat > "$tmp/keys.sh" <<KEYS
cd "$tmp"
"$DKA" gradcampp demo ${NET[*]} "$IN" -hold -thresh .05 >"$tmp/kout" 2>"$tmp/kerr" &
pid=\$!
for _ in \$(seq 150); do grep -q FPS "$tmp/kout" 2>/dev/null && break; sleep .1; done
sleep 1
w=\$(xdotool search --name "darknet demo" | head -1)
for k in m m c plus minus space space s; do xdotool key --window "\$w" \$k; sleep .3; done
sleep .5
xdotool key --window "\$w" q
wait \$pid; echo "rc=\$?" >> "$tmp/kout"
KEYS
    timeout 90 xvfb-run -a -s "-screen 0 1024x768x24" bash "$tmp/keys.sh" >/dev/null 2>&1
    grep -q "rc=0" "$tmp/kout" && ok "keys: q quits with exit 0" || bad "keys run: $(tail -2 "$tmp/kout" "$tmp/kerr" 2>/dev/null)"
    grep -q "method: xgradcam" "$tmp/kerr" && ok "keys: m m cycles gradcampp -> gradcam -> xgradcam" || bad "keys: no method change: $(cat "$tmp/kerr")"
    ls "$tmp"/demo_*.png >/dev/null 2>&1 && ok "keys: s saved $(basename "$(ls "$tmp"/demo_*.png | head -1)")" || bad "keys: s saved nothing"
else
    sk "key test: needs xvfb-run and xdotool (apt-get install xvfb xdotool)"
fi

# --- Yolo-Fastest 1.1 at 320 with a per-class Grad-CAM++ map, 2 threads, headless: FPS ---
M=$SHARED/models/yolo-fastest-1.1_coco
if [ -f "$M/yolo-fastest-1.1.weights" ]; then
    for i in $(seq 12 47); do cp "$(printf '%s/f_%02d.jpg' "$tmp" $((i % 12)))" "$(printf '%s/f_%02d.jpg' "$tmp" "$i")"; done
    expect "yolo-fastest demo, 48 frames" 0 "$DK" gradcampp demo "$M/yolo-fastest-1.1.cfg" "$M/yolo-fastest-1.1.weights" "$IN" -dont_show -threads 2 -out "$tmp/yf.avi"
    grep -q "^48 frames in" "$tmp/out" && ok "yolo-fastest benchmark: $(grep FPS "$tmp/out")" || bad "yolo-fastest: $(cat "$tmp/out")"
else
    sk "yolo-fastest FPS: $M absent"
fi
finish
