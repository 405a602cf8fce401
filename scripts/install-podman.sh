#!/usr/bin/env bash
# Installs Debian's podman and runc, for building and running the container image
# (scripts/build-image.sh, deploy/container). Idempotent: does nothing when podman and runc are
# already on PATH.
#
#   scripts/install-podman.sh          # system-wide, with apt-get (as root, or through sudo)
#
# Not pinned: apt installs the distribution's current podman. runc is installed next to it because
# the build script runs podman with --runtime runc (crun cannot use the hybrid cgroups of some
# sandboxes). apt-get update runs only when the install fails without it.
set -euo pipefail

have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

if have podman && have runc; then
  echo "podman already installed: $(podman --version 2>/dev/null || command -v podman)"
  exit 0
fi

command -v apt-get >/dev/null || { echo "install-podman: apt-get is required (Debian or Ubuntu)" >&2; exit 1; }
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-podman: run as root, or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
apt_get() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
install_podman() { apt_get install -y -q podman runc; }

if ! install_podman; then
  echo "install-podman: install failed; retrying after apt-get update" >&2
  apt_get update -q
  install_podman
fi
echo "podman installed: $(podman --version)"
