// The KubeVirt hook gRPC server on a unix socket: Info, and the Callbacks services v1alpha1
// (OnDefineDomain), v1alpha2 (+ PreCloudInitIso) and v1alpha3 (+ Shutdown).
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import {
  Server,
  ServerCredentials,
  status,
  type handleUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { decodeDomainXml, decodeVmiJson, isHookInputError, onDefineDomain, type DefineDomainOutcome } from '../hook.js';
import {
  CALLBACKS_VERSIONS,
  hookService,
  type CallbacksVersion,
  type Empty,
  type HookPoint,
  type InfoResult,
  type OnDefineDomainParams,
  type OnDefineDomainResult,
  type PreCloudInitIsoParams,
  type PreCloudInitIsoResult,
} from './protos.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface HookServerOptions {
  /** Path of the unix socket to serve on (its directory is created if missing). */
  readonly socketPath: string;
  /** The name Info reports. */
  readonly name: string;
  /** The D-Bus socket as the compute container sees it; goes into the domain XML. */
  readonly busPath: string;
  /** Also subscribe to PreCloudInitIso (answered with the data unchanged); default false. */
  readonly subscribePreCloudInitIso?: boolean;
  readonly log?: (level: LogLevel, message: string) => void;
  /** After each OnDefineDomain that succeeded: the configuration read from the VMI. */
  readonly onDefineDomain?: (outcome: DefineDomainOutcome) => void;
  /** After Shutdown (v1alpha3) has been answered: virt-launcher is done, the sidecar may stop. */
  readonly onShutdown?: () => void;
}

export interface HookServer {
  readonly socketPath: string;
  /** `unix:///…`, as gRPC clients dial it. */
  readonly address: string;
  /** Stops serving (in-flight calls finish first, for up to 5 s) and removes the socket. */
  close(): Promise<void>;
}

export const HOOK_POINTS = {
  onDefineDomain: 'OnDefineDomain',
  preCloudInitIso: 'PreCloudInitIso',
  shutdown: 'Shutdown',
} as const;

const CLOSE_GRACE_MS = 5000;

function grpcError(code: status, message: string): Error & { code: status; details: string } {
  return Object.assign(new Error(message), { code, details: message });
}

/** Refuses to take over a live socket; removes a stale one left by an earlier run. */
async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another server is listening on ${path}`);
  await rm(path, { force: true });
}

export async function startHookServer(opts: HookServerOptions): Promise<HookServer> {
  const log = opts.log ?? (() => {});
  const server = new Server();
  const address = `unix://${opts.socketPath}`;

  const hookPoints: HookPoint[] = [{ name: HOOK_POINTS.onDefineDomain, priority: 0 }];
  if (opts.subscribePreCloudInitIso) hookPoints.push({ name: HOOK_POINTS.preCloudInitIso, priority: 0 });
  hookPoints.push({ name: HOOK_POINTS.shutdown, priority: 0 });

  const info: handleUnaryCall<Empty, InfoResult> = (_call, callback) => {
    log('info', 'Info called');
    callback(null, { name: opts.name, hookPoints, versions: [...CALLBACKS_VERSIONS] });
  };

  const defineDomain =
    (version: CallbacksVersion): handleUnaryCall<OnDefineDomainParams, OnDefineDomainResult> =>
    (call, callback: sendUnaryData<OnDefineDomainResult>) => {
      let outcome: DefineDomainOutcome;
      try {
        outcome = onDefineDomain(decodeDomainXml(call.request.domainXML), decodeVmiJson(call.request.vmi), opts.busPath);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const invalid = isHookInputError(err);
        log('error', `OnDefineDomain (${version}) refused: ${message}`);
        callback(grpcError(invalid ? status.INVALID_ARGUMENT : status.INTERNAL, message), null);
        return;
      }
      const who = outcome.vmi.namespace ? `${outcome.vmi.namespace}/${outcome.vmi.name}` : outcome.vmi.name || 'unnamed VMI';
      const did = outcome.changes.length > 0 ? outcome.changes.join('; ') : 'nothing to change';
      log('info', `OnDefineDomain (${version}) for ${who}: ${did}`);
      for (const warning of outcome.warnings) log('warn', warning);
      callback(null, { domainXML: Buffer.from(outcome.domainXml, 'utf8') });
      opts.onDefineDomain?.(outcome);
    };

  const preCloudInitIso =
    (version: CallbacksVersion): handleUnaryCall<PreCloudInitIsoParams, PreCloudInitIsoResult> =>
    (call, callback) => {
      log('info', `PreCloudInitIso (${version}): cloud-init data returned unchanged`);
      callback(null, { cloudInitNoCloudSource: call.request.cloudInitNoCloudSource, cloudInitData: call.request.cloudInitData });
    };

  const shutdown: handleUnaryCall<Empty, Empty> = (_call, callback) => {
    log('info', 'Shutdown called: virt-launcher is done with the VM');
    callback(null, {});
    if (opts.onShutdown) setImmediate(opts.onShutdown);
  };

  const services: [Parameters<typeof hookService>[0], Record<string, handleUnaryCall<never, unknown>>][] = [
    ['info', { Info: info }],
    ['v1alpha1', { OnDefineDomain: defineDomain('v1alpha1') }],
    ['v1alpha2', { OnDefineDomain: defineDomain('v1alpha2'), PreCloudInitIso: preCloudInitIso('v1alpha2') }],
    [
      'v1alpha3',
      { OnDefineDomain: defineDomain('v1alpha3'), PreCloudInitIso: preCloudInitIso('v1alpha3'), Shutdown: shutdown },
    ],
  ];
  for (const [key, implementation] of services) {
    server.addService(hookService(key), implementation as UntypedServiceImplementation);
  }

  await prepareSocketPath(opts.socketPath);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  // virt-launcher may run as another user (uid 107) than this container: let it connect.
  await chmod(opts.socketPath, 0o666);

  let closing: Promise<void> | undefined;
  return {
    socketPath: opts.socketPath,
    address,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), CLOSE_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }).then(() => rm(opts.socketPath, { force: true }))),
  };
}
