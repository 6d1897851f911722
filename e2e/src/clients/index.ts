// Real VNC clients (and the qemu-vnc CLI) for end-to-end tests of qemu-vnc.
export { Background, check, run, type RunResult } from './process.js';
export { QEMU_VNC_CLI, QemuVnc, ensureQemuVncBuilt, freeVncDisplay, runQemuVnc, startQemuVnc, type QemuVncOptions } from './qemu-vnc.js';
export { Xvfb, decodeXwd, type WindowGeometry } from './x11.js';
export { TigerVncViewer, type TigerVncOptions } from './tigervnc.js';
export { GvncViewer } from './gvncviewer.js';
export { gvnccapture, vncsnapshot } from './snapshot.js';
export { NoVncBrowser, NOVNC_DIR, CHROMIUM } from './novnc.js';
export { plainPasswordFile, selfSignedCert, vncPasswdFile, type CertFiles } from './credentials.js';
