import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The e2e project directory (…/e2e). */
export const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The monorepo root. */
export const REPO_DIR = resolve(E2E_DIR, '..');
/** Where test failures leave logs and images (git-ignored). */
export const ARTIFACTS_DIR = join(E2E_DIR, 'artifacts');
/** Builds that outlive a test run: guest kernel/initramfs, Debian 13 root. */
export const CACHE_DIR = process.env.VDI_CACHE_DIR || join(homedir(), '.cache', 'vdi-sidecar');

/** A name usable as one path component. */
export function safeName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120);
  return cleaned || 'unnamed';
}

/** `e2e/artifacts/<name>/`, created. */
export function artifactsDir(name: string): string {
  const dir = join(ARTIFACTS_DIR, safeName(name));
  mkdirSync(dir, { recursive: true });
  return dir;
}
