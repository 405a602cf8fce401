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

. "$(dirname "$0")/apt.sh"
apt_install install-podman podman runc
echo "podman installed: $(podman --version)"
