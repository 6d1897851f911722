#!/usr/bin/env bash
# Installs the Debian 12 packages the project's tests need. Run as root on a fresh
# machine (CI included); safe to run again: apt-get skips what is already installed.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-system.sh: must run as root" >&2
  exit 1
fi

# One package per line, grouped by purpose; extend the list rather than adding
# separate apt-get calls, so a CI run pays for a single install transaction.
PACKAGES=(
  # QEMU 7.2 with the D-Bus display/audio modules (in qemu-system-common)
  qemu-system-x86
  qemu-system-common
  qemu-utils
  # private bus for QEMU's D-Bus display
  dbus
  dbus-daemon
  # Debian 13 root with QEMU 10.x, run under chroot
  mmdebstrap
  debian-archive-keyring
  ca-certificates
  # test guest: kernel package unpacking, initramfs, module dependency files
  apt
  dpkg
  busybox-static
  cpio
  gzip
  kmod
  coreutils
  util-linux
  # test guest: its clipboard agent (e2e/guest/vdagent), a static C program
  gcc
  libc6-dev
  # vdi-init (images/sidecar/init), built by the demo and the e2e tests
  make
  # real VNC clients for qemu-vnc's end-to-end tests, and an X server to run them in
  gvncviewer
  vncsnapshot
  tigervnc-viewer freerdp2-x11 pulseaudio
  # vncpasswd, for TigerVNC's -passwd file
  tigervnc-tools
  xvfb
  xdotool
  # sets and reads the X clipboard in Xvfb (qemu-vnc clipboard tests with TigerVNC)
  xclip
  x11-apps
  imagemagick
  # noVNC in a headless browser
  chromium
  fonts-dejavu-core
  # TLS certificates for VeNCrypt X509 tests
  openssl
  # hook-shim: a gRPC client we did not write (Python grpcio), and libvirt's schema check
  # (virt-xml-validate) and parser (virsh -c test:///default) for the rewritten domain XML
  python3-grpcio
  libvirt-clients
  libxml2-utils
  # real libvirt → QEMU path (e2e/test/sidecar-libvirt.test.ts): libvirtd and virtlogd, run
  # privately by e2e/src/libvirt.ts (unshare and mount from util-linux)
  libvirt-daemon
  libvirt-daemon-driver-qemu
  # the sidecar image (images/build-sidecar.sh; e2e/src/sidecar-image.ts runs it): buildah,
  # vfs storage and chroot isolation, no daemon and no registry
  buildah
)

# Callers may append packages without editing this file, e.g. EXTRA_PACKAGES="xvfb xdotool".
if [[ -n ${EXTRA_PACKAGES:-} ]]; then
  read -r -a extra <<<"$EXTRA_PACKAGES"
  PACKAGES+=("${extra[@]}")
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${PACKAGES[@]}"
