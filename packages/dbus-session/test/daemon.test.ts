// Runs the real dbus-daemon (Debian package dbus-daemon).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DbusSessionError, startDbusSession, type DbusSession } from '../src/index.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const passwdUids = new Set(
  readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => Number(line.split(':')[2]))
    .filter((uid) => Number.isInteger(uid)),
);
const otherUids = [...passwdUids].filter((uid) => uid !== 0 && uid !== 65534).sort((a, b) => a - b);

/** Calls ListNames on the bus as the given uid (when root) and returns dbus-send's result. */
async function listNames(address: string, uid?: number): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await run(
      'dbus-send',
      [
        `--bus=${address}`,
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.ListNames',
      ],
      { timeout: 10_000, ...(uid === undefined ? {} : { uid, gid: uid }) },
    );
    return { ok: true, output: stdout };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, output: e.stderr || e.message };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startDbusSession', () => {
  let dir: string;
  let session: DbusSession | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbus-session-test-'));
    // QEMU runs as another uid: it must be able to reach the socket.
    await chmod(dir, 0o755);
  });

  afterEach(async () => {
    await session?.stop();
    session = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('starts a bus that answers, and stops it', async () => {
    const socketPath = join(dir, 'bus');
    session = await startDbusSession({ socketPath, allowUids: [] });
    expect(session.address).toMatch(new RegExp(`^unix:path=${socketPath},guid=[0-9a-f]{32}$`));
    expect(existsSync(socketPath)).toBe(true);
    expect(alive(session.pid)).toBe(true);

    const reply = await listNames(session.address);
    expect(reply.output).toContain('org.freedesktop.DBus');
    expect(reply.ok).toBe(true);

    const { pid } = session;
    await session.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(socketPath)).toBe(false);
    // Stopping twice is harmless.
    await session.stop();
  });

  it('refuses uids without a passwd entry instead of silently locking them out', async () => {
    const missing = [...Array(1000).keys()].map((i) => 60000 + i).find((uid) => !passwdUids.has(uid));
    const err = await startDbusSession({ socketPath: join(dir, 'bus'), allowUids: [missing ?? 65000] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DbusSessionError);
    expect((err as Error).message).toMatch(/^uid \d+ has no entry in \/etc\/passwd/);
  });

  // Needs two users besides root to switch to; Debian has a few system users.
  it.runIf(isRoot && otherUids.length >= 2)('lets allowed uids in and keeps other uids out', async () => {
    const [allowed, denied] = otherUids;
    session = await startDbusSession({ socketPath: join(dir, 'bus'), allowUids: [allowed] });
    expect((await listNames(session.address)).ok).toBe(true);
    expect((await listNames(session.address, allowed)).output).toContain('org.freedesktop.DBus');
    expect((await listNames(session.address, denied)).ok).toBe(false);
  });

  it.runIf(isRoot && otherUids.length >= 1)("lets any known uid in with '*', but no unknown one", async () => {
    session = await startDbusSession({ socketPath: join(dir, 'bus'), allowUids: '*' });
    expect((await listNames(session.address, otherUids[0])).output).toContain('org.freedesktop.DBus');
    // dbus-daemon looks every peer up in the user database; this is why the sidecar image
    // needs a passwd entry for QEMU's uid 107.
    const unknown = [...Array(1000).keys()].map((i) => 60000 + i).find((uid) => !passwdUids.has(uid));
    expect((await listNames(session.address, unknown)).ok).toBe(false);
  });

  it('rejects with the daemon’s reason when the socket cannot be created', async () => {
    // A path below a regular file fails for root too (ENOTDIR), unlike a permission check.
    const file = join(dir, 'file');
    await writeFile(file, '');
    const err = await startDbusSession({ socketPath: join(file, 'bus'), allowUids: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbusSessionError);
    expect((err as Error).message).toMatch(/^dbus-daemon exited before it was ready: .*Failed to bind socket/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('rejects when the socket directory does not exist', async () => {
    const err = await startDbusSession({ socketPath: join(dir, 'missing', 'bus'), allowUids: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbusSessionError);
    expect((err as Error).message).toMatch(/No such file or directory/);
  });

  it('rejects when dbus-daemon cannot be run', async () => {
    const err = await startDbusSession({
      socketPath: join(dir, 'bus'),
      allowUids: [],
      dbusDaemon: '/nonexistent/dbus-daemon',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbusSessionError);
    expect((err as Error).message).toMatch(/cannot run dbus-daemon: .*ENOENT/);
  });

  it('rejects on timeout and kills the daemon', async () => {
    // A "daemon" that never prints an address.
    const fake = join(dir, 'fake-daemon');
    await writeFile(fake, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const started = Date.now();
    const err = await startDbusSession({
      socketPath: join(dir, 'bus'),
      allowUids: [],
      dbusDaemon: fake,
      timeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbusSessionError);
    expect((err as Error).message).toMatch(/no address within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports an unexpected exit through exited', async () => {
    session = await startDbusSession({ socketPath: join(dir, 'bus'), allowUids: [] });
    process.kill(session.pid, 'SIGKILL');
    expect(await session.exited).toBe(null);
  });
});

describe('dbus-session CLI', () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
  let dir: string;

  beforeEach(async () => {
    if (!existsSync(cli)) throw new Error(`${cli} missing: build first (tsc -p tsconfig.lib.json)`);
    dir = await mkdtemp(join(tmpdir(), 'dbus-session-cli-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  function runCli(args: string[], stopWith?: NodeJS.Signals) {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (stopWith && stdout.includes('\n')) child.kill(stopWith);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code) => resolve({ code, stdout, stderr })),
    );
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('prints the address, stops on %s with exit code 0', async (signal) => {
    const socketPath = join(dir, 'bus');
    const result = await runCli(['--socket', socketPath, '--allow-uid', '*'], signal);
    expect(result.stdout).toMatch(new RegExp(`^unix:path=${socketPath},guid=[0-9a-f]{32}\n$`));
    expect(result.code).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });

  it('fails with one error line and exit code 1', async () => {
    const result = await runCli(['--socket', join(dir, 'missing', 'bus'), '--allow-uid', '0']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^dbus-session: dbus-daemon exited before it was ready: .*\n$/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('rejects a bad --allow-uid', async () => {
    const result = await runCli(['--socket', join(dir, 'bus'), '--allow-uid', 'qemu']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('dbus-session: invalid uid: qemu\n');
  });

  it('fails clearly when the default uid 107 is unknown', async () => {
    const result = await runCli(['--socket', join(dir, 'bus')], 'SIGTERM');
    if (passwdUids.has(107)) {
      expect(result.code).toBe(0);
    } else {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^dbus-session: uid 107 has no entry in \/etc\/passwd.*\n$/);
    }
  });

  it('requires --socket', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^dbus-session: --socket is required/);
  });
});
