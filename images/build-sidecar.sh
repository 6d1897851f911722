#!/usr/bin/env bash
# Builds the sidecar image (images/sidecar/Containerfile) with buildah, without a registry:
# both Debian 13 bases are made with mmdebstrap (cached at ${VDI_CACHE_DIR:-~/.cache/vdi-sidecar},
# rebuilt when this script changes) and imported as localhost/vdi-base-{build,run}.
# Usage (root): images/build-sidecar.sh [TAG]   default TAG localhost/vdi-sidecar:dev
# Prints the tag on stdout when done; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-localhost/vdi-sidecar:dev}
cache_dir=${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
buildah=(buildah --storage-driver vfs)

# import_base NAME PACKAGES: a trixie root with PACKAGES, as image localhost/vdi-base-NAME:HASH.
import_base() {
  local name=$1 packages=$2 image="localhost/vdi-base-$1:$script_hash"
  if "${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1; then
    echo "$image"
    return
  fi
  local root
  mkdir -p "$cache_dir"
  root=$(mktemp -d "$cache_dir/base-$name.XXXXXX")
  mmdebstrap --variant=apt --quiet --include="$packages" trixie "$root/root" >&2
  local container mount
  container=$("${buildah[@]}" from scratch)
  mount=$("${buildah[@]}" mount "$container")
  cp -a "$root/root/." "$mount/"
  "${buildah[@]}" umount "$container" >/dev/null
  "${buildah[@]}" commit --quiet "$container" "$image" >/dev/null
  "${buildah[@]}" rm "$container" >/dev/null
  rm -rf "$root"
  echo "$image"
}

build_base=$(import_base build nodejs,npm,node-gyp,g++,make,python3,ca-certificates)
run_base=$(import_base run nodejs,dbus-daemon)

# npm inside the build reaches the registry through this machine's TLS-inspecting proxy
# when there is one: hand its CA bundle to the builder stage.
extra=()
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
  extra+=(--volume "$NODE_EXTRA_CA_CERTS:/run/host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi

"${buildah[@]}" bud --isolation chroot --layers=false --quiet \
  --build-arg "BUILD_BASE=$build_base" --build-arg "BASE=$run_base" "${extra[@]}" \
  -f images/sidecar/Containerfile -t "$tag" . >&2
echo "$tag"
