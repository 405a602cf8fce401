#!/usr/bin/env bash
# Installs the npm library rhea (AMQP 1.0), pinned, which the Azure Service Bus test double
# (internal/testsupport/sbdouble) uses as its server. Idempotent: does nothing when the pinned version is
# already there.
#
#   scripts/install-rhea.sh            # into ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/rhea
#
# Needs node and npm (Node.js 18 or later). Tests find rhea in the same directory, or through
# HOOKLINE_RHEA_DIR.
set -euo pipefail

version=3.0.5
dir="${HOOKLINE_RHEA_DIR:-${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/rhea}"
pkg="$dir/node_modules/rhea/package.json"

if [ -f "$pkg" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' "$pkg" "$version"; then
  echo "rhea $version already installed in $dir"
  exit 0
fi

command -v npm >/dev/null || { echo "install-rhea: npm is required" >&2; exit 1; }
mkdir -p "$dir"
npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "rhea@$version"
echo "rhea $version installed in $dir"
