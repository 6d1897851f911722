// @vdi-sidecar/hook-shim: the KubeVirt hook that turns QEMU's D-Bus display on.
export * from './domain/index.js';
export * from './config.js';
export * from './plan.js';
export * from './vmi.js';
export * from './hook.js';
export * from './grpc/index.js';
