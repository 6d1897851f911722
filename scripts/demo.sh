#!/usr/bin/env bash
# The demo: the real sidecar beside a VM started by libvirt, as in a KubeVirt pod.
#
#   sudo scripts/demo.sh [--once]
#
# Sets up a fresh Debian 12 machine (apt packages, npm ci, builds the packages, the tiny init
# and the bundled tiny guest: Debian kernel + busybox), then, in a run directory under /tmp:
#  1. starts vdi-init, the sidecar's PID 1, on a KubeVirt-like hooks directory (hook socket
#     hooks/hook-sidecar-0.sock, bus hooks/vdi/bus, plan hooks/vdi/plan); it starts
#     dbus-session and `hook-shim serve`;
#  2. calls the hook's OnDefineDomain (gRPC, Python grpcio) as virt-launcher does, with a
#     KubeVirt-shaped domain for the tiny guest (scripts/demo/domain.xml) and a VMI whose
#     vdi-sidecar.io/ annotations ask for VNC, RDP and the web console (scripts/demo/vmi.json);
#     hook-shim rewrites the domain (D-Bus display and audio, tablet, clipboard channel) and
#     writes the plan, from which vdi-init starts qemu-vnc (with --http) and qemu-rdp;
#  3. defines and starts the rewritten domain with a private libvirtd + virtlogd
#     (scripts/demo/libvirt-private.sh; the machine's libvirt configuration is not touched);
#  4. waits until the servers have attached to the VM and the guest has booted, shows what
#     qemu-display sees, saves a screenshot and prints where to connect.
# Runs until Ctrl+C; `--once` stops right after printing (a quick check). Stopping: the
# domain (virsh destroy, undefine), libvirtd, virtlogd, then SIGTERM to vdi-init (which stops
# the servers, hook-shim and the bus); the run directory is removed unless KEEP=1. Safe to run
# again. Ports: VNC_PORT (5900), RDP_PORT (3389), WEB_PORT (6080), all on 127.0.0.1.
# SHOW_XML=1 prints the domain XML the hook returned.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
source scripts/demo/libvirt-private.sh

once=false
case ${1:-} in
  --once) once=true ;;
  '') ;;
  *) echo "usage: sudo scripts/demo.sh [--once]" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "demo: run it as root (sudo scripts/demo.sh): it installs packages and runs libvirtd" >&2; exit 1; }

VNC_PORT=${VNC_PORT:-5900}
RDP_PORT=${RDP_PORT:-3389}
WEB_PORT=${WEB_PORT:-6080}
for port in "$VNC_PORT" "$RDP_PORT" "$WEB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: something listens on 127.0.0.1:$port already (VNC_PORT, RDP_PORT, WEB_PORT choose others)" >&2
    exit 1
  fi
done

echo "demo: setting up (apt packages, npm packages, builds, the tiny guest)…"
bash scripts/setup-system.sh >/dev/null
[[ -d node_modules ]] || npm ci --no-audit --no-fund
NX_DAEMON=false npx nx run-many -t build --outputStyle=static >/dev/null
make -C images/sidecar/init >/dev/null
guest=$(bash e2e/guest/build-guest.sh)

run=$(mktemp -d /tmp/vdi-demo.XXXXXX)
hooks=$run/hooks          # the pod's hooks directory, /var/run/kubevirt-hooks in the sidecar
bus=$hooks/vdi/bus
log=$run/sidecar.log      # vdi-init's output: every child's lines, prefixed with its name
domain=default_vdi-demo   # KubeVirt names the domain NAMESPACE_NAME
mkdir -p "$hooks"
init_pid=

alive() { _libvirt_alive "$1"; }

cleanup() {
  set +e
  trap '' INT TERM
  echo "demo: stopping the VM, libvirtd and the sidecar…"
  libvirt_stop
  if alive "$init_pid"; then
    kill -TERM "$init_pid"
    for _ in $(seq 300); do alive "$init_pid" || break; sleep 0.1; done
    # A second SIGTERM makes vdi-init kill what is left at once.
    alive "$init_pid" && kill -TERM "$init_pid" && sleep 1
    alive "$init_pid" && kill -KILL "$init_pid"
    wait "$init_pid" 2>/dev/null
  fi
  if [[ -n ${KEEP:-} ]]; then echo "demo: kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 0' TERM

# Waits until COMMAND succeeds: wait_for WHAT SECONDS COMMAND…
wait_for() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 5; i++)); do
    "$@" && return 0
    if ! alive "$init_pid"; then echo "demo: vdi-init exited while waiting for $what" >&2; break; fi
    sleep 0.2
  done
  alive "$init_pid" && echo "demo: no $what within $seconds s" >&2
  echo "--- $log (last lines):" >&2
  tail -n 20 "$log" >&2
  exit 1
}
logged() { grep -qE "$1" "$log"; }

# The daemons probe QEMU for a few seconds: start them now, use them later.
libvirt_start "$run/libvirt"

# 1. The sidecar container: vdi-init as its entrypoint, `serve` and the hooks layout as arguments.
#    --allow-uid 0: QEMU runs as root under the private libvirtd (in KubeVirt: 107, the default).
#    setsid: a Ctrl+C reaches only this script, which stops everything in order.
PATH="$repo/images/sidecar/init/dist/bin:$PATH" VDI_LOG_FORMAT=text setsid images/sidecar/init/dist/vdi-init \
  --bus "$bus" --plan "$hooks/vdi/plan" --allow-uid 0 --grace 5 -- \
  serve --socket-dir "$hooks" --name hook-sidecar-0 --bus-path "$bus" >"$log" 2>&1 &
init_pid=$!
wait_for "hook socket" 30 logged '^\[hook-shim\] unix://'
echo "demo: vdi-init runs dbus-session and hook-shim (hook $hooks/hook-sidecar-0.sock)"

# 2. virt-launcher's call: OnDefineDomain with the domain and the VMI.
uuid=$(cat /proc/sys/kernel/random/uuid)
fill() {
  sed -e "s|{{UUID}}|$uuid|g" -e "s|{{RUN}}|$run|g" -e "s|{{GUEST}}|$guest|g" \
    -e "s|{{VNC_PORT}}|$VNC_PORT|g" -e "s|{{RDP_PORT}}|$RDP_PORT|g" -e "s|{{WEB_PORT}}|$WEB_PORT|g" "$1" >"$2"
}
fill scripts/demo/domain.xml "$run/domain.xml"
fill scripts/demo/vmi.json "$run/vmi.json"
/usr/bin/python3 scripts/demo/call-hook.py "$hooks/hook-sidecar-0.sock" "$run/domain.xml" "$run/vmi.json" "$run/domain-hooked.xml"
[[ -z ${SHOW_XML:-} ]] || { echo "--- the domain XML the hook returned:"; cat "$run/domain-hooked.xml"; echo "---"; }
wait_for "server plan" 10 test -s "$hooks/vdi/plan"
echo "demo: OnDefineDomain: hook-shim added the D-Bus display to the domain and planned: $(cut -f1 "$hooks/vdi/plan" | paste -sd' ')"

# 3. libvirt defines and starts what the hook returned.
libvirt_wait 90
libvirt_define "$run/domain-hooked.xml"
if ! libvirt_virsh start "$domain" >/dev/null; then
  echo "--- QEMU's log:" >&2
  tail -n 20 "$run/libvirt/log/qemu/$domain.log" >&2 2>/dev/null
  exit 1
fi
echo "demo: libvirtd started $domain (QEMU pid $(libvirt_qemu_pid "$domain")); waiting for the guest to boot (about 10 s under software emulation)…"

# 4. The servers follow the VM onto the bus; the guest marks the end of its boot on ttyS0.
wait_for "qemu-vnc attached to the VM" 60 logged '^\[qemu-vnc\] .*attached to VM'
wait_for "qemu-rdp attached to the VM" 60 logged '^\[qemu-rdp\] .*attached to VM'
wait_for "guest boot" 120 grep -q VDI-GUEST-READY "$run/virt-serial0-log"

node packages/display-core/dist/cli.js info --dbus-address "unix:path=$bus" --timeout 30
node packages/display-core/dist/cli.js screenshot --dbus-address "unix:path=$bus" --output "$run/screen.png"
cp "$run/screen.png" /tmp/vdi-demo-screen.png
fingerprint=$(grep -o 'SHA-256 fingerprint [0-9A-Fa-f:]*' "$log" | tail -n1 | cut -d' ' -f3)
cat <<INFO

The sidecar serves the VM's console (loopback only):
  VNC:          vncviewer 127.0.0.1:$VNC_PORT        (or gvncviewer 127.0.0.1:$((VNC_PORT - 5900)))
  RDP:          xfreerdp /v:127.0.0.1:$RDP_PORT /cert:tofu /u:any /p:any
                (no password set, so any user name and password; certificate fingerprint:
                 $fingerprint)
  Web console:  http://127.0.0.1:$WEB_PORT/   (WebSocket for noVNC: ws://127.0.0.1:$WEB_PORT/websockify)
  D-Bus bus:    DBUS_DISPLAY_ADDRESS=unix:path=$bus
                npx qemu-display type 'echo hello\\n'
  Screenshot:   /tmp/vdi-demo-screen.png
  Logs:         $log (vdi-init and its children), $run/libvirt/log/
                ($run is removed at exit unless KEEP=1)
INFO
$once && exit 0
echo "Ctrl+C stops the VM, libvirtd and the sidecar."
while alive "$init_pid" && alive "$LIBVIRT_NS_PID"; do sleep 1; done
echo "demo: $(alive "$init_pid" && echo libvirtd || echo vdi-init) ended on its own" >&2
exit 1
