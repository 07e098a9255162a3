#!/usr/bin/env bash
# make_seeds.sh - regenerates the small seed corpora in tests/fuzz/seeds/ from the project's
# own files (cfg/, data/, the shipped images) plus one small cfg per layer type, image variants
# (gray, progressive, CMYK, palette, 16-bit, interlaced, alpha) made with ImageMagick, and
# weights files for fuzz_weights' network made with `./darknet weights random`. Needs ./darknet
# and ImageMagick's convert. The seeds are checked in; run this only to refresh them.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=tests/fuzz/seeds
rm -rf "$S"; mkdir -p "$S"/{cfg,weights,jpeg,png,labels,datafile,args,json,classmap}

# cfg: the shipped models, then one small network per layer type
cp cfg/fashion.cfg cfg/scenes.cfg "$S/cfg/"
net='[net]
batch=2
subdivisions=1
width=16
height=16
channels=3
'
conv='[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
'
w() { printf '%s' "$2" >"$S/cfg/$1.cfg"; }
w pool "$net$conv[maxpool]
size=2
stride=2

[avgpool]

[softmax]
"
w connected "$net$conv[dropout]
probability=.5

[connected]
output=4
activation=relu

[softmax]
groups=1

[cost]
type=sse
"
w yolo "$net$conv[maxpool]
size=2
stride=2

[convolutional]
filters=21
size=1
stride=1
activation=linear

[yolo]
mask=0,1,2
anchors=4,5, 8,9, 12,12, 16,16
classes=2
num=4
jitter=.3
ignore_thresh=.7
random=0

[route]
layers=-4

[upsample]
stride=2

[route]
layers=-1,0

[shortcut]
from=-3
activation=linear

[convolutional]
filters=21
size=1
stride=1
activation=linear

[yolo]
mask=1,2,3
anchors=4,5, 8,9, 12,12, 16,16
classes=2
num=4
"
w region "$net$conv[reorg]
stride=2

[convolutional]
filters=35
size=1
stride=1
activation=linear

[region]
anchors=1,1, 2,2, 3,3, 4,4, 5,5
classes=2
coords=4
num=5
softmax=1
"
w scale "$net$conv[convolutional]
filters=8
size=1
stride=2
groups=8
activation=swish

[avgpool]

[scale_channels]
from=-3

[crop]
crop_width=8
crop_height=8
"
w steps "[net]
batch=64
subdivisions=16
width=28
height=28
channels=1
learning_rate=0.1
policy=steps
steps=100,200
scales=.1,.1
max_batches=300

[convolutional]
filters=4
size=5
stride=2
pad=2
activation=mish
dilation=1

[connected]
output=10
activation=linear

[softmax]
"

# weights for fuzz_weights' network (header 0.2.0 with 64-bit seen, 0.1.0 with 32-bit, and
# 1001.0.0 with transposed connected weights; then a truncated and an over-long file)
cfgtxt=$(sed -n '/^static const char net_cfg\[\] =/,/;$/p' tests/fuzz/fuzz_weights.c |
         sed -e '1d' -e 's/^ *"//' -e 's/";$//' -e 's/"$//' | sed 's/\\n/\n/g')
tmp=$(mktemp -d)
printf '%s' "$cfgtxt" >"$tmp/w.cfg"
./darknet weights random "$tmp/w.cfg" "$S/weights/v020.weights" -seed 3 >/dev/null
python3 - "$S/weights" <<'PY'
import struct, sys
d = sys.argv[1]
b = open(d + "/v020.weights", "rb").read()
body = b[20:]
open(d + "/v010.weights", "wb").write(struct.pack("<iiiI", 0, 1, 0, 640) + body)
open(d + "/transposed.weights", "wb").write(struct.pack("<iiiI", 1001, 0, 0, 7) + body)
open(d + "/short.weights", "wb").write(b[:len(b) // 2])
open(d + "/long.weights", "wb").write(b + b"\0" * 12)
PY
rm -rf "$tmp"

# images: small variants of the shipped garment picture
src=data/garment_demo.png
convert "$src" -resize 16x16 "$S/png/rgb.png"
convert "$src" -resize 12x9 -colorspace Gray "$S/png/gray.png"
convert "$src" -resize 8x8 -depth 16 "$S/png/rgb16.png"
convert "$src" -resize 10x10 -colors 8 PNG8:"$S/png/palette.png"
convert "$src" -resize 9x7 -interlace PNG "$S/png/interlaced.png"
convert "$src" -resize 8x6 -alpha set -channel A -evaluate set 50% PNG32:"$S/png/alpha.png"
convert "$src" -resize 8x8 -colorspace Gray -alpha set PNG:"$S/png/gray_alpha.png"
convert "$src" -resize 16x16 -quality 80 "$S/jpeg/rgb.jpg"
convert "$src" -resize 12x9 -colorspace Gray -quality 70 "$S/jpeg/gray.jpg"
convert "$src" -resize 16x12 -interlace JPEG "$S/jpeg/progressive.jpg"
convert "$src" -resize 8x8 -colorspace CMYK "$S/jpeg/cmyk.jpg"
convert "$src" -resize 17x5 -sampling-factor 4:2:0 -quality 95 "$S/jpeg/subsampled.jpg"

# labels and lists: label files and image lists of the shipped scene data
find data/scenes -path '*/labels/*.txt' | sort | sed -n 1,3p | while read -r f; do
    cp "$f" "$S/labels/label_$(basename "$f")"
done
for l in data/scenes/valid.list data/fashion/test.list; do
    [ -f "$l" ] && head -n 8 "$l" >"$S/labels/list_$(basename "$(dirname "$l")").txt"
done
printf '0 0.5 0.5 0.2 0.3\r\n# comment\n\n1 0.25 0.75 0.5 0.5\n' >"$S/labels/crlf.txt"

# .data and .names files
cp cfg/coco.data cfg/fashion.data cfg/scenes.data data/coco.names data/scenes.names "$S/datafile/"
printf '\xef\xbb\xbfclasses = 2\r\nnames=x.names # comment\n\n top=3\n' >"$S/datafile/bom_crlf.data"

# command lines (NUL-separated arguments)
a() { printf -- "$2" >"$S/args/$1"; }
a basic 'cfg\0weights\0dog.jpg\0-thresh\0.3\0-method\0gradcam\0-raw'
a numbers 'x\0-top\0-3\0-alpha\01e-3\0-layer\0-2\0-5'
a missing '-out'
a bad 'a\0-thresh\0nan\0-top\099999999999'
# JSON: what gradcampp -json and gradcampp eval -json write (an eval shard of 3 test scenes and
# its merge, needs data/scenes from make_scenes.py), plus escapes and surrogates by hand
./darknet gradcampp cfg/scenes.data cfg/scenes.cfg data/scenes.weights data/scene_demo.png -json -out "$S/tmp" >/dev/null
mv "$S/tmp/gradcampp.json" "$S/json/gradcampp_detector.json"
./darknet gradcampp cfg/fashion.data cfg/fashion.cfg data/fashion.weights data/garment_demo.png -json -out "$S/tmp" >/dev/null
mv "$S/tmp/gradcampp.json" "$S/json/gradcampp_classifier.json"
if [ -f data/scenes/test.list ]; then
    head -n 3 data/scenes/test.list | sed "s|^$PWD/||" >"$S/tmp/list.txt"
    ./darknet gradcampp eval cfg/scenes.data cfg/scenes.cfg data/scenes.weights "$S/tmp/list.txt" -shard 0/2 \
        -json "$S/json/eval_shard.json" >/dev/null
    ./darknet gradcampp eval merge "$S/json/eval_merged.json" "$S/json/eval_shard.json" >/dev/null 2>&1 || true
fi
rm -rf "$S/tmp"
printf '{"a": [1, -2.5e3, true, false, null, "x\\u00e9\\ud83d\\ude00\\n\\"\\\\\\/"], "b": {}}' >"$S/json/values.json"
printf '"\\ud800 lone \\udc00"' >"$S/json/surrogates.json"

# class maps (gradcampp eval -map)
cp data/coco_to_imagenet.txt "$S/classmap/"
printf '# comment\n0 1\n1 -> 2\n2 3,4,5 trailing words\n0 7\n' >"$S/classmap/forms.txt"

echo "seeds: $(find "$S" -type f | wc -l) files, $(du -sk "$S" | cut -f1) KiB"
