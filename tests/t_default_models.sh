#!/usr/bin/env bash
# t_default_models.sh - the project's shipped models do what the README says: the README's main
# job (scripts/demo.sh) writes its overlays, the detector finds the four trousers of the shipped
# scene and the classifier names the shipped garment, and - regenerating the test data from
# Debian's Fashion-MNIST with the project's scripts - the shipped weights give exactly the
# README's top-1 and mAP@0.5 (inference is deterministic, so any change shows).
set -u
cd "$(dirname "$0")/.."
DK=./darknet
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
sk() { echo "skip $1"; skip=$((skip + 1)); }
# the README's numbers for the shipped weights (section "The project's own default models")
TOP1=0.9293
MAP=0.6175

big=$(find data -maxdepth 1 -name '*.weights' -size +5M)
[ -z "$big" ] && ls data/*.weights > /dev/null 2>&1 && ok "every shipped weights file is under 5 MB" || bad "over 5 MB: $big"
if bash scripts/demo.sh > "$tmp/demo" 2>&1 && [ -s gradcampp_out/scenes/gradcampp.json ] \
    && [ -s gradcampp_out/fashion/gradcampp.json ] && ls gradcampp_out/scenes/*summary*.png > /dev/null 2>&1; then
    ok "scripts/demo.sh (the README's main job) writes the overlays and JSON"
else
    bad "scripts/demo.sh: $(tail -2 "$tmp/demo")"
fi
n=$($DK detector test cfg/scenes.data cfg/scenes.cfg data/scenes.weights data/scene_demo.png -dont_show 2> /dev/null | grep -c "^trouser: ")
[ "$n" -eq 4 ] && ok "the detector finds the 4 trousers of data/scene_demo.png" || bad "trousers found in data/scene_demo.png: $n of 4"
top=$($DK classifier predict cfg/fashion.data cfg/fashion.cfg data/fashion.weights data/garment_demo.png 2> /dev/null | sed -n 1p)
[[ "$top" == *": coat" ]] && ok "the classifier names data/garment_demo.png: $top" || bad "garment_demo.png: $top"

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    sk "accuracy of the shipped models: Debian's dataset-fashion-mnist is not installed"
else
    # the classifier: the 10,000 Fashion-MNIST test images (--limit applies to each split)
    if python3 scripts/fashion_mnist.py "$tmp/fm" --limit 10000 > "$tmp/log" 2>&1; then
        sed -e "s|^valid=.*|valid=$tmp/fm/test.list|" -e "s|^labels=.*|labels=$tmp/fm/labels.list|" cfg/fashion.data > "$tmp/fm.data"
        got=$($DK classifier valid "$tmp/fm.data" cfg/fashion.cfg data/fashion.weights 2> /dev/null | sed -n 's/^top 1: \([0-9.]*\),.*/\1/p')
        awk -v g="$got" -v w="$TOP1" 'BEGIN { exit !(g != "" && g - w < 5e-5 && w - g < 5e-5) }' \
            && ok "data/fashion.weights: top-1 $got on the 10,000 test images, as the README says" \
            || bad "data/fashion.weights: top-1 '$got', the README says $TOP1"
    else
        bad "fashion_mnist.py: $(tail -1 "$tmp/log")"
    fi
    # the detector: the 1,000 test scenes (seed 7, as scripts/train_models.sh makes them)
    if python3 scripts/make_scenes.py "$tmp/sc" --seed 7 --train 0 --valid 0 --repeat 0 > "$tmp/log" 2>&1; then
        sed -e "s|^valid=.*|valid=$tmp/sc/test.list|" cfg/scenes.data > "$tmp/sc.data"
        got=$($DK detector map "$tmp/sc.data" cfg/scenes.cfg data/scenes.weights 2> /dev/null | sed -n 's/^mean average precision (mAP@0.50) = \([0-9.]*\),.*/\1/p')
        awk -v g="$got" -v w="$MAP" 'BEGIN { exit !(g != "" && g - w < 5e-5 && w - g < 5e-5) }' \
            && ok "data/scenes.weights: mAP@0.5 $got on the 1,000 test scenes, as the README says" \
            || bad "data/scenes.weights: mAP@0.5 '$got', the README says $MAP"
    else
        bad "make_scenes.py: $(tail -1 "$tmp/log")"
    fi
fi
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
