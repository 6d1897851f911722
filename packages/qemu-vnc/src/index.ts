// qemu-vnc: an RFB server for a VM console mirrored by display-core. The RFB codec and
// encoders (./rfb) are a library of their own; ./server adds sockets and sessions.
export * from './rfb/index.js';
export { VncServer, type LogFn, type VncClientInfo, type VncServerOptions } from './server/vnc-server.js';
export { VncSession, type SharePolicy, type VncSessionOptions, type VncTransport } from './server/session.js';
export { WebConsole, WEB_CONSOLE_WEBSOCKET_PATH, type WebConsoleOptions } from './web/web-console.js';
export type { VncSecurity } from './server/auth.js';
