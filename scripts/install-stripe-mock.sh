#!/usr/bin/env bash
# Installs Stripe's stripe-mock (github.com/stripe/stripe-mock), pinned, for the request-shape
# tests of the Stripe API calls (internal/testsupport/stripemock). stripe-mock serves Stripe's
# API from Stripe's OpenAPI spec: it rejects unknown parameters and wrong types but keeps no
# state. Idempotent: does nothing when the pinned version is already installed.
#
#   scripts/install-stripe-mock.sh     # into ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin
#
# Builds it from source with `go install` (the module proxy serves the pinned version), so it
# needs only Go. v0.203.0 embeds the spec of API version 2026-08-26.dahlia. Tests find the
# binary in that directory, through HOOKLINE_STRIPE_MOCK (the binary's path), or on PATH.
set -euo pipefail

module=github.com/stripe/stripe-mock
version=v0.203.0
bin="${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/bin"
stamp="$bin/stripe-mock.version"

if [ -x "$bin/stripe-mock" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "stripe-mock $version already installed in $bin"
  exit 0
fi

command -v go >/dev/null || { echo "install-stripe-mock: go is required" >&2; exit 1; }
mkdir -p "$bin"
# Outside any module, so that this repository's go.mod is neither read nor changed.
(cd "${TMPDIR:-/tmp}" && GOBIN="$bin" go install "$module@$version")
echo "$version" >"$stamp"
echo "stripe-mock $version installed in $bin"
