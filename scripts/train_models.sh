#!/usr/bin/env bash
# train_models.sh - retrains the project's two default models from scratch on this machine and
# evaluates them: converts Debian's Fashion-MNIST (scripts/fashion_mnist.py), composes the scenes
# and the single-garment tiles (scripts/make_scenes.py --seed 7 --train 32000 --tiles 150000), trains
# cfg/fashion.cfg, pretrains cfg/scenes_backbone.cfg on the tiles, hands its first 11 layers to
# cfg/scenes.cfg (`darknet partial`) and trains the detector, all with Darknet's commands; prints
# top-1 and mAP@0.5 and copies the final weights to data/*.weights.
# Usage: scripts/train_models.sh [fashion|scenes|all]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ -x ./darknet ] || make -j2
mkdir -p backup
if [ "$what" = fashion ] || [ "$what" = all ]; then
    python3 scripts/fashion_mnist.py data/fashion
    /usr/bin/time -f "fashion training: %e s" ./darknet classifier train cfg/fashion.data cfg/fashion.cfg -dont_show
    cp backup/fashion_final.weights data/fashion.weights
    ./darknet classifier valid cfg/fashion.data cfg/fashion.cfg data/fashion.weights
fi
if [ "$what" = scenes ] || [ "$what" = all ]; then
    /usr/bin/time -f "scene data: %e s" python3 scripts/make_scenes.py data/scenes --seed 7 --train 32000 --tiles 150000
    /usr/bin/time -f "backbone pretraining: %e s" ./darknet classifier train data/scenes/tiles.data cfg/scenes_backbone.cfg -dont_show
    ./darknet partial cfg/scenes_backbone.cfg data/scenes/backup/scenes_backbone_final.weights backup/scenes.conv.11 11
    /usr/bin/time -f "scenes training: %e s" ./darknet detector train cfg/scenes.data cfg/scenes.cfg backup/scenes.conv.11 -dont_show
    cp backup/scenes_final.weights data/scenes.weights
    ./darknet detector map cfg/scenes.data cfg/scenes.cfg data/scenes.weights
fi
