// qemu-rdp: an RDP server over QEMU's D-Bus display. The PDU layer (./pdu) and the bitmap
// codecs (./codec) are pure libraries of their own; ./server drives them over sockets.
export { RdpServer, type RdpCredentials, type RdpServerOptions, type LogFn } from './server/rdp-server.js';
export { RdpSession } from './server/session.js';
export { createSelfSignedCertificate, certificateFingerprint, type SelfSignedCertificate } from './server/self-signed.js';
export * as codec from './codec/index.js';
export * as bulk from './bulk/index.js';
export { RdpProtocolError, type RdpErrorCode } from './pdu/errors.js';
