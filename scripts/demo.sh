#!/usr/bin/env bash
# demo.sh - the README's main job: explains dog.jpg with Grad-CAM++ using the pretrained
# Yolo-Fastest 1.1 (COCO) detector and the Tiny Darknet (ImageNet) classifier from
# ../shared/models, writing overlays to gradcampp_out/ and printing which file holds which map.
set -euo pipefail
cd "$(dirname "$0")/.."
M=../shared/models
IMG=../shared/datasets/darknet-sample-images/dog.jpg
[ -f "$IMG" ] || IMG=/usr/share/darknet/data/dog.jpg
if [ ! -d "$M" ]; then
    echo "demo: ../shared/models is absent: no pretrained model to explain with" >&2
    exit 1
fi
[ -x ./darknet ] || make -j2
Y=$M/yolo-fastest-1.1_coco
./darknet gradcampp "$Y/yolo-fastest-1.1.cfg" "$Y/yolo-fastest-1.1.weights" "$IMG" -out gradcampp_out/yolo-fastest -json
T=$M/tiny-darknet_imagenet
mkdir -p gradcampp_out
printf 'classes=1000\nnames=%s\ntop=3\n' "$(cd "$T" && pwd)/imagenet.shortnames.list" > gradcampp_out/imagenet.data
./darknet gradcampp gradcampp_out/imagenet.data "$T/tiny.cfg" "$T/tiny.weights" "$IMG" -out gradcampp_out/tiny-darknet -json
echo "overlays: gradcampp_out/yolo-fastest/ and gradcampp_out/tiny-darknet/ (summary images: *_summary.png)"
