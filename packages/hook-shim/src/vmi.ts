// The parts of a KubeVirt VirtualMachineInstance (the JSON virt-launcher hands to hooks) that
// the sidecar looks at: name, annotations, and the pod-network interfaces.

/** The VMI JSON is unusable; the message says why, in one line. */
export class VmiError extends Error {
  override readonly name = 'VmiError';
  readonly code = 'VMI_INVALID';
}

export interface VmiPort {
  readonly port: number;
  /** As written; KubeVirt's default is TCP. */
  readonly protocol?: string;
  readonly name?: string;
}

export interface VmiInterface {
  readonly name: string;
  /** `masquerade: {}` binding. */
  readonly masquerade: boolean;
  readonly ports: readonly VmiPort[];
}

export interface VmiSummary {
  readonly name: string;
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly interfaces: readonly VmiInterface[];
  /** Names of the networks in `spec.networks` that are the pod network (`pod: {}`). */
  readonly podNetworks: readonly string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(parent: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new VmiError(`VMI ${path}${key} is not an object`);
  return value;
}

function arrayAt(parent: JsonObject, key: string, path: string): Json[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new VmiError(`VMI ${path}${key} is not an array`);
  return value;
}

function stringAt(parent: JsonObject, key: string): string | undefined {
  const value = parent[key];
  return typeof value === 'string' ? value : undefined;
}

/** Reads the VMI JSON that KubeVirt passes to OnDefineDomain (and to shim scripts as --vmi). */
export function parseVmi(json: string): VmiSummary {
  if (json.trim() === '') throw new VmiError('the VMI JSON is empty');
  let root: Json;
  try {
    root = JSON.parse(json) as Json;
  } catch (err) {
    throw new VmiError(`the VMI is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(root)) throw new VmiError('the VMI JSON is not an object');

  const metadata = objectAt(root, 'metadata', '') ?? {};
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(objectAt(metadata, 'annotations', 'metadata.') ?? {})) {
    if (typeof value !== 'string') throw new VmiError(`VMI metadata.annotations["${key}"] is not a string`);
    annotations[key] = value;
  }

  const spec = objectAt(root, 'spec', '') ?? {};
  const domain = objectAt(spec, 'domain', 'spec.') ?? {};
  const devices = objectAt(domain, 'devices', 'spec.domain.') ?? {};
  const interfaces = arrayAt(devices, 'interfaces', 'spec.domain.devices.').map((entry, i): VmiInterface => {
    const path = `spec.domain.devices.interfaces[${i}]`;
    if (!isObject(entry)) throw new VmiError(`VMI ${path} is not an object`);
    const ports = arrayAt(entry, 'ports', `${path}.`).map((p, j): VmiPort => {
      if (!isObject(p) || typeof p.port !== 'number') throw new VmiError(`VMI ${path}.ports[${j}] has no numeric port`);
      return { port: p.port, protocol: stringAt(p, 'protocol'), name: stringAt(p, 'name') };
    });
    return { name: stringAt(entry, 'name') ?? '', masquerade: isObject(entry.masquerade), ports };
  });
  const podNetworks = arrayAt(spec, 'networks', 'spec.')
    .filter((n): n is JsonObject => isObject(n) && isObject(n.pod))
    .map((n) => stringAt(n, 'name') ?? '');

  return {
    name: stringAt(metadata, 'name') ?? '',
    namespace: stringAt(metadata, 'namespace') ?? '',
    annotations,
    interfaces,
    podNetworks,
  };
}
