import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** Options of {@link generateConfig}. */
export interface DbusConfigOptions {
  /** Where the bus listens (`unix:path=…`). */
  socketPath: string;
  /**
   * Uids allowed to connect besides the daemon's own (dbus-daemon always admits that one),
   * or `'*'` for any uid. Default `[107]`: QEMU's uid in KubeVirt. dbus-daemon ignores
   * (with a warning) a listed uid that has no passwd entry, and even with `'*'` it drops
   * connections from such uids: every uid that connects needs an entry in /etc/passwd.
   */
  allowUids?: readonly number[] | '*';
  /** The uid the daemon will run as, to list it explicitly too (optional). */
  ownUid?: number;
}

/** Default uids allowed besides the daemon's own: 107 is QEMU's uid in KubeVirt's launcher. */
export const DEFAULT_ALLOW_UIDS: readonly number[] = [107];

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function checkUid(uid: number): number {
  if (!Number.isInteger(uid) || uid < 0 || uid > 0xfffffffe) {
    throw new RangeError(`invalid uid: ${uid}`);
  }
  return uid;
}

/**
 * dbus-daemon configuration for a private bus shared by QEMU and the sidecar's servers.
 * Pure: same options, same text.
 */
export function generateConfig(options: DbusConfigOptions): string {
  const { socketPath } = options;
  if (!socketPath.startsWith('/')) {
    throw new Error(`socketPath must be absolute: ${socketPath}`);
  }
  // D-Bus addresses reserve ',' ';' '=' and '%'; a path holding them would need escaping
  // that QEMU's and libvirt's address parsers do not all agree on, so refuse it.
  if (/[,;=%\s]/.test(socketPath)) {
    throw new Error(`socketPath must not contain ',', ';', '=', '%' or whitespace: ${socketPath}`);
  }
  const allow = options.allowUids ?? DEFAULT_ALLOW_UIDS;
  const users =
    allow === '*'
      ? ['*']
      : [...(options.ownUid === undefined ? [] : [options.ownUid]), ...allow]
          .map(checkUid)
          .filter((uid, i, all) => all.indexOf(uid) === i)
          .map(String);

  const lines = [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    `  <listen>unix:path=${escapeXml(socketPath)}</listen>`,
    // Peers are local processes; EXTERNAL (SO_PEERCRED) is the only mechanism needed.
    '  <auth>EXTERNAL</auth>',
    '  <policy context="default">',
    // Who may connect at all: without these only the daemon's own uid could.
    ...users.map((user) => `    <allow user="${user}"/>`),
    // Everyone connected is trusted: the bus carries one VM's display and its servers.
    '    <allow own="*"/>',
    '    <allow send_type="method_call"/>',
    '    <allow send_type="method_return"/>',
    '    <allow send_type="error"/>',
    '    <allow send_type="signal"/>',
    '    <allow receive_type="method_call"/>',
    '    <allow receive_type="method_return"/>',
    '    <allow receive_type="error"/>',
    '    <allow receive_type="signal"/>',
    '  </policy>',
    // Frames travel on peer-to-peer links, not through the daemon, but a 4K Scanout is
    // 33 MB should a client ask for one on the bus; 64 MB messages leave room for that
    // while a misbehaving client cannot make the daemon buffer gigabytes (the sidecar
    // may have as little as 64 MB of memory).
    '  <limit name="max_message_size">67108864</limit>',
    '  <limit name="max_incoming_bytes">134217728</limit>',
    '  <limit name="max_outgoing_bytes">134217728</limit>',
    // Listener sockets are passed as fds; a handful per message is plenty.
    '  <limit name="max_message_unix_fds">16</limit>',
    '  <limit name="max_incoming_unix_fds">64</limit>',
    '  <limit name="max_outgoing_unix_fds">64</limit>',
    // A handful of processes share this bus (QEMU, servers, tests).
    '  <limit name="max_completed_connections">64</limit>',
    '  <limit name="max_incomplete_connections">16</limit>',
    '  <limit name="max_connections_per_user">64</limit>',
    '  <limit name="max_names_per_connection">64</limit>',
    '  <limit name="max_match_rules_per_connection">512</limit>',
    '  <limit name="max_replies_per_connection">1024</limit>',
    '  <limit name="auth_timeout">30000</limit>',
    '  <limit name="pending_fd_timeout">150000</limit>',
    '</busconfig>',
    '',
  ];
  return lines.join('\n');
}

/** Options of {@link startDbusSession}. */
export interface StartDbusSessionOptions {
  socketPath: string;
  /**
   * See {@link DbusConfigOptions.allowUids}. Each listed uid must have an entry in
   * /etc/passwd (checked here): dbus-daemon resolves users through the user database and
   * silently locks out a uid it cannot find, QEMU's included.
   */
  allowUids?: readonly number[] | '*';
  /** dbus-daemon executable; default `dbus-daemon` from PATH. */
  dbusDaemon?: string;
  /** How long to wait for the daemon to print its address; default 10 s. */
  timeoutMs?: number;
  /** Receives the daemon's stderr as it comes (warnings); by default it is only kept for errors. */
  onStderr?: (text: string) => void;
}

/** A running private bus. */
export interface DbusSession {
  /** The address the daemon printed, e.g. `unix:path=/run/vdi/bus,guid=…`. */
  address: string;
  pid: number;
  /** Settles when the daemon exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Terminates the daemon (SIGTERM, then SIGKILL after 5 s) and removes its config. */
  stop(): Promise<void>;
}

/** Failure to start the bus; the message is one line naming the cause. */
export class DbusSessionError extends Error {
  override name = 'DbusSessionError';
}

const ADDRESS_FD = 3;

/** Uids listed in /etc/passwd (what dbus-daemon's user lookups see in a container). */
async function knownUids(): Promise<Set<number>> {
  let text = '';
  try {
    text = await readFile('/etc/passwd', 'utf8');
  } catch {
    // No passwd file: every listed uid is unknown, which the caller reports.
  }
  const uids = new Set<number>();
  for (const line of text.split('\n')) {
    const uid = line.split(':')[2];
    if (uid !== undefined && /^\d+$/.test(uid)) uids.add(Number(uid));
  }
  return uids;
}

/** Last non-empty line of the daemon's stderr, for error messages. */
function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.length > 0 ? lines[lines.length - 1] : '';
}

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode);
      return;
    }
    child.once('exit', (code) => resolve(code));
    // A daemon that could not be spawned emits 'error' and never 'exit'.
    child.once('error', () => resolve(child.exitCode));
  });
}

/**
 * Starts `dbus-daemon` on `socketPath` and resolves once it is accepting connections
 * (it prints its address only after binding the socket). Rejects with a
 * {@link DbusSessionError} if the daemon exits first or does not print in time.
 */
export async function startDbusSession(options: StartDbusSessionOptions): Promise<DbusSession> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // The daemon's own uid needs no rule (dbus-daemon always admits it) and may itself lack
  // a passwd entry in a container, so only the extra uids are listed and checked.
  const config = generateConfig({ socketPath: options.socketPath, allowUids: options.allowUids });
  const allow = options.allowUids ?? DEFAULT_ALLOW_UIDS;
  if (allow !== '*') {
    const known = await knownUids();
    const unknown = allow.filter((uid) => !known.has(uid));
    if (unknown.length > 0) {
      throw new DbusSessionError(
        `uid ${unknown.join(', ')} has no entry in /etc/passwd, and dbus-daemon drops connections from ` +
          `unknown users: add one (e.g. "qemu:x:107:107::/:/usr/sbin/nologin")`,
      );
    }
  }
  const configDir = await mkdtemp(join(tmpdir(), 'dbus-session-'));
  const configFile = join(configDir, 'bus.conf');
  await writeFile(configFile, config, { mode: 0o600 });

  const child = spawn(
    options.dbusDaemon ?? 'dbus-daemon',
    [`--config-file=${configFile}`, '--nofork', '--nopidfile', `--print-address=${ADDRESS_FD}`],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const exited = waitExit(child);
  const cleanup = () => rm(configDir, { recursive: true, force: true });

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    // Keep the tail only: a long-running daemon may log warnings indefinitely.
    stderr = (stderr + chunk).slice(-8192);
    options.onStderr?.(chunk);
  });

  const addressStream = child.stdio[ADDRESS_FD] as Readable | null;
  let address: string;
  try {
    address = await new Promise<string>((resolve, reject) => {
      let printed = '';
      const timer = setTimeout(() => {
        reject(new DbusSessionError(`dbus-daemon printed no address within ${timeoutMs} ms`));
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new DbusSessionError(`cannot run dbus-daemon: ${err.message}`));
      });
      // 'close' rather than 'exit': it comes after stderr is drained, so the reason is in.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const why = lastLine(stderr) || (signal ? `killed by ${signal}` : `exit code ${code}`);
        reject(new DbusSessionError(`dbus-daemon exited before it was ready: ${why}`));
      });
      addressStream?.setEncoding('utf8');
      addressStream?.on('data', (chunk: string) => {
        printed += chunk;
        const nl = printed.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(printed.slice(0, nl).trim());
        }
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw err;
  }
  addressStream?.destroy();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      child.stderr?.destroy();
      await cleanup();
      // dbus-daemon unlinks its socket on a clean exit, not when killed.
      await rm(options.socketPath, { force: true });
    })();
    return stopping;
  };

  if (child.pid === undefined) {
    throw new DbusSessionError('dbus-daemon has no pid');
  }
  return { address, pid: child.pid, exited, stop };
}
