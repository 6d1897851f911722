// KubeVirt's hook services, loaded at run time from the .proto files shipped in the package's
// proto/ directory (beside dist/ and src/, so the same relative path works from both).
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

export const PROTO_FILES = [
  'kubevirt/hooks/info/api_info.proto',
  'kubevirt/hooks/v1alpha1/api_v1alpha1.proto',
  'kubevirt/hooks/v1alpha2/api_v1alpha2.proto',
  'kubevirt/hooks/v1alpha3/api_v1alpha3.proto',
] as const;

/** Fully qualified service names. */
export const SERVICES = {
  info: 'kubevirt.hooks.info.Info',
  v1alpha1: 'kubevirt.hooks.v1alpha1.Callbacks',
  v1alpha2: 'kubevirt.hooks.v1alpha2.Callbacks',
  v1alpha3: 'kubevirt.hooks.v1alpha3.Callbacks',
} as const;

export type ServiceKey = keyof typeof SERVICES;
export type CallbacksVersion = Exclude<ServiceKey, 'info'>;
export const CALLBACKS_VERSIONS: readonly CallbacksVersion[] = ['v1alpha1', 'v1alpha2', 'v1alpha3'];

// Messages as proto-loader hands them over (keepCase, defaults: missing bytes are empty Buffers).
export interface HookPoint {
  name: string;
  priority: number;
}
export interface InfoResult {
  name: string;
  hookPoints: HookPoint[];
  versions: string[];
}
export interface OnDefineDomainParams {
  domainXML: Buffer;
  vmi: Buffer;
}
export interface OnDefineDomainResult {
  domainXML: Buffer;
}
export interface PreCloudInitIsoParams {
  cloudInitNoCloudSource: Buffer;
  vmi: Buffer;
  cloudInitData: Buffer;
}
export interface PreCloudInitIsoResult {
  cloudInitNoCloudSource: Buffer;
  cloudInitData: Buffer;
}
export type Empty = Record<string, never>;

let loaded: PackageDefinition | undefined;

/** The package definition of all four files (loaded once). */
export function hookPackageDefinition(): PackageDefinition {
  loaded ??= loadSync([...PROTO_FILES], {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    defaults: true,
    arrays: true,
  });
  return loaded;
}

/** One of the hook services, ready for `Server.addService` (or `makeGenericClientConstructor`). */
export function hookService(key: ServiceKey): ServiceDefinition {
  const definition = hookPackageDefinition()[SERVICES[key]];
  if (!definition || 'format' in definition) throw new Error(`${SERVICES[key]} is not a service in ${PROTO_DIR}`);
  return definition as ServiceDefinition;
}
