#!/usr/bin/env bash
# Make sure Graphviz's dot is on PATH, as `make test` needs it: `stepsaga graph --format svg|png` and
# `stepsaga run --svg` hand their DOT text to dot, and the tests check what it draws.
#
#   scripts/ensure-graphviz.sh
#
# Nothing to do when dot is there. Otherwise it installs Debian's graphviz package with apt-get: as root, or
# through sudo when sudo needs no password; first from the package lists the machine has, then after an
# apt-get update. Anywhere else (no apt-get, no root) it says how to install Graphviz and fails.
set -euo pipefail

if command -v dot >/dev/null 2>&1; then
    exit 0
fi
HOW="install Graphviz: apt-get install graphviz (Debian, Ubuntu), brew install graphviz (macOS), or https://graphviz.org/download/"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test needs Graphviz's dot, which is not on PATH, and there is no apt-get here; $HOW" >&2
    exit 1
fi
if [[ $(id -u) == 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "make test needs Graphviz's dot, which is not on PATH, and installing it needs root; $HOW" >&2
    exit 1
fi
echo "Graphviz's dot is not on PATH: installing Debian's graphviz package" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y -qq graphviz >/dev/null; then
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq graphviz >/dev/null
fi
if ! command -v dot >/dev/null 2>&1; then
    echo "apt-get installed graphviz, but dot is still not on PATH; $HOW" >&2
    exit 1
fi
dot -V
