#!/usr/bin/env bash
# Builds a Debian 13 (trixie) root holding QEMU 10.x with its D-Bus display module, so the
# e2e tests can run a second QEMU version via `chroot ROOT qemu-system-x86_64 …`.
# Cached at ${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}/trixie-root; rebuilt only when this
# script changes. Prints the root's path on stdout when done.
set -euo pipefail

cache_dir=${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}
root="$cache_dir/trixie-root"
script_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
stamp="$root/.vdi-stamp"

# The stamp is written last, so a root without a matching stamp is incomplete or stale.
if [[ -f $stamp && $(cat "$stamp") == "$script_hash" ]]; then
  echo "$root"
  exit 0
fi

mkdir -p "$cache_dir"
tmp=$(mktemp -d "$cache_dir/trixie-root.tmp.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# qemu-system-modules-opengl carries ui-dbus on Debian 13; dbus gives the chroot a
# dbus-daemon and tools for debugging, though the tests run the daemon from the host.
mmdebstrap --variant=apt --quiet \
  --include=qemu-system-x86,qemu-system-modules-opengl,dbus \
  trixie "$tmp/root" >&2

# Per-test run directories (bus, QMP and serial sockets, kernel, initrd) live here, so
# that the same path means the same file inside and outside the chroot.
mkdir -p "$tmp/root/run/vdi"
echo "$script_hash" >"$tmp/root/.vdi-stamp"

rm -rf "$root.old"
if [[ -e $root ]]; then mv "$root" "$root.old"; fi
mv "$tmp/root" "$root"
rm -rf "$root.old"
echo "$root"
