#!/usr/bin/env bash
# setup.sh: installs brigade's build dependencies from Debian/Ubuntu packages and builds it into
# build/. Run as root (or with sudo available). Re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if ! pkg-config --exists libcjson hdf5 openblas ompi-c libpng sndfile libmicrohttpd sqlite3 sentencepiece \
    2>/dev/null || ! command -v ffmpeg >/dev/null || ! command -v curl >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends build-essential cmake pkg-config \
        libopenmpi-dev openmpi-bin libhdf5-dev libpng-dev libopenblas-dev libcjson-dev python3 \
        libsndfile1-dev ffmpeg libmicrohttpd-dev libsqlite3-dev libsentencepiece-dev curl
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
echo "built: build/brigade"
