#!/usr/bin/env node
// dbus-session --socket PATH [--allow-uid UID|'*']... [--timeout MS]
// Runs a private dbus-daemon in the foreground, prints its address on stdout once it is
// ready, and stops it on SIGTERM/SIGINT. Without --allow-uid, uid 107 (QEMU in KubeVirt)
// may connect besides the daemon's own uid; '*' lets any uid connect. Exit codes: 0 after a signal-requested stop,
// 1 on any failure (one error line on stderr).
import { parseArgs } from 'node:util';
import { createProcessLogger } from '@vdi-sidecar/display-core';
import { startDbusSession, type DbusSession } from './index.js';

/** The process log (JSON lines off a terminal); fatal errors stay one plain line (fail). */
const log = createProcessLogger({ process: 'dbus-session' });

const USAGE = "usage: dbus-session --socket PATH [--allow-uid UID|'*']... [--timeout MS]";

function fail(message: string): never {
  process.stderr.write(`dbus-session: ${message}\n`);
  process.exit(1);
}

function parseAllowUids(texts: string[] | undefined): number[] | '*' | undefined {
  if (texts === undefined) return undefined;
  if (texts.includes('*')) return '*';
  return texts.map((text) => {
    if (!/^\d+$/.test(text)) fail(`invalid uid: ${text}`);
    return Number(text);
  });
}

async function main(): Promise<void> {
  const values = (() => {
    try {
      return parseArgs({
        options: {
          socket: { type: 'string' },
          'allow-uid': { type: 'string', multiple: true },
          timeout: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (err) {
      fail(`${(err as Error).message}\n${USAGE}`);
    }
  })();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.socket) fail(`--socket is required\n${USAGE}`);
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) fail(`invalid --timeout: ${values.timeout}`);

  let session: DbusSession;
  let ready = false;
  try {
    session = await startDbusSession({
      socketPath: values.socket,
      allowUids: parseAllowUids(values['allow-uid']),
      timeoutMs,
      // Once running, the daemon's own warnings belong in the container log; before that,
      // its last line is already part of our one error line.
      onStderr: (text) => {
        if (!ready) return;
        for (const line of text.split('\n')) if (line.trim()) log('warn', `dbus-daemon: ${line.trim()}`);
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    session.stop().then(
      () => process.exit(0),
      (err: unknown) => fail(`stopping dbus-daemon: ${(err as Error).message}`),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  ready = true;
  log('info', `dbus-daemon ${session.pid} serves ${session.address}`);
  process.stdout.write(`${session.address}\n`);

  const code = await session.exited;
  // An exit we did not ask for is a failure the supervisor must see.
  if (!stopping) fail(`dbus-daemon exited unexpectedly (exit code ${code ?? 'none: killed by a signal'})`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
