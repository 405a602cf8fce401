#!/usr/bin/env bash
# Installs Debian's chromium package, for tests that drive a headless browser with
# github.com/chromedp/chromedp. Idempotent: does nothing when a chromium binary is already on PATH.
#
#   scripts/install-chromium.sh        # system-wide, with apt-get (as root, or through sudo)
#
# Not pinned: apt installs the distribution's current chromium. Recommended packages are left out
# (they bring avahi, cups and udev, which a headless browser does not use); fonts-liberation is
# installed with it so that pages have the common metric-compatible fonts. apt-get update runs only
# when the install fails without it. Tests find the browser on PATH as chromium.
set -euo pipefail

if command -v chromium >/dev/null; then
  echo "chromium already installed: $(chromium --version 2>/dev/null || command -v chromium)"
  exit 0
fi

command -v apt-get >/dev/null || { echo "install-chromium: apt-get is required (Debian or Ubuntu)" >&2; exit 1; }
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-chromium: run as root, or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
apt_get() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
install_chromium() { apt_get install -y -q --no-install-recommends chromium fonts-liberation; }

if ! install_chromium; then
  echo "install-chromium: install failed; retrying after apt-get update" >&2
  apt_get update -q
  install_chromium
fi
command -v chromium >/dev/null || { echo "install-chromium: chromium is not on PATH after the install" >&2; exit 1; }
echo "chromium installed: $(chromium --version 2>/dev/null)"
