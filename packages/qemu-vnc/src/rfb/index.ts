// The RFB library of qemu-vnc: message codecs, VNC Authentication and pixel encoders, all
// pure code over Buffers. A server feeds client bytes to parseClientMessage and writes the
// Buffers the encoders return.
export * from './constants.js';
export * from './errors.js';
export * from './client-messages.js';
export * from './server-messages.js';
export * from './vnc-auth.js';
export { Des } from './des.js';
export * from './encoders/index.js';
