#!/usr/bin/env node
// hook-shim: the KubeVirt hook of the vdi-sidecar (gRPC server, or a script for KubeVirt's
// stock sidecar-shim). Arguments, environment, signals and exit codes live here only.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isHookInputError, onDefineDomain, type DefineDomainOutcome } from './hook.js';
import { unixBusAddress } from './domain/index.js';
import { formatPlan, serverPlan } from './plan.js';
import { startHookServer, type HookServer, type LogLevel } from './grpc/index.js';
import { createProcessLogger, OpsServer, parseEndpoint, type Endpoint } from '@vdi-sidecar/display-core';

const USAGE = `Usage:
  hook-shim serve [--socket-dir DIR] [--name NAME] [--bus-path PATH] [--config-out FILE]
                  [--plan-out FILE] [--plan-dbus-address ADDR] [--pre-cloud-init-iso] [--http HOST:PORT]
  hook-shim onDefineDomain --vmi JSON --domain XML [--bus-path PATH]
  hook-shim preCloudInitIso --vmi JSON --cloud-init JSON
  hook-shim --help

serve: the KubeVirt hook gRPC server (Info; Callbacks v1alpha1, v1alpha2, v1alpha3) on the
unix socket DIR/NAME.sock. OnDefineDomain rewrites the domain XML so QEMU exports its
display, audio and clipboard on the D-Bus socket PATH (-display dbus), configured by the VMI's
vdi-sidecar.io/ annotations (see the package README); malformed XML or a bad annotation is
answered with INVALID_ARGUMENT. Shutdown (v1alpha3), SIGTERM and SIGINT stop it.
  --socket-dir DIR       where virt-launcher looks for hook sockets; the hook sidecar's mount of
                         the shared hooks directory (default /var/run/kubevirt-hooks) [HOOK_SHIM_SOCKET_DIR]
  --name NAME            socket name and the name Info reports (default $CONTAINER_NAME, else
                         vdi-sidecar) [HOOK_SHIM_NAME]
  --bus-path PATH        the D-Bus socket as the compute container sees it (default
                         /var/run/kubevirt-hooks/$CONTAINER_NAME/vdi/bus, which is DIR/vdi/bus
                         in this container) [HOOK_SHIM_BUS_PATH]
  --config-out FILE      after each OnDefineDomain, write the configuration read from the VMI
                         there as JSON (not directly in DIR: virt-launcher dials every file
                         there) [HOOK_SHIM_CONFIG_OUT]
  --plan-out FILE        after each OnDefineDomain, write the servers to run there, one line
                         each: NAME<TAB>ARG0<TAB>ARG1... (for the sidecar's init; same rule
                         as --config-out) [HOOK_SHIM_PLAN_OUT]
  --plan-dbus-address ADDR
                         the bus address the plan gives the servers (default
                         unix:path=DIR/vdi/bus, the bus as this container sees it)
                         [HOOK_SHIM_PLAN_DBUS_ADDRESS]
  --pre-cloud-init-iso   also subscribe to PreCloudInitIso (answered unchanged)
  --http HOST:PORT       Kubernetes probes /healthz (the process works) and /readyz (the hook
                         socket serves) over HTTP (default: off) [HOOK_SHIM_HTTP]
Once serving, the socket's address (unix:///…) is printed on stdout; log lines go to stderr
(JSON lines unless stderr is a terminal; VDI_LOG_FORMAT=json|text overrides).

onDefineDomain: script mode for KubeVirt's stock sidecar-shim, which runs
"onDefineDomain --vmi JSON --domain XML" and defines what it prints: prints the rewritten
domain XML (warnings go to stderr). Also run this way when invoked through a link named
onDefineDomain. preCloudInitIso: prints the cloud-init data unchanged (likewise).

Exit codes: 0 success, or stopped by Shutdown/SIGTERM/SIGINT; 1 failure (bad input, socket
unusable), with one line on stderr; 2 bad usage.`;

const DEFAULT_SOCKET_DIR = '/var/run/kubevirt-hooks';
/** Where compute sees each hook sidecar's mount of the hooks directory (KubeVirt >= 1.6). */
const COMPUTE_HOOKS_DIR = '/var/run/kubevirt-hooks';
const BUS_SUBPATH = 'vdi/bus';

class UsageError extends Error {}
class InputError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function defaultBusPath(env: Env): string {
  const container = env.CONTAINER_NAME;
  if (!container) {
    throw new UsageError('no bus path: give --bus-path (or set $CONTAINER_NAME, as KubeVirt >= 1.6 does for hook sidecars)');
  }
  return `${COMPUTE_HOOKS_DIR}/${container}/${BUS_SUBPATH}`;
}

function checkBusPath(path: string): string {
  if (!path.startsWith('/')) throw new UsageError(`--bus-path must be an absolute path, not "${path}"`);
  return path;
}

const processLog = createProcessLogger({ process: 'hook-shim' });

function logLine(level: LogLevel, message: string): void {
  processLog(level, message);
}

async function writeConfig(file: string, outcome: DefineDomainOutcome): Promise<void> {
  const body = {
    vmi: { namespace: outcome.vmi.namespace, name: outcome.vmi.name },
    config: outcome.config,
    warnings: outcome.warnings,
  };
  await writeAtomically(file, `${JSON.stringify(body, null, 2)}\n`);
}

/** Writes `text` to `file` through a temporary file and a rename, so readers never see half of it. */
async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

async function serve(argv: string[], env: Env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'socket-dir': { type: 'string' },
      name: { type: 'string' },
      'bus-path': { type: 'string' },
      'config-out': { type: 'string' },
      'plan-out': { type: 'string' },
      'plan-dbus-address': { type: 'string' },
      'pre-cloud-init-iso': { type: 'boolean' },
      http: { type: 'string' },
    },
  });
  const httpText = values.http ?? env.HOOK_SHIM_HTTP;
  let http: Endpoint | undefined;
  try {
    http = httpText ? parseEndpoint(httpText, '--http') : undefined;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const socketDir = resolve(values['socket-dir'] ?? env.HOOK_SHIM_SOCKET_DIR ?? DEFAULT_SOCKET_DIR);
  const name = values.name ?? env.HOOK_SHIM_NAME ?? (env.CONTAINER_NAME || 'vdi-sidecar');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name takes letters, digits, '.', '_' and '-', not "${name}"`);
  const busPath = checkBusPath(values['bus-path'] ?? env.HOOK_SHIM_BUS_PATH ?? defaultBusPath(env));
  const configOutText = values['config-out'] ?? env.HOOK_SHIM_CONFIG_OUT;
  const configOut = configOutText === undefined ? undefined : resolve(configOutText);
  if (configOut !== undefined && dirname(configOut) === socketDir) {
    throw new UsageError(`--config-out must not be directly in ${socketDir}: virt-launcher would dial it as a hook socket`);
  }
  const planOutText = values['plan-out'] ?? env.HOOK_SHIM_PLAN_OUT;
  const planOut = planOutText === undefined ? undefined : resolve(planOutText);
  if (planOut !== undefined && dirname(planOut) === socketDir) {
    throw new UsageError(`--plan-out must not be directly in ${socketDir}: virt-launcher would dial it as a hook socket`);
  }
  const planDbusAddress = values['plan-dbus-address'] ?? env.HOOK_SHIM_PLAN_DBUS_ADDRESS ?? unixBusAddress(join(socketDir, BUS_SUBPATH));

  let server: HookServer | undefined;
  let ops: OpsServer | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (why: string): Promise<number> =>
    (stopping ??= (async () => {
      logLine('info', `stopping (${why})`);
      await server?.close();
      await ops?.close();
      return 0;
    })());
  let stopped!: (code: number) => void;
  const done = new Promise<number>((r) => (stopped = r));
  const stopAndExit = (why: string) => void stop(why).then(stopped, (err: unknown) => {
    logLine('error', `stopping: ${(err as Error).message}`);
    stopped(1);
  });
  process.on('SIGTERM', () => stopAndExit('SIGTERM'));
  process.on('SIGINT', () => stopAndExit('SIGINT'));

  try {
    server = await startHookServer({
      socketPath: join(socketDir, `${name}.sock`),
      name,
      busPath,
      subscribePreCloudInitIso: values['pre-cloud-init-iso'] ?? false,
      log: logLine,
      onDefineDomain: (outcome) => {
        if (configOut) {
          writeConfig(configOut, outcome).catch((err: unknown) => logLine('error', `writing ${configOut}: ${(err as Error).message}`));
        }
        if (planOut) {
          // formatPlan throws synchronously on an unrepresentable value: keep it in the chain.
          Promise.resolve()
            .then(() => writeAtomically(planOut, formatPlan(serverPlan(outcome.config, { dbusAddress: planDbusAddress }))))
            .catch((err: unknown) => logLine('error', `writing ${planOut}: ${(err as Error).message}`));
        }
      },
      onShutdown: () => stopAndExit('Shutdown hook'),
    });
  } catch (err) {
    throw new InputError(`cannot serve on ${join(socketDir, `${name}.sock`)}: ${(err as Error).message}`);
  }
  // A signal during start-up: stop() ran before there was a server to close.
  if (stopping) {
    await server.close();
    return done;
  }
  if (http) {
    const hooks = server;
    ops = new OpsServer({ readiness: () => (stopping ? { ready: false, reason: 'stopping' } : { ready: true }), log: processLog });
    try {
      const bound = await ops.listen(http);
      logLine('info', `probes on http://${bound.host}:${bound.port}/healthz and /readyz`);
    } catch (err) {
      await hooks.close();
      throw new InputError(`cannot listen on ${http.host}:${http.port} for --http: ${(err as Error).message}`);
    }
  }
  logLine('info', `serving KubeVirt hooks as "${name}" on ${server.address}; D-Bus display at ${unixBusAddress(busPath)}`);
  process.stdout.write(`${server.address}\n`);
  return done;
}

function scriptOnDefineDomain(argv: string[], env: Env): number {
  const { values } = parseArgs({
    args: argv,
    options: { vmi: { type: 'string' }, domain: { type: 'string' }, 'bus-path': { type: 'string' } },
  });
  if (values.vmi === undefined || values.domain === undefined) throw new UsageError('onDefineDomain needs --vmi JSON and --domain XML');
  const busPath = checkBusPath(values['bus-path'] ?? env.HOOK_SHIM_BUS_PATH ?? defaultBusPath(env));
  let outcome: DefineDomainOutcome;
  try {
    outcome = onDefineDomain(values.domain, values.vmi, busPath);
  } catch (err) {
    if (isHookInputError(err)) throw new InputError(err.message);
    throw err;
  }
  for (const warning of outcome.warnings) logLine('warn', warning);
  process.stdout.write(outcome.domainXml);
  return 0;
}

function scriptPreCloudInitIso(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { vmi: { type: 'string' }, 'cloud-init': { type: 'string' } } });
  if (values['cloud-init'] === undefined) throw new UsageError('preCloudInitIso needs --vmi JSON and --cloud-init JSON');
  process.stdout.write(values['cloud-init']);
  return 0;
}

async function main(argv: string[], env: Env): Promise<number> {
  // Linked as KubeVirt's sidecar-shim expects the scripts: onDefineDomain, preCloudInitIso.
  const invokedAs = basename(process.argv[1] ?? '');
  const [command, ...rest] =
    invokedAs === 'onDefineDomain' || invokedAs === 'preCloudInitIso' ? [invokedAs, ...argv] : argv;
  switch (command) {
    case 'serve':
      return serve(rest, env);
    case 'onDefineDomain':
      return scriptOnDefineDomain(rest, env);
    case 'preCloudInitIso':
      return scriptPreCloudInitIso(rest);
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case undefined:
      throw new UsageError('no command given');
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    // parseArgs reports unknown options with its own TypeError (code ERR_PARSE_ARGS_*).
    const usage = err instanceof UsageError || (err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`hook-shim: ${message.replace(/\s*\n\s*/g, ' ')}${usage ? ' (see hook-shim --help)' : ''}\n`);
    process.exit(usage ? 2 : 1);
  },
);
