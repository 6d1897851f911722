export { startHookServer, HOOK_POINTS, type HookServer, type HookServerOptions, type LogLevel } from './server.js';
export {
  CALLBACKS_VERSIONS,
  PROTO_DIR,
  PROTO_FILES,
  SERVICES,
  hookPackageDefinition,
  hookService,
  type CallbacksVersion,
  type HookPoint,
  type InfoResult,
  type OnDefineDomainParams,
  type OnDefineDomainResult,
  type PreCloudInitIsoParams,
  type PreCloudInitIsoResult,
} from './protos.js';
