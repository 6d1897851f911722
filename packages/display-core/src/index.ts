// display-core: QEMU's D-Bus display as a library — a VM's console mirrored with
// damage, its input, clipboard and audio — shared by qemu-vnc and qemu-rdp.
export * from './display.js';
export * from './framebuffer.js';
export * from './damage.js';
export * from './scroll.js';
export * from './pixel-format.js';
export * from './pixman-format.js';
export * from './keymap/index.js';
export * from './input.js';
export * from './clipboard.js';
export * from './audio.js';
export * from './audio-out.js';
export * from './pcm.js';
export * from './screenshot.js';
export * from './sharp.js';
export { QEMU_BUS_NAME } from './dbus/names.js';
export * from './placeholder.js';
export * from './net/endpoint.js';
export * from './net/auth-rate-limiter.js';
export * from './net/secret-file.js';
export * from './net/stall-watch.js';
export * from './cli-args.js';
export * from './log.js';
export * from './memory-log.js';
export * from './metrics.js';
export * from './http/ops-server.js';
export * from './http/http-auth.js';
