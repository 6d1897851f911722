// Well-known names, object paths and interfaces of QEMU's D-Bus display
// (QEMU docs/interop/dbus-display.rst; reference XML in shared/reference/).
export const QEMU_BUS_NAME = 'org.qemu';
export const DISPLAY_ROOT = '/org/qemu/Display1';
export const VM_PATH = `${DISPLAY_ROOT}/VM`;
export const CLIPBOARD_PATH = `${DISPLAY_ROOT}/Clipboard`;
export const AUDIO_PATH = `${DISPLAY_ROOT}/Audio`;
export const LISTENER_PATH = `${DISPLAY_ROOT}/Listener`;
export const AUDIO_OUT_LISTENER_PATH = `${DISPLAY_ROOT}/AudioOutListener`;
export const AUDIO_IN_LISTENER_PATH = `${DISPLAY_ROOT}/AudioInListener`;
export const consolePath = (id: number) => `${DISPLAY_ROOT}/Console_${id}`;

export const IFACE = {
  vm: 'org.qemu.Display1.VM',
  console: 'org.qemu.Display1.Console',
  keyboard: 'org.qemu.Display1.Keyboard',
  mouse: 'org.qemu.Display1.Mouse',
  multiTouch: 'org.qemu.Display1.MultiTouch',
  listener: 'org.qemu.Display1.Listener',
  listenerUnixMap: 'org.qemu.Display1.Listener.Unix.Map',
  clipboard: 'org.qemu.Display1.Clipboard',
  audio: 'org.qemu.Display1.Audio',
  audioOutListener: 'org.qemu.Display1.AudioOutListener',
  audioInListener: 'org.qemu.Display1.AudioInListener',
  properties: 'org.freedesktop.DBus.Properties',
  introspectable: 'org.freedesktop.DBus.Introspectable',
  peer: 'org.freedesktop.DBus.Peer',
  busDriver: 'org.freedesktop.DBus',
} as const;
