#!/usr/bin/env bash
# Builds the e2e test guest from Debian packages alone: the Debian 12 kernel (vmlinuz) and
# a busybox initramfs (initrd.gz) with the few modules the tests load (PS/2 mouse, USB
# tablet, virtio multi-touch, bochs DRM, virtio GPU, AC97, virtio console), the vdi-* helper commands from ./bin
# and the clipboard agent from ./vdagent (a static C program, compiled here with the host's
# gcc).
#
# Output: ${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}/guest/<hash>/{vmlinuz,initrd.gz,
# kernel-version}, where <hash> covers this script, ./init, ./bin/* and ./vdagent/*: editing
# any of them makes a new build, an unchanged tree reuses the old one. Prints that directory
# on stdout. Needs root only for `apt-get download` (run `apt-get update` once on a fresh
# machine); needs gcc and libc6-dev (static glibc) for the agent.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}/guest

# Modules loaded by the vdi-* commands; their dependencies are added from modules.dep.
MODULES=(
  evdev
  psmouse
  xhci_pci xhci_hcd usbhid hid hid_generic
  bochs
  virtio_gpu
  snd_intel8x0 snd_pcm_oss
  virtio_pci virtio_console
  virtio_input
)

hash=$(cd "$here" && sha256sum build-guest.sh init bin/* vdagent/* | sha256sum | cut -c1-16)
out="$cache/$hash"
if [[ -f $out/.complete ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

log() { echo "build-guest: $*" >&2; }

# linux-image-amd64 is the metapackage; it depends on the current linux-image-6.1.*-amd64.
kpkg=${VDI_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null |
  awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\..*-amd64$/ { print $2; exit }')}
if [[ -z $kpkg ]]; then
  log "cannot resolve the Debian 12 kernel package (run apt-get update first)"
  exit 1
fi
log "kernel package $kpkg"

# The sandbox user _apt cannot write to a root-owned temp dir; the download is a plain
# signed-archive fetch, so running it as root is fine.
(cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2)
dpkg -x "$work"/"$kpkg"_*.deb "$work/pkg"
kver=$(ls "$work/pkg/lib/modules")
moddir="$work/pkg/lib/modules/$kver"
depmod -b "$work/pkg" "$kver"

# modules.dep lists every (transitive) dependency on each module's line, so one lookup per
# wanted module is enough. Names compare with '-' and '_' as equal, as modprobe does.
declare -A want=()
for m in "${MODULES[@]}"; do
  line=$(awk -v m="$m" '
    { p = $1; sub(/:$/, "", p); n = p; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n);
      gsub(/-/, "_", n); if (n == m) { print; exit } }' "$moddir/modules.dep")
  if [[ -z $line ]]; then
    log "module $m not found in $kpkg"
    exit 1
  fi
  for f in $line; do want[${f%:}]=1; done
done

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,lib/modules/"$kver"}
for f in "${!want[@]}"; do
  install -D -m 0644 "$moddir/$f" "$root/lib/modules/$kver/$f"
done
cp "$moddir"/modules.{builtin,builtin.modinfo,order} "$root/lib/modules/$kver/"
depmod -b "$root" "$kver"

# The initramfs has no libc: only Debian's busybox-static binary runs there.
if [[ $(LC_ALL=C ldd /bin/busybox 2>&1 || true) != *'not a dynamic executable'* ]]; then
  log "/bin/busybox is dynamically linked: install busybox-static"
  exit 1
fi
cp /bin/busybox "$root/bin/busybox"
# --list-full gives each applet's usual place (bin/sh, sbin/modprobe, usr/bin/hexdump …).
for applet in $("$root/bin/busybox" --list-full); do
  [[ $applet == bin/busybox ]] && continue
  ln -sf /bin/busybox "$root/$applet"
done

install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here"/bin/* "$root/bin/"

# The clipboard agent (guest side of the SPICE vdagent protocol, see vdagent/vdi-vdagent.c):
# static, since the initramfs has no libc.
if ! command -v gcc >/dev/null; then
  log "gcc not found: install gcc and libc6-dev (scripts/setup-system.sh)"
  exit 1
fi
gcc -static -O2 -Wall -Wextra -s -o "$root/bin/vdi-vdagent" "$here/vdagent/vdi-vdagent.c" >&2

mkdir -p "$work/out"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/out/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$work/out/initrd.gz"
echo "$kver" >"$work/out/kernel-version"
echo "$kpkg" >"$work/out/kernel-package"
touch "$work/out/.complete"

# Another build with the same hash may have finished meanwhile; either result is good.
if [[ -e $out ]]; then rm -rf "$out"; fi
mv "$work/out" "$out"
log "built $out ($(du -sh "$out" | cut -f1))"
echo "$out"
