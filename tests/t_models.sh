#!/usr/bin/env bash
# t_models.sh - the real pretrained models in ../shared/models: (a) every cfg loads its weights
# file and consumes it exactly (`weights info` reports 0 unused bytes); (b) the outputs in
# ../shared/models/REFERENCE_RESULTS.md (an independent numpy forward pass) are reproduced:
# Tiny Darknet top-5 on dog.jpg and top-1 on eagle.jpg (letterbox), every detector row of the
# dog.jpg table (plain resize: -no_letterbox), the 500k face models on COCO 000000001000.jpg, and
# the MNIST LeNet top-1 accuracy on a fixed sample of mnist-train-first1000.
# Skips cleanly when ../shared/models is absent. Every run of the binary is under `timeout`.
# The binary runs first, writing its outputs and a manifest; one python3 pass judges them all.
source "$(dirname "$0")/lib.sh"
M=$SHARED/models
D=$SHARED/datasets
if [ ! -d "$M" ]; then
    echo "skip models: $SHARED/models is absent"
    echo "RESULT 0 0 1"; exit 0
fi
if [ ! -x "$DK" ]; then
    echo "FAIL models: $DK is not built"
    echo "RESULT 0 1 0"; exit 1
fi
M=$(cd "$M" && pwd)
[ -d "$D" ] && D=$(cd "$D" && pwd)
T=20 # seconds allowed to one run of the binary (a normal run takes well under 1 s)

why() { # rc stderr-file: a short reason for a failed run
    if [ "$1" -eq 124 ]; then echo "timed out after ${T}s (hang)"; else echo "exit $1: $(tail -n 1 "$2")"; fi
}

# ---- (a) every cfg consumes its weights exactly ------------------------------------------------
while IFS= read -r cfg; do
    w=${cfg%.cfg}.weights
    name=${cfg#"$M"/}
    if [ ! -f "$w" ]; then bad "weights $name" "no ${w##*/} next to the cfg"; continue; fi
    out=$(timeout $T $DK weights info "$cfg" "$w" 2>"$tmp/err"); rc=$?
    if [ $rc -ne 0 ]; then bad "weights $name" "$(why $rc "$tmp/err")"; continue; fi
    case "$out" in
        *" 0 unused bytes at the end") ok "weights $name (${out##*: })" ;;
        *) bad "weights $name" "expected 0 unused bytes, got: $out" ;;
    esac
done < <(find "$M" -name '*.cfg' | sort)

# ---- (b) runs; each appends "kind<TAB>label<TAB>out<TAB>rc<TAB>stderr<TAB>args..." to the manifest
man=$tmp/manifest
: > "$man"
n=0
run() { # kind label args-for-judge -- command...
    local kind=$1 label=$2 extra=$3; shift 4
    n=$((n + 1))
    timeout $T "$@" > "$tmp/o$n" 2> "$tmp/e$n"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$label" "$tmp/o$n" "$?" "$tmp/e$n" "$extra" >> "$man"
}

# (b1) Tiny Darknet, letterbox 224 (REFERENCE_RESULTS.md "Weights-are-real checks")
img=$D/darknet-sample-images
tiny=$M/tiny-darknet_imagenet
if [ -f "$tiny/tiny.cfg" ] && [ -f "$img/dog.jpg" ]; then
    printf 'classes=1000\nnames=%s\ntop=5\n' "$tiny/imagenet.shortnames.list" > "$tmp/tiny.data"
    run top "tiny-darknet dog.jpg top-5 (letterbox)" \
        "14.18|malamute;6.13|Newfoundland;5.48|dogsled;4.54|standard schnauzer;3.94|Eskimo dog" -- \
        $DK classifier predict "$tmp/tiny.data" "$tiny/tiny.cfg" "$tiny/tiny.weights" "$img/dog.jpg"
    run top "tiny-darknet eagle.jpg top-1 (letterbox)" "53.71|bald eagle" -- \
        $DK classifier predict "$tmp/tiny.data" "$tiny/tiny.cfg" "$tiny/tiny.weights" "$img/eagle.jpg"
    sk "tiny-darknet plain resize" "the reference's plain-resize variant has no CLI switch (-center_crop is a different crop)"
else
    sk "tiny-darknet" "model or dog.jpg absent"
fi

# (b2) detectors: the dog.jpg table and the face rows. The reference resizes straight to the
# network size, so we run with -no_letterbox. A row names <dir>/<cfg>, or only <dir> (face rows).
face_img=$D/coco128-val2017/images/000000001000.jpg
python3 - "$M/REFERENCE_RESULTS.md" "$img/dog.jpg" "$face_img" > "$tmp/rows" <<'EOF'
import re, struct, sys
def jpeg_size(path):
    try: b = open(path, 'rb').read()
    except OSError: return 0, 0
    i = 2
    while i + 9 < len(b):
        while b[i] != 0xFF: i += 1
        while b[i] == 0xFF: i += 1
        mk = b[i]; i += 1
        if mk in (0xD8, 0x01) or 0xD0 <= mk <= 0xD7: continue
        if 0xC0 <= mk <= 0xCF and mk not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack('>HH', b[i + 3:i + 7]); return w, h
        i += struct.unpack('>H', b[i:i + 2])[0]
    return 0, 0
dw, dh = jpeg_size(sys.argv[2]); fw, fh = jpeg_size(sys.argv[3])
for line in open(sys.argv[1]).read().split('\n'):
    m = re.match(r'^\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|\s*$', line) # two-column rows only
    if not m or m.group(1) == 'model' or set(m.group(1)) <= set('-: '): continue
    model, dets = m.group(1), m.group(2)
    if '/' in model and '(' not in model:
        print('dog|%s|.25|%s|%d|%d' % (model, dets, dw, dh))
    else:
        f = re.match(r'^(\S+) \((\S+), thresh ([.0-9]+)\)$', model)
        if f: print('face|%s|%s|%s|%d|%d' % (f.group(1), f.group(3), dets, fw, fh))
EOF
[ -s "$tmp/rows" ] || bad "detect" "no rows read from $SHARED/models/REFERENCE_RESULTS.md"
while IFS='|' read -r kind model thresh refs W H; do
    if [ "$kind" = dog ]; then
        cfg=$M/$model.cfg; image=$img/dog.jpg; label="$model dog.jpg"
    else
        cfg=$(ls "$M/$model"/*.cfg 2>/dev/null | head -n 1); image=$face_img; label="$model ${face_img##*/}"
    fi
    if [ ! -f "$cfg" ] || [ ! -f "$image" ]; then sk "detect $label" "cfg or image absent"; continue; fi
    names=$(ls "$(dirname "$cfg")"/*.names 2>/dev/null | head -n 1)
    k=$((n + 1))
    printf 'names=%s\n' "$names" > "$tmp/det$k.data"
    run "$kind" "detect $label (thresh $thresh, -no_letterbox)" "$refs"$'\t'"$W"$'\t'"$H" -- \
        $DK detector test "$tmp/det$k.data" "$cfg" "${cfg%.cfg}.weights" "$image" -thresh "$thresh" \
        -no_letterbox -ext_output -out "$tmp/x$k"
    if [ "$(tail -n 1 "$man" | cut -f4)" = 0 ] && [ ! -s "$tmp/x$k.jpg" ]; then
        bad "detect $label" "exit 0 but no -out image $tmp/x$k.jpg written"
    fi
done < "$tmp/rows"

# (b3) MNIST LeNet top-1 on mnist-train-first1000. Labels are in the file names (t_NNNNN_c<d>.png),
# names 0..9. The PNGs are 28x28 gray and the cfg says channels=3: each digit is loaded as 3 equal
# channels. A run takes ~0.1 s, so a fixed sample is used (every 10th image: 100 digits); the
# reference accuracy on all 1000 is 95.0 %, we require >= 90 % on the sample. Runs are serial; a
# hung run costs its timeout, so the loop stops after 3 hangs (the accuracy is then unmeasured).
lenet=$M/mnist-lenet
mn=$D/mnist-train-first1000/images
if [ -f "$lenet/mnist_lenet.cfg" ] && [ -d "$mn" ]; then
    echo "  mnist-lenet: cfg channels=$(grep -m1 '^channels' "$lenet/mnist_lenet.cfg" | cut -d= -f2 | tr -d ' '), inputs 28x28 gray PNG loaded as 3 channels"
    printf 'classes=10\nnames=%s\ntop=1\n' "$lenet/mnist.names.list" > "$tmp/mnist.data"
    mkdir -p "$tmp/mn"
    ls "$mn" | grep '_c[0-9]\.png$' | sort | awk 'NR % 10 == 1' > "$tmp/mnlist"
    hung=0; : > "$tmp/mndone"
    while read -r f; do
        timeout 5 $DK classifier predict "$tmp/mnist.data" "$lenet/mnist_lenet.cfg" "$lenet/mnist_lenet.weights" \
            "$mn/$f" > "$tmp/mn/$f.out" 2>/dev/null
        rc=$?
        printf '%s\t%s\n' "$f" "$rc" >> "$tmp/mndone"
        if [ $rc -eq 124 ]; then hung=$((hung + 1)); [ $hung -ge 3 ] && break; fi
    done < "$tmp/mnlist"
    printf 'mnist\tmnist-lenet\t%s\t0\t-\t%s\t%s\t%s\n' "$tmp/mn" "$tmp/mndone" "$(wc -l < "$tmp/mnlist")" \
        "$DK classifier predict DATA $lenet/mnist_lenet.cfg $lenet/mnist_lenet.weights $mn/" >> "$man"
else
    sk "mnist-lenet" "model or mnist-train-first1000 absent"
fi

# ---- judge -------------------------------------------------------------------------------------
# top:   same names in the same order, each within 0.05 percentage points.
# dog:   every reference detection "cls conf [l,t,w,h]" is matched one-to-one by ours (same class,
#        |conf| <= .02, box within 3 px); none of ours above .30 lacks a reference counterpart.
#        Printed confidences are whole percents. The reference boxes are not clipped to the image,
#        ours are (as Darknet's draw_detections clips), so the reference box is clipped first.
# face:  "<N> faces; top: conf [l,t,w,h]; ..." -> count within +-2, each top box within .03 / 4 px.
# mnist: every sampled run finished, top-1 >= 90 %.
python3 - "$man" <<'EOF' > "$tmp/judged" 2> "$tmp/judge_err" || echo "FAIL judge: python3 exited $?: $(tail -n 1 "$tmp/judge_err")" >> "$tmp/judged"
import os, re, sys
def out(ok, label, why=''):
    print(('ok   %s' % label) if ok else ('FAIL %s: %s' % (label, why)))
def fmt(d): return '%s %.2f [%s]' % (d[0], d[1], ','.join(str(v) for v in d[2]))
def near(r, o, ctol, btol):
    return r[0] == o[0] and abs(r[1] - o[1]) <= ctol + 1e-9 and all(abs(a - b) <= btol for a, b in zip(r[2], o[2]))
def parse_dets(text):
    dets, names = [], []
    for line in text.split('\n'):
        m = re.match(r'^(.*): (\d+)%$', line)
        if m:
            names.append((m.group(1), int(m.group(2)) / 100.0)); continue
        m = re.match(r'^\s*\(left_x:\s*(-?\d+)\s+top_y:\s*(-?\d+)\s+width:\s*(-?\d+)\s+height:\s*(-?\d+)\)$', line)
        if m:
            box = [int(v) for v in m.groups()]
            dets += [(nm, c, box) for nm, c in names]; names = []
    return dets, len(names)
for row in open(sys.argv[1]).read().split('\n'):
    if not row: continue
    f = row.split('\t'); kind, label, path, rc, err = f[:5]; args = f[5:]
    if kind == 'mnist':
        done, total, cmd = args[0], int(args[1]), args[2]
        right = hung = failed = 0; bad = []
        lines = [l.split('\t') for l in open(done).read().split('\n') if l]
        for name, frc in lines:
            if frc == '124': hung += 1; bad.append(name); continue
            m = re.match(r'^\s*[0-9.]+%: (\S+)$', open(os.path.join(path, name + '.out')).read().split('\n')[0]) if frc == '0' else None
            if not m: failed += 1; bad.append(name); continue
            right += m.group(1) == re.search(r'_c(\d)\.png$', name).group(1)
        n = len(lines)
        print('    sample of %d digits run: %d right (%.1f %%); reference 95.0 %% on all 1000' % (n, right, 100.0 * right / max(1, n)))
        out(not hung and not failed, 'mnist-lenet runs finish (%d of %d)' % (n - hung - failed, total),
            '%d hung (timeout 5 s; the loop stops at 3), %d failed; e.g. %s%s' % (hung, failed, cmd, bad[0] if bad else ''))
        if n < total: out(False, 'mnist-lenet top-1 >= 90 %', 'not measured: only %d of %d digits ran before the runs hung' % (n, total))
        else: out(right * 100 >= n * 90, 'mnist-lenet top-1 >= 90 %% (%d of %d)' % (right, n), '%d of %d right' % (right, n))
        continue
    if rc != '0':
        tail = [l for l in open(err).read().split('\n') if l][-1:] or ['']
        out(False, label, 'timed out (hang)' if rc == '124' else 'exit %s: %s' % (rc, tail[0])); continue
    text = open(path).read()
    print('  ' + label + ':')
    if kind == 'top':
        exp = [(float(p), nm) for p, nm in (e.split('|', 1) for e in args[0].split(';'))]
        got = [(float(m.group(1)), m.group(2)) for m in re.finditer(r'^\s*([0-9.]+)%: (.*)$', text, re.M)]
        print('    reference: ' + ', '.join('%s %.2f%%' % (nm, p) for p, nm in exp))
        print('    ours:      ' + ', '.join('%s %.2f%%' % (nm, p) for p, nm in got))
        errs = [] if len(got) >= len(exp) else ['%d predictions, expected %d' % (len(got), len(exp))]
        for i, ((ep, en), (gp, gn)) in enumerate(zip(exp, got)):
            if en != gn: errs.append('rank %d: %s, expected %s' % (i + 1, gn, en))
            elif abs(ep - gp) > 0.05 + 1e-9: errs.append('rank %d %s: %.2f%%, expected %.2f%%' % (i + 1, en, gp, ep))
        out(not errs, label, '; '.join(errs)); continue
    W, H = int(args[1]), int(args[2])
    ours, dangling = parse_dets(text)
    errs = ['a "name: NN%" line without a box line after it (-ext_output)'] if dangling else []
    print('    ours:      ' + ('; '.join(fmt(o) for o in ours) or '(none)'))
    if kind == 'dog':
        def clip(b):
            l, t, w, h = b; r, bt = min(W - 1, l + w), min(H - 1, t + h); l, t = max(0, l), max(0, t)
            return [l, t, r - l, bt - t]
        ref = [(m.group(1), float(m.group(2)), clip([int(v) for v in m.group(3, 4, 5, 6)]))
               for m in re.finditer(r'\s*([^;\[]+?) ([0-9.]+) \[(-?\d+),(-?\d+),(-?\d+),(-?\d+)\]', args[0])]
        print('    reference: ' + ('; '.join(fmt(r) for r in ref) or '(none)') + '  (boxes clipped to %dx%d)' % (W, H))
        used = set()
        for r in ref:
            k = next((i for i, o in enumerate(ours) if i not in used and near(r, o, .02, 3)), None)
            if k is None: errs.append('missing ' + fmt(r))
            else: used.add(k)
        errs += ['extra ' + fmt(o) for o in ours if o[1] > .30 + 1e-9 and not any(near(r, o, .02, 3) for r in ref)]
    else:
        m = re.match(r'^(\d+) faces; top: (.*)$', args[0])
        if not m: out(False, label, 'cannot read the reference row: ' + args[0]); continue
        nref = int(m.group(1))
        ref = [('', float(c), [int(v) for v in b.split(',')]) for c, b in re.findall(r'([0-9.]+) \[([-0-9,]+)\]', m.group(2))]
        print('    reference: %d faces; top: %s' % (nref, '; '.join(fmt(r)[1:] for r in ref)))
        if abs(len(ours) - nref) > 2: errs.append('%d faces, reference %d (+-2)' % (len(ours), nref))
        errs += ['missing face ' + fmt(r)[1:] for r in ref if not any(near(r, ('',) + o[1:], .03, 4) for o in ours)]
    out(not errs, label, '; '.join(errs))
EOF
cat "$tmp/judged"
pass=$((pass + $(grep -c '^ok ' "$tmp/judged"))); fail=$((fail + $(grep -c '^FAIL ' "$tmp/judged")))

echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
