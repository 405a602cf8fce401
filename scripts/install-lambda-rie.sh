#!/usr/bin/env bash
# Installs AWS's Lambda runtime interface emulator (aws-lambda-rie), pinned, for the tests of
# examples/aws, which run the built Lambda binary under it. Idempotent: does nothing when the
# pinned version is already installed.
#
#   scripts/install-lambda-rie.sh      # into ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin
#
# Builds it from source with `go install` (the module proxy serves the pinned pseudo-version), so
# it needs only Go. The RIE runs on Linux only. Tests find it in that directory, or on PATH.
set -euo pipefail

module=github.com/aws/aws-lambda-runtime-interface-emulator
version=v0.0.0-20261030222936-bef5c4ba774d
bin="${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin"
stamp="$bin/aws-lambda-rie.version"

if [ -x "$bin/aws-lambda-rie" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "aws-lambda-rie $version already installed in $bin"
  exit 0
fi

command -v go >/dev/null || { echo "install-lambda-rie: go is required" >&2; exit 1; }
[ "$(uname -s)" = Linux ] || { echo "install-lambda-rie: the emulator runs on Linux only" >&2; exit 1; }
mkdir -p "$bin"
# Outside any module, so that this repository's go.mod is neither read nor changed.
(cd "${TMPDIR:-/tmp}" && GOBIN="$bin" go install "$module/cmd/aws-lambda-rie@$version")
echo "$version" >"$stamp"
echo "aws-lambda-rie $version installed in $bin"
