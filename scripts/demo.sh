#!/usr/bin/env bash
# demo.sh - the README's main job: explains the project's own shipped examples with Grad-CAM++
# using the project's own default models (trained by scripts/train_models.sh): the scenes
# detector on a multi-instance garment scene (one map per detection and one per class) and the
# Fashion-MNIST classifier on a garment. With ../shared/models present it also explains
# Darknet's dog.jpg with the pretrained Yolo-Fastest 1.1. Overlays go to gradcampp_out/.
set -euo pipefail
cd "$(dirname "$0")/.."
# DARKNET=path runs another build (the test suite's sanitizer and valgrind passes)
DK=${DARKNET:-./darknet}
[ -x "$DK" ] || make -j2
"$DK" gradcampp cfg/scenes.data cfg/scenes.cfg data/scenes.weights data/scene_demo.png -out gradcampp_out/scenes -json
"$DK" gradcampp cfg/fashion.data cfg/fashion.cfg data/fashion.weights data/garment_demo.png -out gradcampp_out/fashion -json
M=../shared/models/yolo-fastest-1.1_coco
IMG=../shared/datasets/darknet-sample-images/dog.jpg
[ -f "$IMG" ] || IMG=/usr/share/darknet/data/dog.jpg
if [ -d "$M" ] && [ -f "$IMG" ]; then
    "$DK" gradcampp "$M/yolo-fastest-1.1.cfg" "$M/yolo-fastest-1.1.weights" "$IMG" -out gradcampp_out/yolo-fastest -json
fi
echo "overlays: gradcampp_out/*/ (one PNG per map, *_summary.png for all of an image, gradcampp.json)"
