// The sidecar's configuration, from annotations on the VMI (`vdi-sidecar.io/…`). The hook reads
// and checks it when virt-launcher defines the domain; it starts no server itself, it only
// carries the configuration to whoever does (see the CLI's --config-out).
import { isIP } from 'node:net';
import type { VmiSummary } from './vmi.js';

export const ANNOTATION_PREFIX = 'vdi-sidecar.io/';

export type ServerKind = 'vnc' | 'rdp' | 'web';
export const SERVER_KINDS: readonly ServerKind[] = ['vnc', 'rdp', 'web'];

const SERVER_LABEL: Record<ServerKind, string> = { vnc: 'VNC', rdp: 'RDP', web: 'web console' };

export interface ServerConfig {
  readonly enabled: boolean;
  /** IP address to bind (no brackets for IPv6). */
  readonly listen: string;
  readonly port: number;
}

export interface SidecarConfig {
  readonly vnc: ServerConfig;
  readonly rdp: ServerConfig;
  readonly web: ServerConfig;
  /** Paths inside the sidecar container; null when not set. */
  readonly passwordFile: string | null;
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  /** Allows listening beyond loopback without a password. */
  readonly insecure: boolean;
  readonly clipboard: boolean;
  readonly audio: boolean;
  readonly tablet: boolean;
  readonly keepKubevirtVnc: boolean;
}

/** Without annotations: VNC and RDP on loopback, the rest of the display features on. */
export const DEFAULT_CONFIG: SidecarConfig = Object.freeze({
  vnc: Object.freeze({ enabled: true, listen: '127.0.0.1', port: 5900 }),
  rdp: Object.freeze({ enabled: true, listen: '127.0.0.1', port: 3389 }),
  web: Object.freeze({ enabled: false, listen: '127.0.0.1', port: 6080 }),
  passwordFile: null,
  tlsCertFile: null,
  tlsKeyFile: null,
  insecure: false,
  clipboard: true,
  audio: true,
  tablet: true,
  keepKubevirtVnc: true,
});

/** An annotation has a value the sidecar cannot use; names the annotation and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ANNOTATION_INVALID';
  /** The full annotation name, e.g. `vdi-sidecar.io/vnc-port`. */
  readonly annotation: string;

  constructor(annotation: string, message: string) {
    super(message);
    this.annotation = annotation;
  }
}

type ValueKind = 'switch' | 'port' | 'address' | 'path';

const ACCEPTS: Record<ValueKind, string> = {
  switch: '"on" or "off" ("true" or "false")',
  port: 'a port number from 1 to 65535',
  address: 'an IPv4 or IPv6 address, such as 127.0.0.1, 0.0.0.0 or ::',
  path: 'an absolute file path inside the sidecar container',
};

/** Every annotation the sidecar reads: key (after the prefix), kind, and what it sets. */
export const ANNOTATIONS: readonly { readonly key: string; readonly kind: ValueKind; readonly description: string }[] = [
  { key: 'vnc', kind: 'switch', description: 'run the VNC server' },
  { key: 'vnc-listen', kind: 'address', description: 'address the VNC server binds' },
  { key: 'vnc-port', kind: 'port', description: 'TCP port of the VNC server' },
  { key: 'rdp', kind: 'switch', description: 'run the RDP server' },
  { key: 'rdp-listen', kind: 'address', description: 'address the RDP server binds' },
  { key: 'rdp-port', kind: 'port', description: 'TCP port of the RDP server' },
  { key: 'web', kind: 'switch', description: 'run the web console (page, WebSocket for noVNC, probes, metrics)' },
  { key: 'web-listen', kind: 'address', description: 'address the WebSocket server binds' },
  { key: 'web-port', kind: 'port', description: 'TCP port of the WebSocket server' },
  { key: 'password-file', kind: 'path', description: 'file holding the password clients must give' },
  { key: 'tls-cert-file', kind: 'path', description: 'TLS certificate (PEM) for the servers' },
  { key: 'tls-key-file', kind: 'path', description: 'private key (PEM) of that certificate' },
  { key: 'insecure', kind: 'switch', description: 'allow listening beyond loopback without a password' },
  { key: 'clipboard', kind: 'switch', description: 'share the clipboard (adds a qemu-vdagent channel)' },
  { key: 'audio', kind: 'switch', description: 'export audio (adds a D-Bus audio backend)' },
  { key: 'tablet', kind: 'switch', description: 'add a USB tablet when the VM has no absolute pointer' },
  { key: 'keep-kubevirt-vnc', kind: 'switch', description: "keep KubeVirt's own VNC display (virtctl vnc)" },
];

const KNOWN = new Map(ANNOTATIONS.map((a) => [a.key, a.kind]));

function reject(key: string, value: string, what: string): never {
  const kind = KNOWN.get(key);
  const accepts = kind ? `; it accepts ${ACCEPTS[kind]}` : '';
  throw new ConfigError(`${ANNOTATION_PREFIX}${key}`, `annotation ${ANNOTATION_PREFIX}${key}: ${JSON.stringify(value)} ${what}${accepts}`);
}

function parseSwitch(key: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  return reject(key, value, 'is not a switch');
}

function parsePort(key: string, value: string): number {
  const v = value.trim();
  const port = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(port >= 1 && port <= 65535)) reject(key, value, 'is not a port');
  return port;
}

function parseAddress(key: string, value: string): string {
  let v = value.trim();
  if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1);
  if (isIP(v) === 0) reject(key, value, 'is not an IP address');
  return v;
}

function parsePath(key: string, value: string): string {
  const v = value.trim();
  if (!v.startsWith('/') || v.includes('\0')) reject(key, value, 'is not an absolute path');
  return v;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address) || address.toLowerCase() === '::ffff:127.0.0.1';
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export interface ConfigResult {
  readonly config: SidecarConfig;
  /** Unknown `vdi-sidecar.io/` annotations and other things worth a log line. */
  readonly warnings: readonly string[];
}

/**
 * The configuration given by a VMI's annotations (`metadata.annotations`); annotations without
 * the `vdi-sidecar.io/` prefix are ignored.
 * @throws ConfigError naming the first annotation whose value is unusable.
 */
export function configFromAnnotations(annotations: Readonly<Record<string, string>> = {}): ConfigResult {
  const warnings: string[] = [];
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(annotations)) {
    if (!name.startsWith(ANNOTATION_PREFIX)) continue;
    const key = name.slice(ANNOTATION_PREFIX.length);
    if (!KNOWN.has(key)) {
      warnings.push(`unknown annotation ${name} ignored (known: ${ANNOTATIONS.map((a) => a.key).join(', ')})`);
      continue;
    }
    given.set(key, value);
  }
  const read = <T>(key: string, parse: (key: string, value: string) => T, fallback: T): T => {
    const value = given.get(key);
    return value === undefined ? fallback : parse(key, value);
  };
  const server = (kind: ServerKind): ServerConfig => ({
    enabled: read(kind, parseSwitch, DEFAULT_CONFIG[kind].enabled),
    listen: read(`${kind}-listen`, parseAddress, DEFAULT_CONFIG[kind].listen),
    port: read(`${kind}-port`, parsePort, DEFAULT_CONFIG[kind].port),
  });

  const config: SidecarConfig = {
    vnc: server('vnc'),
    rdp: server('rdp'),
    web: server('web'),
    passwordFile: read('password-file', parsePath, null),
    tlsCertFile: read('tls-cert-file', parsePath, null),
    tlsKeyFile: read('tls-key-file', parsePath, null),
    insecure: read('insecure', parseSwitch, false),
    clipboard: read('clipboard', parseSwitch, true),
    audio: read('audio', parseSwitch, true),
    tablet: read('tablet', parseSwitch, true),
    keepKubevirtVnc: read('keep-kubevirt-vnc', parseSwitch, true),
  };

  if ((config.tlsCertFile === null) !== (config.tlsKeyFile === null)) {
    const missing = config.tlsCertFile === null ? 'tls-cert-file' : 'tls-key-file';
    const present = config.tlsCertFile === null ? 'tls-key-file' : 'tls-cert-file';
    throw new ConfigError(
      `${ANNOTATION_PREFIX}${missing}`,
      `annotation ${ANNOTATION_PREFIX}${missing} is missing: ${ANNOTATION_PREFIX}${present} is set, and the certificate and its key go together`,
    );
  }

  const enabled = SERVER_KINDS.filter((k) => config[k].enabled);
  for (const kind of enabled) {
    const { listen } = config[kind];
    if (!isLoopback(listen) && config.passwordFile === null && !config.insecure) {
      throw new ConfigError(
        `${ANNOTATION_PREFIX}${kind}-listen`,
        `annotation ${ANNOTATION_PREFIX}${kind}-listen: ${listen} is beyond loopback, and no password is set; ` +
          `set ${ANNOTATION_PREFIX}password-file (and ${ANNOTATION_PREFIX}tls-cert-file/tls-key-file), ` +
          `or ${ANNOTATION_PREFIX}insecure: "on" to allow it without one`,
      );
    }
  }
  for (let i = 0; i < enabled.length; i++) {
    for (let j = i + 1; j < enabled.length; j++) {
      const a = config[enabled[i]];
      const b = config[enabled[j]];
      const overlap = a.listen === b.listen || isWildcard(a.listen) || isWildcard(b.listen);
      if (a.port === b.port && overlap) {
        throw new ConfigError(
          `${ANNOTATION_PREFIX}${enabled[j]}-port`,
          `annotation ${ANNOTATION_PREFIX}${enabled[j]}-port: port ${b.port} is also the ${SERVER_LABEL[enabled[i]]} server's ` +
            `(${ANNOTATION_PREFIX}${enabled[i]}-port); each server needs its own port`,
        );
      }
    }
  }
  if (enabled.length === 0) warnings.push('every server is off (vnc, rdp and web): nothing will serve the display');

  return { config, warnings };
}

/**
 * Problems of the VMI's pod network for servers in the sidecar, one line each with its fix.
 * With masquerade binding, KubeVirt forwards the interface's listed ports to the guest — and,
 * when it lists none, all inbound TCP, port-forward and connections to 127.0.0.1 inside the
 * pod included — so the sidecar's servers could not be reached.
 */
export function podNetworkWarnings(vmi: VmiSummary, config: SidecarConfig): string[] {
  const warnings: string[] = [];
  const enabled = SERVER_KINDS.filter((k) => config[k].enabled);
  if (enabled.length === 0) return warnings;
  const serverList = enabled.map((k) => `${SERVER_LABEL[k]} on ${config[k].port}`).join(', ');
  for (const iface of vmi.interfaces) {
    if (!iface.masquerade || !vmi.podNetworks.includes(iface.name)) continue;
    const where = `spec.domain.devices.interfaces (name: ${iface.name})`;
    if (iface.ports.length === 0) {
      warnings.push(
        `interface "${iface.name}" binds the pod network with masquerade and lists no ports, so KubeVirt forwards all ` +
          `inbound TCP to the guest (port-forward and 127.0.0.1 inside the pod included): the sidecar's servers ` +
          `(${serverList}) are unreachable. Fix: list the ports the guest serves in ${where}.ports, ` +
          `e.g. ports: [{port: 22}]`,
      );
      continue;
    }
    for (const kind of enabled) {
      const port = config[kind].port;
      const clash = iface.ports.find((p) => p.port === port && (p.protocol ?? 'TCP').toUpperCase() === 'TCP');
      if (clash) {
        warnings.push(
          `interface "${iface.name}" lists port ${port}, so KubeVirt forwards it to the guest: the sidecar's ` +
            `${SERVER_LABEL[kind]} server on that port is unreachable. Fix: remove it from ${where}.ports, ` +
            `or move the server with the annotation ${ANNOTATION_PREFIX}${kind}-port`,
        );
      }
    }
  }
  return warnings;
}

/** The configuration of a VMI, with the warnings about its annotations and its pod network. */
export function configFromVmi(vmi: VmiSummary): ConfigResult {
  const { config, warnings } = configFromAnnotations(vmi.annotations);
  return { config, warnings: [...warnings, ...podNetworkWarnings(vmi, config)] };
}
