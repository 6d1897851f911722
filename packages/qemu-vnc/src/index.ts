// qemu-vnc: an RFB server for a VM console mirrored by display-core. The RFB codec and
// encoders (./rfb) are a library of their own; ./server adds sockets and sessions.
export * from './rfb/index.js';
export { VncServer, type LogFn, type VncServerOptions } from './server/vnc-server.js';
export { VncSession, type SharePolicy } from './server/session.js';
export type { VncSecurity } from './server/auth.js';
