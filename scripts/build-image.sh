#!/usr/bin/env bash
# Builds the container image of the hookline command (deploy/container/Containerfile) with podman.
#
#   scripts/build-image.sh [tag]               # default tag hookline:dev
#   scripts/build-image.sh --podman ARGS...    # runs podman ARGS with the same settings
#
# The binary is compiled here, outside the image (CGO_ENABLED=0, -trimpath, -s -w; from the git
# work tree, so its build info holds the revision), and copied with the build host's CA bundle
# and a passwd/group for user 65532 into a temporary build context. The image is FROM scratch:
# nothing is pulled. The image has one layer (--layers=false).
#
# Podman runs with settings that work in sandboxes that refuse the rlimits podman sets and whose
# hybrid cgroups crun cannot use: --runtime runc, --storage-driver vfs, and CONTAINERS_CONF
# pointing at a file with `default_ulimits = []`. Run containers with `--network host` there.
# They are all here, in one place; --podman gives them to other podman commands (run, stop,
# inspect, ...), so that those see the same image store.
#
# Environment:
#   PODMAN_FLAGS      podman's global flags (default: --runtime runc --storage-driver vfs)
#   PODMAN_ROOT       --root for podman's storage (default: podman's own)
#   PODMAN_RUNROOT    --runroot for podman's state (default: podman's own)
#   CONTAINERS_CONF   containers.conf to use (default: one written under
#                     ${HOOKLINE_TOOLS:-$HOME/.cache/hookline-tools}/podman)
#   CA_BUNDLE         CA certificates to copy in (default: /etc/ssl/certs/ca-certificates.crt,
#                     from Debian's ca-certificates)
#   GOARCH            architecture of the binary (default: the host's)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"

command -v podman >/dev/null || { echo "build-image: podman is required (scripts/install-podman.sh)" >&2; exit 1; }

# The podman settings.
read -r -a podman_flags <<<"${PODMAN_FLAGS:---runtime runc --storage-driver vfs}"
[ -n "${PODMAN_ROOT:-}" ] && podman_flags+=(--root "$PODMAN_ROOT")
[ -n "${PODMAN_RUNROOT:-}" ] && podman_flags+=(--runroot "$PODMAN_RUNROOT")
if [ -z "${CONTAINERS_CONF:-}" ]; then
  confdir="${HOOKLINE_TOOLS:-${HOME:-/tmp}/.cache/hookline-tools}/podman"
  mkdir -p "$confdir"
  CONTAINERS_CONF="$confdir/containers.conf"
  printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF.tmp.$$"
  mv -f "$CONTAINERS_CONF.tmp.$$" "$CONTAINERS_CONF"
fi
export CONTAINERS_CONF
podman_() { podman "${podman_flags[@]}" "$@"; }

if [ "${1:-}" = "--podman" ]; then
  shift
  podman_ "$@"
  exit
fi

tag="${1:-hookline:dev}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[ -s "$ca_bundle" ] || { echo "build-image: no CA bundle at $ca_bundle (apt-get install ca-certificates, or set CA_BUNDLE)" >&2; exit 1; }

ctx="$(mktemp -d "${TMPDIR:-/tmp}/hookline-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT

echo "build-image: compiling cmd/hookline"
(cd "$repo" && CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=auto -ldflags "-s -w" \
  -o "$ctx/hookline" ./cmd/hookline)
chmod 0755 "$ctx/hookline"
install -m 0644 "$ca_bundle" "$ctx/ca-certificates.crt"
printf 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >"$ctx/passwd"
printf 'nonroot:x:65532:\n' >"$ctx/group"
chmod 0644 "$ctx/passwd" "$ctx/group"

# Labels from git and go.mod; empty when unknown (say, a source tarball).
module="$(cd "$repo" && go list -m 2>/dev/null || true)"
source_url=""
[ -n "$module" ] && source_url="https://$module"
revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || true)"
version="$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || true)"
licenses=""
grep -q 'Apache License' "$repo/LICENSE" 2>/dev/null && licenses="Apache-2.0"

echo "build-image: building $tag (revision ${revision:-unknown}, version ${version:-unknown})"
podman_ build --layers=false \
  --file "$repo/deploy/container/Containerfile" \
  --tag "$tag" \
  --build-arg "SOURCE=$source_url" \
  --build-arg "REVISION=$revision" \
  --build-arg "VERSION=$version" \
  --build-arg "LICENSES=$licenses" \
  "$ctx"
echo "build-image: built $tag"
