# Sourced by the install-*.sh scripts that take a tool from Debian's packages: apt_install NAME
# ARGS... runs apt-get install -y -q ARGS (as root, or through sudo, without prompts), and when
# that fails runs apt-get update once and tries again. NAME prefixes its messages.
apt_install() {
  local name=$1
  shift
  command -v apt-get >/dev/null || { echo "$name: apt-get is required (Debian or Ubuntu)" >&2; return 1; }
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$name: run as root, or install sudo" >&2; return 1; }
    sudo=(sudo)
  fi
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; then
    echo "$name: install failed; retrying after apt-get update" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
  fi
}
