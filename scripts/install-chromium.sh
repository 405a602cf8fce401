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

. "$(dirname "$0")/apt.sh"
apt_install install-chromium --no-install-recommends chromium fonts-liberation
command -v chromium >/dev/null || { echo "install-chromium: chromium is not on PATH after the install" >&2; exit 1; }
echo "chromium installed: $(chromium --version 2>/dev/null)"
