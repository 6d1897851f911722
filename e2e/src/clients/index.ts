// Real VNC clients (and the qemu-vnc CLI) for end-to-end tests of qemu-vnc.
export { Background, check, run, type RunResult } from './process.js';
export { QEMU_VNC_CLI, QemuVnc, ensureQemuVncBuilt, freeVncDisplay, runQemuVnc, startQemuVnc, type QemuVncOptions } from './qemu-vnc.js';
export { Xvfb, decodeXwd, type WindowGeometry } from './x11.js';
export { TigerVncViewer, type TigerVncOptions } from './tigervnc.js';
export { GvncViewer } from './gvncviewer.js';
export { gvnccapture, vncsnapshot } from './snapshot.js';
export { NoVncBrowser, NOVNC_DIR, CHROMIUM, launchChromium } from './novnc.js';
export { WebConsoleBrowser, type ConsoleStatus } from './web-console.js';
export { plainPasswordFile, selfSignedCert, vncPasswdFile, type CertFiles } from './credentials.js';
export { QEMU_RDP_CLI, QemuRdp, ensureQemuRdpBuilt, runQemuRdp, startQemuRdp, type QemuRdpOptions } from './qemu-rdp.js';
export { XFreeRdp, type XFreeRdpOptions } from './xfreerdp.js';
export { X11Viewer } from './x11-viewer.js';
export { ServerProcess, ensurePackagesBuilt, metricSample, readableLogLine } from './server-process.js';
export { RawRdpClient, type ServerFrame } from './raw-rdp.js';
export { SidecarInit, VDI_INIT, callHook, descendants, ensureVdiInitBuilt, processAlive, processTable, type InitLine, type ProcEntry, type SidecarInitOptions } from './sidecar-init.js';
