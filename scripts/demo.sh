#!/usr/bin/env bash
# The demo: sets up a fresh Debian 12 machine, boots the bundled tiny VM (Debian kernel +
# busybox, QEMU with its D-Bus display) on a private bus, serves its console with qemu-vnc
# (TCP and WebSocket) and qemu-rdp, shows what qemu-display sees, and prints where to connect.
# Runs until Ctrl+C; `--once` stops after printing (for a quick check). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
once=false
[[ ${1:-} == --once ]] && once=true

bash scripts/setup-system.sh >/dev/null
[[ -d node_modules ]] || npm ci --no-audit --no-fund
NX_DAEMON=false npx nx run-many -t build --outputStyle=static >/dev/null
guest=$(bash e2e/guest/build-guest.sh)

run=$(mktemp -d /tmp/vdi-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] || rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The sidecar's order: bus first, servers next (they wait for the VM), QEMU last.
node packages/dbus-session/dist/cli.js --socket "$run/bus" --allow-uid "$(id -u)" >"$run/dbus.out" 2>"$run/dbus.log" &
pids+=($!)
for _ in $(seq 50); do [[ -s $run/dbus.out ]] && break; sleep 0.1; done
# QEMU's option parser splits at commas: pass the address without its ",guid=…".
address=$(head -n1 "$run/dbus.out" | sed 's/,guid=.*//')
[[ -n $address ]] || { echo "demo: the bus did not start:" >&2; cat "$run/dbus.log" >&2; exit 1; }

VNC_PORT=${VNC_PORT:-5900}
WS_PORT=${WS_PORT:-5700}
node packages/qemu-vnc/dist/cli.js --dbus-address "$address" --listen "127.0.0.1:$VNC_PORT" \
  --websocket "127.0.0.1:$WS_PORT" >"$run/qemu-vnc.out" 2>"$run/qemu-vnc.log" &
pids+=($!)
RDP_PORT=${RDP_PORT:-3389}
node packages/qemu-rdp/dist/cli.js --dbus-address "$address" --listen "127.0.0.1:$RDP_PORT" \
  >"$run/qemu-rdp.out" 2>"$run/qemu-rdp.log" &
pids+=($!)

qemu-system-x86_64 -machine pc -accel tcg -m 256 -name vdi-demo \
  -display "dbus,addr=$address,gl=off,audiodev=audio0" -audiodev dbus,id=audio0 \
  -vga std -nic none -kernel "$guest/vmlinuz" -initrd "$guest/initrd.gz" \
  -append "console=ttyS0 vga=0x318 quiet" -serial "file:$run/console.log" -serial null \
  -device AC97,audiodev=audio0 -device qemu-xhci -device usb-tablet >"$run/qemu.log" 2>&1 &
pids+=($!)

echo "demo: waiting for the VM to boot (about 10 s under software emulation)…"
for _ in $(seq 120); do grep -q VDI-GUEST-READY "$run/console.log" 2>/dev/null && break; sleep 0.5; done

node packages/display-core/dist/cli.js info --dbus-address "$address" --timeout 30
node packages/display-core/dist/cli.js screenshot --dbus-address "$address" --output "$run/screen.png"
cp "$run/screen.png" /tmp/vdi-demo-screen.png
cat <<INFO

The VM's console is served by qemu-vnc and qemu-rdp:
  VNC:        vncviewer 127.0.0.1:$VNC_PORT        (or gvncviewer 127.0.0.1:$((VNC_PORT - 5900)))
  WebSocket:  ws://127.0.0.1:$WS_PORT/   (noVNC's binary subprotocol)
  RDP:        xfreerdp /v:127.0.0.1:$RDP_PORT /sec:tls /cert:tofu /u:any /p:any
              (loopback only, so any user name and password; certificate fingerprint:
               $(grep -o 'fingerprint .*' "$run/qemu-rdp.log" | head -n1 | cut -d' ' -f2))
  D-Bus bus:  DBUS_DISPLAY_ADDRESS=$address
              npx qemu-display type 'echo hello\\n'
  Screenshot: /tmp/vdi-demo-screen.png
INFO
$once && exit 0
echo "Ctrl+C stops the VM and the servers."
wait
