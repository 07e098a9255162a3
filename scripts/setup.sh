#!/usr/bin/env bash
# setup.sh - installs what the build and the tests need from Debian's packages (run as root or
# with sudo): compiler, OpenBLAS, libjpeg, libpng, Debian's darknet (the conformance oracle),
# python3 (test comparators), hyperfine (benchmarks), OpenCV (the live demo), Fashion-MNIST (the
# project's own models), Xvfb/ImageMagick/xdotool (the demo's window test) and Chromium (the eval
# report's headless-browser test), clang with libclang-rt-14-dev (libFuzzer: make fuzz) and
# valgrind (make valgrind). Safe to run again.
set -euo pipefail
pkgs=(build-essential pkg-config libopenblas-dev libjpeg-dev libpng-dev libopencv-dev darknet python3 hyperfine
      dataset-fashion-mnist xvfb xauth imagemagick xdotool chromium
      clang libclang-rt-14-dev valgrind)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
