// The server plan: which of the sidecar's servers to run, and with which arguments, as the
// VMI's annotations say. The sidecar's init (images/sidecar/init) reads it and starts, restarts
// or stops the servers to match. It is one line per server, `NAME<TAB>ARG0<TAB>ARG1…`, so the
// init (a small C program) needs no JSON parser.
import type { ServerConfig, SidecarConfig } from './config.js';

export interface PlanEntry {
  /** The name the init logs the server under (and tells servers apart by). */
  readonly name: string;
  /** The command line; argv[0] is looked up on the init's PATH. */
  readonly argv: readonly string[];
}

export interface PlanOptions {
  /** D-Bus address of the display bus as the servers (in the sidecar container) reach it. */
  readonly dbusAddress: string;
}

/** A value that cannot go on a plan line (a tab or a line break would change its meaning). */
export class PlanError extends Error {
  override readonly name = 'PlanError';
  readonly code = 'PLAN_UNREPRESENTABLE';
}

function endpoint(server: Pick<ServerConfig, 'listen' | 'port'>): string {
  // The servers' HOST:PORT syntax wants brackets around an IPv6 address.
  return server.listen.includes(':') ? `[${server.listen}]:${server.port}` : `${server.listen}:${server.port}`;
}

function vncArgv(config: SidecarConfig, dbusAddress: string): string[] {
  const argv = ['qemu-vnc', '--dbus-address', dbusAddress];
  // qemu-vnc always serves RFB over TCP; with only the web console wanted, that listener goes
  // on a loopback port of the kernel's choosing, out of the way.
  argv.push('--listen', config.vnc.enabled ? endpoint(config.vnc) : '127.0.0.1:0');
  // The web console: the page, its WebSocket (/websockify, also for noVNC) and probes on one port.
  if (config.web.enabled) argv.push('--http', endpoint(config.web));
  if (config.passwordFile !== null) argv.push('--password-file', config.passwordFile);
  if (config.tlsCertFile !== null && config.tlsKeyFile !== null) argv.push('--tls-cert', config.tlsCertFile, '--tls-key', config.tlsKeyFile);
  if (config.insecure) argv.push('--insecure');
  return argv;
}

function rdpArgv(config: SidecarConfig, dbusAddress: string): string[] {
  const argv = ['qemu-rdp', '--dbus-address', dbusAddress, '--listen', endpoint(config.rdp)];
  if (config.passwordFile !== null) argv.push('--password-file', config.passwordFile);
  if (config.tlsCertFile !== null && config.tlsKeyFile !== null) argv.push('--cert', config.tlsCertFile, '--key', config.tlsKeyFile);
  // Without the qemu-vdagent channel the guest has no clipboard to share.
  if (!config.clipboard) argv.push('--no-clipboard');
  if (config.insecure) argv.push('--insecure');
  return argv;
}

/** The servers a configuration asks for, in start order. Pure. */
export function serverPlan(config: SidecarConfig, options: PlanOptions): PlanEntry[] {
  const plan: PlanEntry[] = [];
  if (config.vnc.enabled || config.web.enabled) plan.push({ name: 'qemu-vnc', argv: vncArgv(config, options.dbusAddress) });
  if (config.rdp.enabled) plan.push({ name: 'qemu-rdp', argv: rdpArgv(config, options.dbusAddress) });
  return plan;
}

/**
 * The plan file's text: one line per entry, name and arguments separated by tabs, each line
 * ending in a newline.
 * @throws PlanError when a field holds a tab, a line break or a NUL, or is empty.
 */
export function formatPlan(plan: readonly PlanEntry[]): string {
  return plan
    .map((entry) => {
      for (const field of [entry.name, ...entry.argv]) {
        if (field === '' || /[\t\n\r\0]/.test(field)) {
          throw new PlanError(`server ${entry.name}: ${JSON.stringify(field)} cannot go on a plan line (empty, or holds a tab, line break or NUL)`);
        }
      }
      if (entry.argv.length === 0) throw new PlanError(`server ${entry.name}: no command`);
      return `${[entry.name, ...entry.argv].join('\t')}\n`;
    })
    .join('');
}
