// Vitest globalSetup: the slow, shared preparation, once per run and before any test file
// is loaded, so that no test's timeout includes a kernel download or a debootstrap.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './paths.js';
import { QEMU_VERSIONS, ensureGuest, ensureTrixieRoot } from './qemu.js';

/** Tests import @vdi-sidecar/dbus-session from its dist/; build it when missing or stale. */
function ensureDbusSessionBuilt(): void {
  const pkg = join(REPO_DIR, 'packages', 'dbus-session');
  const built = join(pkg, 'dist', 'index.js');
  const src = join(pkg, 'src');
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  console.error('global-setup: building packages/dbus-session');
  execFileSync(process.execPath, [join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.lib.json'], {
    cwd: pkg,
    stdio: 'inherit',
  });
}

function requireCommand(command: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${command} not found: run scripts/setup-system.sh (as root)`);
  }
}

export async function setup(): Promise<void> {
  for (const command of ['qemu-system-x86_64', 'dbus-daemon', 'mmdebstrap', 'cpio', 'depmod', 'busybox']) {
    requireCommand(command);
  }
  ensureDbusSessionBuilt();
  let started = Date.now();
  const guest = await ensureGuest();
  console.error(`global-setup: guest ${guest} (${Date.now() - started} ms)`);
  if (QEMU_VERSIONS.includes('10')) {
    started = Date.now();
    const root = await ensureTrixieRoot();
    console.error(`global-setup: QEMU 10 root ${root} (${Date.now() - started} ms)`);
  }
}
