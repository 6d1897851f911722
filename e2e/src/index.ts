// The e2e rig: real QEMU (7.2 and 10.x) with the test guest on a private D-Bus.
export { startRig, type Rig, type RigOptions } from './rig.js';
export { ALL_QEMU_VERSIONS, QEMU_VERSIONS, ensureGuest, ensureTrixieRoot, type QemuVersion } from './qemu.js';
export { QmpClient, QmpError, type QmpEvent, type QmpVersion } from './qmp.js';
export { Guest, READY_MARKER, type CommandResult } from './guest.js';
export {
  compareImages,
  cropImage,
  decodeImage,
  decodePpm,
  expectSameImage,
  loadPng,
  patternColor,
  patternImage,
  pixelAt,
  savePng,
  tileCentres,
  type Image,
  type ImageComparison,
  type Rect,
} from './images.js';
export { connectUnix, waitFor, type WaitForOptions } from './wait.js';
export { typedLine } from './typed.js';
export { ARTIFACTS_DIR, CACHE_DIR, E2E_DIR, REPO_DIR, artifactsDir } from './paths.js';
