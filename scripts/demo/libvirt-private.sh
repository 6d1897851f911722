# A private libvirtd (with its virtlogd) for scripts/demo.sh — the bash twin of
# e2e/src/libvirt.ts; read its file comment for the why. Source this file, then:
#
#   libvirt_start DIR     starts virtlogd and libvirtd (in the background, as children of the
#                         calling shell) with their state in DIR
#   libvirt_wait SECONDS  waits until libvirtd answers (the first start probes QEMU, ~10 s)
#   libvirt_virsh ARGS…   virsh through that daemon's socket
#   libvirt_stop          destroys and undefines its domains, stops libvirtd, then virtlogd,
#                         kills a QEMU that would still run
#
# In short: Debian 12's libvirtd run as root has its paths (/etc/libvirt, /run/libvirt,
# /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt) compiled in, and looks up the
# `libvirt-qemu` user before reading qemu.conf. So both daemons run in a mount namespace of
# their own (unshare --mount) where directories of DIR are bind-mounted over those paths, and
# a copy of /etc/passwd and /etc/group that adds libvirt-qemu over the originals; qemu.conf
# then runs QEMU as root with no security driver. Nothing of the machine's configuration
# changes, a libvirtd the machine may run is neither used nor disturbed, and the mounts are
# gone with the last process of the namespace. Needs libvirt-daemon,
# libvirt-daemon-driver-qemu and libvirt-clients (scripts/setup-system.sh).

LIBVIRT_DIR=
LIBVIRT_NS_PID=   # the shell in the namespace; parent of both daemons
LIBVIRT_DOMAINS=()

# QEMU as root without a security driver (no libvirt-qemu user, no AppArmor or SELinux
# labels), files left as they are, no cgroups and no private /dev, QEMU's stderr (and the
# serial console's <log>) through virtlogd as in KubeVirt.
_LIBVIRT_QEMU_CONF='user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "logd"'

# Its socket for root only, no polkit (there is no system bus), warnings to a file.
_LIBVIRT_LIBVIRTD_CONF='auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"'

libvirt_start() {
  LIBVIRT_DIR=$1
  local bin
  for bin in /usr/sbin/libvirtd /usr/sbin/virtlogd /usr/bin/virsh; do
    [[ -x $bin ]] || { echo "$bin missing: run scripts/setup-system.sh" >&2; return 1; }
  done
  mkdir -p "$LIBVIRT_DIR"/{etc,run,lib,log}
  # libvirt's QEMU capabilities (probing QEMU takes seconds under TCG) outlive the run;
  # libvirt probes again by itself when QEMU or libvirtd change.
  local cache=${VDI_CACHE_DIR:-$HOME/.cache/vdi-sidecar}/demo-libvirt-cache
  mkdir -p "$cache"
  printf '%s\n' "$_LIBVIRT_QEMU_CONF" >"$LIBVIRT_DIR/etc/qemu.conf"
  printf '%s\n' "$_LIBVIRT_LIBVIRTD_CONF" >"$LIBVIRT_DIR/etc/libvirtd.conf"
  : >"$LIBVIRT_DIR/etc/virtlogd.conf"
  { cat /etc/passwd
    grep -q '^libvirt-qemu:' /etc/passwd || echo 'libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin'
  } >"$LIBVIRT_DIR/passwd"
  { cat /etc/group
    local g
    for g in libvirt-qemu:x:64055: kvm:x:64054: libvirt:x:64053:; do
      grep -q "^${g%%:*}:" /etc/group || echo "$g"
    done
  } >"$LIBVIRT_DIR/group"

  # In the namespace: the bind mounts, then both daemons in the foreground as children of
  # this shell, which waits for them (so they are reaped here, not left to PID 1). setsid:
  # a Ctrl+C in the terminal reaches the demo, which stops them in order, not the daemons.
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid unshare --mount --propagation private sh -c '
    set -e
    dir=$1 cache=$2
    mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
    mount --bind "$dir/etc" /etc/libvirt
    mount --bind "$dir/run" /run/libvirt
    mount --bind "$dir/lib" /var/lib/libvirt
    mount --bind "$dir/log" /var/log/libvirt
    mount --bind "$cache" /var/cache/libvirt
    mount --bind "$dir/passwd" /etc/passwd
    mount --bind "$dir/group" /etc/group
    virtlogd &
    echo $! >"$dir/virtlogd.pid"
    n=0; while [ ! -S /run/libvirt/virtlogd-sock ]; do
      n=$((n + 1)); [ $n -lt 200 ] || { echo "virtlogd did not start" >&2; exit 1; }; sleep 0.05
    done
    libvirtd &
    echo $! >"$dir/libvirtd.pid"
    wait
  ' sh "$LIBVIRT_DIR" "$cache" >"$LIBVIRT_DIR/daemons.log" 2>&1 &
  LIBVIRT_NS_PID=$!
}

libvirt_virsh() {
  virsh -q -c "qemu:///system?socket=$LIBVIRT_DIR/run/libvirt-sock" "$@"
}

# True while the process exists and is not a zombie.
_libvirt_alive() {
  local stat
  [[ -n $1 ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }   # after the command name, which may hold spaces
  [[ ${stat%% *} != Z ]]
}

_libvirt_pid() {
  cat "$LIBVIRT_DIR/$1" 2>/dev/null || true
}

# Sends SIGTERM, waits up to SECONDS, then SIGKILL.
_libvirt_terminate() {
  local pid=$1 seconds=$2 i
  _libvirt_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do _libvirt_alive "$pid" || return 0; sleep 0.1; done
  echo "libvirt: $pid did not end within $seconds s of SIGTERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

libvirt_log_tail() {
  echo "--- $LIBVIRT_DIR/daemons.log:" >&2
  tail -n 15 "$LIBVIRT_DIR/daemons.log" >&2 2>/dev/null || true
  echo "--- libvirtd.log:" >&2
  tail -n 15 "$LIBVIRT_DIR/log/libvirtd.log" >&2 2>/dev/null || true
}

libvirt_wait() {
  local seconds=$1 i
  for ((i = 0; i < seconds * 5; i++)); do
    if ! _libvirt_alive "$LIBVIRT_NS_PID"; then
      echo "libvirt: the daemons exited" >&2
      libvirt_log_tail
      return 1
    fi
    if [[ -S $LIBVIRT_DIR/run/libvirt-sock ]] && libvirt_virsh version 2>/dev/null | grep -q 'Running hypervisor: QEMU'; then
      return 0
    fi
    sleep 0.2
  done
  echo "libvirt: libvirtd did not answer within $seconds s" >&2
  libvirt_log_tail
  return 1
}

# virsh define FILE, remembering the domain for libvirt_stop.
libvirt_define() {
  local name
  name=$(sed -n 's:.*<name>\([^<]*\)</name>.*:\1:p' "$1" | head -n1)
  LIBVIRT_DOMAINS+=("$name")
  libvirt_virsh define "$1" >/dev/null
}

# QEMU's pid for a running domain (libvirt's pid file), else nothing.
libvirt_qemu_pid() {
  _libvirt_pid "run/qemu/$1.pid"
}

libvirt_stop() {
  [[ -n $LIBVIRT_NS_PID ]] || return 0
  local name qemu=() pid
  for name in "${LIBVIRT_DOMAINS[@]}"; do
    pid=$(libvirt_qemu_pid "$name")
    [[ -n $pid ]] && qemu+=("$pid")
    if _libvirt_alive "$(_libvirt_pid libvirtd.pid)"; then
      [[ -z $pid ]] || libvirt_virsh destroy "$name" >/dev/null 2>&1 || true
      libvirt_virsh undefine "$name" >/dev/null 2>&1 || true
    fi
  done
  _libvirt_terminate "$(_libvirt_pid libvirtd.pid)" 15
  _libvirt_terminate "$(_libvirt_pid virtlogd.pid)" 5
  for pid in "${qemu[@]}"; do
    if _libvirt_alive "$pid"; then
      echo "libvirt: QEMU $pid still ran; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  _libvirt_terminate "$LIBVIRT_NS_PID" 5
  wait "$LIBVIRT_NS_PID" 2>/dev/null || true
  LIBVIRT_NS_PID=
}
