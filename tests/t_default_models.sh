#!/usr/bin/env bash
# t_default_models.sh - the project's shipped models do what the README says: the README's main
# job (scripts/demo.sh) writes its overlays, the detector finds the four trousers of the shipped
# scene and the classifier names the shipped garment, and - regenerating the test data from
# Debian's Fashion-MNIST with the project's scripts - the shipped weights give exactly the
# README's top-1 and mAP@0.5 (inference is deterministic, so any change shows).
source "$(dirname "$0")/lib.sh"
# the README's numbers for the shipped weights (section "The project's own default models")
TOP1=0.9293
MAP=0.9003

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

# result WHAT GOT README-VALUE ON-WHAT: the README's number to 5e-5 (TEST_QUICK=1, the valgrind
# pass, runs on a few images and checks for a result only)
result() {
    if [ "$QUICK" = 1 ]; then
        [ -n "$2" ] && ok "$1 $2 on $4 (quick)" || bad "$1: no result on $4"
    elif awk -v g="$2" -v w="$3" 'BEGIN { exit !(g != "" && g - w < 5e-5 && w - g < 5e-5) }'; then
        ok "$1 $2 on $4, as the README says"
    else
        bad "$1 '$2' on $4, the README says $3"
    fi
}
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
    sk "accuracy of the shipped models: Debian's dataset-fashion-mnist is not installed"
else
    # the classifier: the 10,000 Fashion-MNIST test images (--limit applies to each split)
    nfm=10000; [ "$QUICK" = 1 ] && nfm=300
    if python3 scripts/fashion_mnist.py "$tmp/fm" --limit $nfm > "$tmp/log" 2>&1; then
        sed -e "s|^valid=.*|valid=$tmp/fm/test.list|" -e "s|^labels=.*|labels=$tmp/fm/labels.list|" cfg/fashion.data > "$tmp/fm.data"
        got=$($DK classifier valid "$tmp/fm.data" cfg/fashion.cfg data/fashion.weights 2> /dev/null | sed -n 's/^top 1: \([0-9.]*\),.*/\1/p')
        result "data/fashion.weights: top-1" "$got" "$TOP1" "$nfm test images"
    else
        bad "fashion_mnist.py: $(tail -1 "$tmp/log")"
    fi
    # the detector: the 1,000 test scenes (seed 7, as scripts/train_models.sh makes them)
    nsc=1000; [ "$QUICK" = 1 ] && nsc=30 # (scene i depends only on the seed and i)
    if python3 scripts/make_scenes.py "$tmp/sc" --seed 7 --train 0 --valid 0 --test $nsc --repeat 0 > "$tmp/log" 2>&1; then
        sed -e "s|^valid=.*|valid=$tmp/sc/test.list|" cfg/scenes.data > "$tmp/sc.data"
        got=$($DK detector map "$tmp/sc.data" cfg/scenes.cfg data/scenes.weights 2> /dev/null | sed -n 's/^mean average precision (mAP@0.50) = \([0-9.]*\),.*/\1/p')
        result "data/scenes.weights: mAP@0.5" "$got" "$MAP" "$nsc test scenes"
    else
        bad "make_scenes.py: $(tail -1 "$tmp/log")"
    fi
fi
finish
