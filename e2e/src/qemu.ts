import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_DIR } from './paths.js';

/**
 * QEMU versions the rig can run: '7.2' is Debian 12's /usr/bin/qemu-system-x86_64,
 * '10' is Debian 13's QEMU 10.0 run under chroot from a cached root filesystem.
 */
export type QemuVersion = '7.2' | '10';

export const ALL_QEMU_VERSIONS: readonly QemuVersion[] = ['7.2', '10'];

function parseVersions(text: string | undefined): readonly QemuVersion[] {
  if (!text?.trim()) return ALL_QEMU_VERSIONS;
  const versions = text.split(',').map((v) => v.trim());
  for (const v of versions) {
    if (!(ALL_QEMU_VERSIONS as readonly string[]).includes(v)) {
      throw new Error(`VDI_QEMU_VERSIONS: unknown QEMU version '${v}' (known: ${ALL_QEMU_VERSIONS.join(', ')})`);
    }
  }
  return versions as QemuVersion[];
}

/** Versions to test: all, or those in env `VDI_QEMU_VERSIONS` (e.g. `7.2` or `7.2,10`). */
export const QEMU_VERSIONS: readonly QemuVersion[] = parseVersions(process.env.VDI_QEMU_VERSIONS);

/** How to run a QEMU version: its binary, and the root to chroot into (null: the host). */
export interface QemuInstall {
  version: QemuVersion;
  binary: string;
  root: string | null;
}

/** Runs a build script, streaming its log to stderr; resolves with its last stdout line. */
function runScript(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last) resolve(last);
      else reject(new Error(`${script} failed with exit code ${code}`));
    });
  });
}

let guestBuild: Promise<string> | undefined;
let trixieBuild: Promise<string> | undefined;

/**
 * Directory holding the test guest's `vmlinuz` and `initrd.gz` (built by
 * e2e/guest/build-guest.sh on first use, cached afterwards). Env `VDI_GUEST_DIR` overrides.
 */
export function ensureGuest(): Promise<string> {
  if (process.env.VDI_GUEST_DIR) return Promise.resolve(process.env.VDI_GUEST_DIR);
  guestBuild ??= runScript(join(E2E_DIR, 'guest', 'build-guest.sh'));
  return guestBuild;
}

/** The Debian 13 root with QEMU 10 (e2e/guest/build-trixie-root.sh, cached). */
export function ensureTrixieRoot(): Promise<string> {
  trixieBuild ??= runScript(join(E2E_DIR, 'guest', 'build-trixie-root.sh'));
  return trixieBuild;
}

export async function qemuInstall(version: QemuVersion): Promise<QemuInstall> {
  switch (version) {
    case '7.2': {
      const binary = '/usr/bin/qemu-system-x86_64';
      if (!existsSync(binary)) throw new Error(`${binary} missing: run scripts/setup-system.sh`);
      return { version, binary, root: null };
    }
    case '10': {
      const root = await ensureTrixieRoot();
      return { version, binary: '/usr/bin/qemu-system-x86_64', root };
    }
  }
}
