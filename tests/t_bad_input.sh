#!/usr/bin/env bash
# t_bad_input.sh - malformed input to the CLI, table-driven. Each row: a description, the expected
# exit status (1 bad input, 2 usage, 0 accepted with a warning), a regex the error line must match
# (it names the file, and for cfgs the line `file:LINE:` or the layer), and the command. For every
# row: the command finishes within 10 s, stderr has no crash report (Segmentation fault,
# AddressSanitizer, runtime error), there is exactly one error line ("darknet: ..." that is not a
# warning; for usage errors the "usage:" line may follow it), and no output file is left behind
# by a failed command (weights random's out file, detector test's -out image, or a temporary
# next to them); write failures are provoked with `ulimit -f`. Two accepted inputs are checked on
# stdout at the end: `weights info` on an oversized file reports the unused bytes, and `-top 0`
# means "not given" (the .data file's top), as in pjreddie's classifier predict; -top -1 and
# -top 5000 are the out-of-range rows. DARKNET=path runs the table against another build.
source "$(dirname "$0")/lib.sh"
TMO=${BAD_INPUT_TIMEOUT:-10} # seconds per row (tests/valgrind.sh gives memcheck more)
if [ ! -x "$DK" ]; then
    echo "FAIL bad_input: $DK is not built"
    echo "RESULT 0 1 0"; exit 1
fi
T=$tmp

# ---- fixtures ----------------------------------------------------------------------------------
NET='[net]
width=8
height=8
channels=3
'
CONV='[convolutional]
filters=4
size=3
stride=1
pad=1
activation=leaky
'
mk() { printf '%s' "$2" > "$T/$1"; } # name text
mk good.cfg "$NET
$CONV
[convolutional]
filters=2
size=1
stride=1
activation=linear
"
# line numbers below count from 1: [net] is 1-4, blank 5, the first [convolutional] starts at 6
mk unknown_section.cfg "$NET
[convolutionall]
filters=4
"
mk no_net.cfg "$CONV"
mk neg_stopbackward.cfg "$NET
${CONV}stopbackward=-1
"
mk net_no_width.cfg '[net]
height=8
channels=3

'"$CONV"
mk neg_size.cfg "$NET
[convolutional]
filters=4
size=-3
stride=1
pad=1
activation=leaky
"
mk huge_filters.cfg "$NET
[convolutional]
filters=100000000
size=3
stride=1
pad=1
activation=leaky
"
mk size0.cfg "$NET
[convolutional]
filters=4
size=0
stride=1
activation=leaky
"
mk stride0.cfg "$NET
[convolutional]
filters=4
size=3
stride=0
pad=1
activation=leaky
"
mk filters0.cfg "$NET
[convolutional]
filters=0
size=3
stride=1
pad=1
activation=leaky
"
mk route_later.cfg "$NET
$CONV
[route]
layers=2

$CONV"
mk route_far.cfg "$NET
$CONV
[route]
layers=-100
"
mk shortcut_far.cfg "$NET
$CONV
$CONV
[shortcut]
from=-50
activation=linear
"
mk shortcut_nofrom.cfg "$NET
$CONV
$CONV
[shortcut]
activation=linear
"
mk bad_act.cfg "$NET
[convolutional]
filters=4
size=3
stride=1
pad=1
activation=leakyy
"
mk nonnum.cfg "$NET
[convolutional]
filters=4
size=abc
stride=1
pad=1
activation=leaky
"
mk key_first.cfg "width=8
$NET
$CONV"
mk no_equals.cfg "$NET
[convolutional]
filters=4
size 3
stride=1
activation=leaky
"
mk empty.cfg ""
# a yolo head needs (classes + 5) * len(mask) channels: 3 * (2 + 5) = 21, we give 20
mk yolo_channels.cfg '[net]
width=32
height=32
channels=3

[convolutional]
filters=20
size=1
stride=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=2
num=3
'
mk groups.cfg "$NET
[convolutional]
filters=4
size=3
stride=1
pad=1
groups=2
activation=leaky
"
mk maxpool0.cfg "$NET
$CONV
[maxpool]
size=0
stride=2
"
mk hugeout.cfg '[net]
width=16384
height=16384
channels=3

[convolutional]
filters=4096
size=3
stride=1
pad=1
activation=leaky
'
mk yolo_mask.cfg '[net]
width=32
height=32
channels=3

[convolutional]
filters=18
size=1
stride=1
activation=linear

[yolo]
mask=0,1,7
anchors=10,14, 23,27, 37,58
classes=1
num=3
'
mk yolo_anchors.cfg '[net]
width=32
height=32
channels=3

[convolutional]
filters=18
size=1
stride=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23
classes=1
num=3
'
mk route_sizes.cfg "$NET
[convolutional]
filters=4
size=1
stride=1
activation=linear

[maxpool]
size=2
stride=2

[route]
layers=-1,-2
"
mk kernel.cfg '[net]
width=4
height=4
channels=3

[convolutional]
filters=4
size=7
stride=1
activation=linear
'
head -c 2000 /bin/ls > "$T/garbage.cfg"
mkdir "$T/dir.cfg" "$T/dir.weights"

# weights for the fixtures; a run that hangs is retried (and reported: it is an engine bug)
mkweights() { # cfg out
    local i rc
    for i in 1 2 3; do
        timeout $TMO "$DK" weights random "$T/$1" "$T/$2" -seed 5 2>"$T/stderr"; rc=$?
        [ $rc -eq 0 ] && return 0
        if [ $rc -eq 124 ]; then
            echo "FAIL fixture: '$DK weights random $1 $2 -seed 5' did not finish within $TMO s (try $i of 3)"
            fail=$((fail + 1))
        else
            echo "FAIL fixture: weights random $1: exit $rc: $(tail -n 1 "$T/stderr")"
            echo "RESULT $pass $((fail + 1)) $skip"; exit 1
        fi
    done
    echo "RESULT $pass $fail $skip"; exit 1
}
mkweights good.cfg good.weights
wsize=$(stat -c %s "$T/good.weights")
# 4 floats of biases + 4*3*3*3 weights = 112 floats for conv 0, 2 + 2*4 = 10 for conv 1; cut inside conv 1
head -c $((wsize - 12)) "$T/good.weights" > "$T/trunc.weights"
: > "$T/zero.weights"
head -c 20 "$T/good.weights" > "$T/header.weights"
cp "$T/good.weights" "$T/over.weights"; printf 'EXTRABYTES123456' >> "$T/over.weights"

src=$SHARED/datasets/darknet-sample-images/dog.jpg
[ -f "$src" ] || src=/usr/share/darknet/data/dog.jpg
have_img=1
if [ -f "$src" ]; then
    cp "$src" "$T/dog.jpg"
    "$BUILD"/tests/tools/imgconv "$src" "$T/dog.png" 64 48 || have_img=0
else
    have_img=0
fi
if [ $have_img = 1 ]; then
    : > "$T/zero.jpg"
    jsz=$(stat -c %s "$T/dog.jpg"); psz=$(stat -c %s "$T/dog.png")
    head -c $((jsz / 3)) "$T/dog.jpg" > "$T/trunc.jpg"
    head -c $((psz / 2)) "$T/dog.png" > "$T/trunc.png"
    echo "this is not an image" > "$T/text.jpg"
    # headers that claim absurd sizes (must be refused before any allocation), broken PNG data
    python3 - "$T" <<'EOF'
import struct, sys, zlib
d = sys.argv[1]
b = bytearray(open(d + '/dog.jpg', 'rb').read()); i = 2
while True:  # patch the SOF marker's height and width to 60000
    while b[i] != 0xFF: i += 1
    while b[i] == 0xFF: i += 1
    mk = b[i]; i += 1
    if 0xC0 <= mk <= 0xCF and mk not in (0xC4, 0xC8, 0xCC):
        struct.pack_into('>HH', b, i + 3, 60000, 60000); break
    i += struct.unpack('>H', b[i:i + 2])[0]
open(d + '/hugedim.jpg', 'wb').write(b)
def chunk(t, x): return struct.pack('>I', len(x)) + t + x + struct.pack('>I', zlib.crc32(t + x) & 0xffffffff)
def png(w, h, color, idat):
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, color, 0, 0, 0))
            + chunk(b'IDAT', idat) + chunk(b'IEND', b''))
rows = b''.join(b'\0' + b'\x80' * 10 for _ in range(10))
open(d + '/hugedim.png', 'wb').write(png(30000, 30000, 0, zlib.compress(rows)))
open(d + '/short_idat.png', 'wb').write(png(16000, 16000, 2, zlib.compress(b'\0' * 100)))
open(d + '/bad_filter.png', 'wb').write(png(10, 10, 0, zlib.compress(b''.join(b'\x09' + b'\x80' * 10 for _ in range(10)))))
# seeded random bytes after the first 600 bytes (the headers) of dog.jpg
import random
r = random.Random(3)
open(d + '/corrupt.jpg', 'wb').write(open(d + '/dog.jpg', 'rb').read()[:600] + bytes(r.randrange(256) for _ in range(20000)))
EOF
fi
# a detector net for detector test (1 class) and a classifier net for classifier predict
mk det.cfg '[net]
width=32
height=32
channels=3

[convolutional]
filters=18
size=1
stride=1
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=1
num=3
'
mk cls.cfg "$NET
[convolutional]
filters=3
size=1
stride=1
activation=linear

[avgpool]

[softmax]
"
mkweights det.cfg det.weights
mkweights cls.cfg cls.weights
cp "$T/det.weights" "$T/det_over.weights"; printf 'EXTRABYTES123456' >> "$T/det_over.weights"
printf 'a\nb\nc\n' > "$T/abc.names"
printf 'obj\n' > "$T/obj.names"
printf 'classes=3\nnames=%s\ntop=1\n' "$T/abc.names" > "$T/cls.data"
printf 'classes=1\nnames=%s\n' "$T/obj.names" > "$T/det.data"
printf 'classes=1\n' > "$T/nonames.data"
printf 'classes=1\nnames=%s\n' "$T/missing.names" > "$T/missingnames.data"
: > "$T/empty.names"
printf 'classes=1\nnames=%s\n' "$T/empty.names" > "$T/emptynames.data"
printf 'classes=3\nnames=%s\n' "$T/obj.names" > "$T/fewnames.data"
mk big.cfg "$NET
[convolutional]
filters=256
size=3
stride=1
pad=1
activation=leaky
"
# runs a command with writes limited to 4 KiB (SIGXFSZ ignored, so write() fails with EFBIG)
LIM=(bash -c 'trap "" XFSZ; ulimit -f 4; exec "$@"' lim)

# ---- the check ---------------------------------------------------------------------------------
# row desc expected-rc regex [out-file-that-must-not-exist|-] -- command...
row() {
    local desc=$1 want=$2 re=$3 outf=$4; shift 5
    [ "$outf" != - ] && rm -f "$T/$outf"*
    local t0 rc
    t0=${EPOCHREALTIME/[.,]/}
    (cd "$T" && timeout $TMO "$@") > "$T/stdout" 2> "$T/stderr"; rc=$?
    local us=$(( ${EPOCHREALTIME/[.,]/} - t0 )) dt
    dt=$((us / 1000000)).$(printf '%02d' $((us / 10000 % 100)))
    local errs nerr line why=""
    errs=$(grep -E '^darknet: ' "$T/stderr" | grep -v '^darknet: warning: ')
    nerr=$(printf '%s' "$errs" | grep -c '')
    line=$(printf '%s\n' "$errs" | head -n 1)
    if [ "$want" -eq 0 ]; then line=$(grep -E '^darknet: warning: ' "$T/stderr" | head -n 1); fi
    [ -z "$line" ] && [ "$want" -eq 2 ] && line=$(grep -E '^usage: ' "$T/stderr" | head -n 1)
    if [ $rc -eq 124 ]; then why="did not finish within $TMO s"
    elif grep -qE 'Segmentation fault|AddressSanitizer|runtime error|LeakSanitizer|core dumped' "$T/stderr"; then
        why="crash report in stderr: $(grep -m1 -E 'Segmentation fault|AddressSanitizer|runtime error|LeakSanitizer|core dumped' "$T/stderr")"
    elif [ $rc -ge 128 ]; then why="killed by signal $((rc - 128))"
    elif [ $rc -ne "$want" ]; then why="exit $rc, expected $want"
    elif [ "$want" -ne 0 ] && [ "$nerr" -gt 1 ]; then why="$nerr error lines, expected one"
    elif [ -z "$line" ]; then why="no error line in stderr"
    elif ! printf '%s\n' "$line" | grep -qE -- "$re"; then why="error line does not match /$re/"
    elif [ "$outf" != - ] && [ "$want" -ne 0 ] && compgen -G "$T/$outf*" > /dev/null; then
        why="left $(cd "$T" && ls -d "$outf"* | tr '\n' ' ')behind after failing"
    fi
    if [ -z "$why" ]; then
        echo "ok   $desc (exit $rc, ${dt}s): ${line:0:150}"; pass=$((pass + 1))
    else
        echo "FAIL $desc: $why"
        echo "       command: (cd \$tmp && $*)"
        echo "       stderr:  $(tail -n 3 "$T/stderr" | cut -c1-200 | tr '\n' '|')"
        fail=$((fail + 1))
    fi
}
ig() { # image test (skip when no sample image)
    if [ $have_img = 1 ]; then row "$@"; else echo "skip $1: no dog.jpg"; skip=$((skip + 1)); fi
}

WR="$DK weights random"
# cfgs (loaded by `weights random CFG out.weights`: nothing may be written on failure)
row "cfg unknown section"       1 'unknown_section\.cfg:6:.*convolutionall'   out.weights -- $WR unknown_section.cfg out.weights
row "cfg missing [net]"         1 'no_net\.cfg(:1:|: ).*net'                  out.weights -- $WR no_net.cfg out.weights
row "cfg [net] without width"   1 'net_no_width\.cfg:1:.*width'               out.weights -- $WR net_no_width.cfg out.weights
row "cfg negative size"         1 'neg_size\.cfg:8:.*size'                    out.weights -- $WR neg_size.cfg out.weights
row "cfg huge filters"          1 'huge_filters\.cfg:(6|7):.*filters'         out.weights -- $WR huge_filters.cfg out.weights
row "cfg size=0"                1 'size0\.cfg:(6|8):.*size'                   out.weights -- $WR size0.cfg out.weights
row "cfg stride=0"              1 'stride0\.cfg:(6|9):.*stride'               out.weights -- $WR stride0.cfg out.weights
row "cfg filters=0"             1 'filters0\.cfg:(6|7):.*filters'             out.weights -- $WR filters0.cfg out.weights
row "cfg route to a later layer" 1 'route_later\.cfg:(13|14):.*(layer|route)' out.weights -- $WR route_later.cfg out.weights
row "cfg route to layer -100"   1 'route_far\.cfg:(13|14):.*(-100|layer)'     out.weights -- $WR route_far.cfg out.weights
row "cfg shortcut from=-50"     1 'shortcut_far\.cfg:(20|21):.*(-50|from)'    out.weights -- $WR shortcut_far.cfg out.weights
row "cfg shortcut without from" 1 'shortcut_nofrom\.cfg:20:.*from'            out.weights -- $WR shortcut_nofrom.cfg out.weights
row "cfg bad activation"        1 'bad_act\.cfg:(6|11):.*leakyy'              out.weights -- $WR bad_act.cfg out.weights
row "cfg size=abc"              1 'nonnum\.cfg:8:.*abc'                       out.weights -- $WR nonnum.cfg out.weights
row "cfg key before section"    1 'key_first\.cfg:1:.*width'                  out.weights -- $WR key_first.cfg out.weights
row "cfg line without ="        1 'no_equals\.cfg:8:.*size'                   out.weights -- $WR no_equals.cfg out.weights
row "cfg empty file"            1 'empty\.cfg(:[0-9]+)?: .*(empty|no section|\[net\])' out.weights -- $WR empty.cfg out.weights
row "cfg yolo wrong channels"   1 'yolo_channels\.cfg:(12|[0-9]+):.*(20|21|channel|filters)' out.weights -- $WR yolo_channels.cfg out.weights
row "cfg groups not dividing"   1 'groups\.cfg:(6|11):.*groups'               out.weights -- $WR groups.cfg out.weights
row "cfg maxpool size=0"        1 'maxpool0\.cfg:(13|14):.*size'              out.weights -- $WR maxpool0.cfg out.weights
row "cfg binary garbage"        1 'garbage\.cfg(:[0-9]+)?: '                  out.weights -- $WR garbage.cfg out.weights
row "cfg is a directory"        1 'dir\.cfg(:[0-9]+)?: .*(director|read|open)' out.weights -- $WR dir.cfg out.weights
row "cfg missing file"          1 'nothere\.cfg: .*(No such file|open)'       out.weights -- $WR nothere.cfg out.weights
row "cfg output size too large" 1 'hugeout\.cfg(:[0-9]+)?: layer 0.*(range|large|memory)'        out.weights -- $WR hugeout.cfg out.weights
row "cfg yolo mask out of range" 1 'yolo_mask\.cfg:13:.*mask.*7'              out.weights -- $WR yolo_mask.cfg out.weights
row "cfg yolo too few anchors"  1 'yolo_anchors\.cfg:14:.*anchor'             out.weights -- $WR yolo_anchors.cfg out.weights
row "cfg route inputs differ"   1 'route_sizes\.cfg:17:.*route'               out.weights -- $WR route_sizes.cfg out.weights
row "cfg kernel larger than input" 1 'kernel\.cfg:(6|8):.*(kernel|size)'      out.weights -- $WR kernel.cfg out.weights
row "cfg negative stopbackward" 1 'neg_stopbackward\.cfg:12:.*stopbackward=-1' out.weights -- $WR neg_stopbackward.cfg out.weights

# weights
WI="$DK weights info"
row "weights truncated"         1 'trunc\.weights.*layer 1'                   - -- $WI good.cfg trunc.weights
row "weights zero bytes"        1 'zero\.weights.*(header|short|empty|truncated)' - -- $WI good.cfg zero.weights
row "weights header only"       1 'header\.weights.*layer 0'                  - -- $WI good.cfg header.weights
ig "weights oversized (warns)"  0 'det_over\.weights.*16 bytes'               out.jpg -- $DK detector test det.data det.cfg det_over.weights dog.jpg -out out
row "weights is a directory"    1 'dir\.weights: .*(director|regular|read|open)'      - -- $WI good.cfg dir.weights
row "weights missing file"      1 'nothere\.weights: .*(No such file|open)'   - -- $WI good.cfg nothere.weights
row "weights out dir missing"   1 'nodir/out\.weights: '                     - -- $WR good.cfg nodir/out.weights
row "weights write fails (file size limit)" 1 'out\.weights.*(large|write)'   out.weights -- "${LIM[@]}" $WR big.cfg out.weights
row "detector truncated weights" 1 'trunc\.weights.*layer 1'                  out.jpg -- $DK detector test det.data good.cfg trunc.weights dog.jpg -out out

# images (detector test on a 1-class net, -out out: no out.jpg may be left on failure)
DT="$DK detector test det.data det.cfg det.weights"
ig "image zero bytes"           1 'zero\.jpg'                                 out.jpg -- $DT zero.jpg -out out
ig "image truncated JPEG"       1 'trunc\.jpg'                                out.jpg -- $DT trunc.jpg -out out
ig "image truncated PNG"        1 'trunc\.png'                                out.jpg -- $DT trunc.png -out out
ig "image corrupt JPEG"         1 'corrupt\.jpg'                              out.jpg -- $DT corrupt.jpg -out out
ig "image text named .jpg"      1 'text\.jpg'                                 out.jpg -- $DT text.jpg -out out
ig "image missing"              1 'nothere\.jpg: .*(No such file|open)'       out.jpg -- $DT nothere.jpg -out out
ig "image JPEG header 60000x60000" 1 'hugedim\.jpg.*60000'                    out.jpg -- $DT hugedim.jpg -out out
ig "image PNG header 30000x30000" 1 'hugedim\.png.*30000'                     out.jpg -- $DT hugedim.png -out out
ig "image PNG 16000x16000 short data" 1 'short_idat\.png'                     out.jpg -- $DT short_idat.png -out out
ig "image PNG bad filter byte"  1 'bad_filter\.png'                           out.jpg -- $DT bad_filter.png -out out
ig "image -out write fails (file size limit)" 1 'out\.jpg.*(write|space|large)' out.jpg -- "${LIM[@]}" $DT dog.jpg -out out
ig "image -out dir missing"     1 'nodir/out\.jpg'                            - -- $DT dog.jpg -out nodir/out
ig "image classifier truncated JPEG" 1 'trunc\.jpg'                           - -- $DK classifier predict cls.data cls.cfg cls.weights trunc.jpg

# .data files
ig "data without names"         1 'names'                                     out.jpg -- $DK detector test nonames.data det.cfg det.weights dog.jpg -out out
ig "data names file missing"    1 'missing\.names'                            out.jpg -- $DK detector test missingnames.data det.cfg det.weights dog.jpg -out out
ig "data file missing"          1 'nothere\.data'                             out.jpg -- $DK detector test nothere.data det.cfg det.weights dog.jpg -out out
ig "data names file empty"      1 '(emptynames\.data|empty\.names).*(0 names|empty)' out.jpg -- $DK detector test emptynames.data det.cfg det.weights dog.jpg -out out
ig "data fewer names than classes" 1 'fewnames\.data.*1 names? for 3'        - -- $DK classifier predict fewnames.data cls.cfg cls.weights dog.jpg
ig "detector test on a classifier" 1 'cls\.cfg.*detector'                    out.jpg -- $DK detector test det.data cls.cfg cls.weights dog.jpg -out out

# flags and arguments
ig "flag unknown -foo"          2 "'-foo'"                                    out.jpg -- $DT dog.jpg -foo -out out
ig "flag -thresh abc"           2 "-thresh.*'abc'"                            out.jpg -- $DT dog.jpg -thresh abc -out out
ig "flag -thresh without value" 2 "-thresh"                                   - -- $DT dog.jpg -thresh
ig "flag -thresh nan"           2 "-thresh"                                   out.jpg -- $DT dog.jpg -thresh nan -out out
ig "flag -thresh 2"             2 "-thresh"                                   out.jpg -- $DT dog.jpg -thresh 2 -out out
ig "flag -thresh -0.5"          2 "-thresh"                                   out.jpg -- $DT dog.jpg -thresh -0.5 -out out
ig "flag -top 1.5"              2 "-top.*'1\.5'"                              - -- $DK classifier predict cls.data cls.cfg cls.weights dog.jpg -top 1.5
ig "args too many positional"   2 "unexpected argument 'extra'"              out.jpg -- $DT dog.jpg extra -out out
ig "flag -top -1"               2 '-top -1'                                   - -- $DK classifier predict cls.data cls.cfg cls.weights dog.jpg -top -1
ig "flag -top 5000"             2 '-top 5000'                                 - -- $DK classifier predict cls.data cls.cfg cls.weights dog.jpg -top 5000
row "args detector test missing positional" 2 'usage: darknet detector test' - -- $DK detector test det.data det.cfg
row "args classifier predict missing positional" 2 'usage: darknet classifier predict' - -- $DK classifier predict cls.data
row "args weights info missing positional" 2 'usage: darknet weights'   - -- $DK weights info good.cfg
row "unknown subcommand"        2 "unknown command 'frobnicate'"             - -- $DK frobnicate
row "unknown detector command"  2 "unknown detector command 'tset'"          - -- $DK detector tset a b c d
row "unknown weights command"   2 "(unknown.*'frob'|usage: darknet weights)" - -- $DK weights frob good.cfg x
row "no arguments"              2 '^usage: darknet'                          - -- $DK

# two accepted inputs whose output is checked on stdout
out=$(cd "$T" && timeout $TMO "$DK" weights info good.cfg over.weights 2>/dev/null); rc=$?
if [ $rc -eq 0 ] && [[ "$out" == *"over.weights: 2 layers loaded, 16 unused bytes at the end" ]]; then
    echo "ok   weights info oversized: $out"; pass=$((pass + 1))
else echo "FAIL weights info oversized: exit $rc, stdout '$out' (want 16 unused bytes)"; fail=$((fail + 1)); fi
# -top 0 is Darknet's "not given": the .data file's top (1 here) is used, as pjreddie's predict does
if [ $have_img = 1 ]; then
    out=$(cd "$T" && timeout $TMO "$DK" classifier predict cls.data cls.cfg cls.weights dog.jpg -top 0 2>/dev/null); rc=$?
    if [ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | grep -c '%: ')" -eq 1 ]; then
        echo "ok   flag -top 0 means the .data top (Darknet): 1 line"; pass=$((pass + 1))
    else echo "FAIL flag -top 0: exit $rc, stdout '$out' (want the .data file's top=1: one line)"; fail=$((fail + 1)); fi
fi

# an output path that is a symlink is written through (as Darknet's fopen does), not replaced by
# a regular file: the temporary-and-rename save must not turn e.g. /dev/stdout into a file
symcheck() { # desc link target -- command...
    local desc=$1 link=$2 target=$3; shift 4
    rm -f "$T/$link" "$T/$target"; : > "$T/$target"; ln -s "$target" "$T/$link"
    (cd "$T" && timeout $TMO "$@") > /dev/null 2> "$T/stderr"; local rc=$?
    if [ $rc -eq 0 ] && [ -L "$T/$link" ] && [ -s "$T/$target" ]; then
        echo "ok   $desc"; pass=$((pass + 1))
    else
        echo "FAIL $desc: exit $rc; $link is $([ -L "$T/$link" ] && echo 'still a symlink' || echo 'no longer a symlink'), $target has $(stat -c %s "$T/$target") bytes"
        echo "       command: (cd \$tmp && : > $target && ln -s $target $link && $*)"
        fail=$((fail + 1))
    fi
}
symcheck "weights random writes through a symlink" link.weights target.weights -- $WR good.cfg link.weights
if [ $have_img = 1 ]; then
    symcheck "detector -out writes through a symlink" link.jpg target.jpg -- $DT dog.jpg -out link
fi

echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
