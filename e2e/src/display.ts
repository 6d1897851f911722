// Helpers for tests that use display-core against the rig: the mirrored picture as an
// e2e Image, and the qemu-display CLI as a user runs it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { bgrxToRgba, QemuDisplay, type Framebuffer, type QemuDisplayOptions } from '@vdi-sidecar/display-core';
import type { Image } from './images.js';
import { REPO_DIR } from './paths.js';

export function framebufferImage(fb: Framebuffer): Image {
  return { width: fb.width, height: fb.height, rgba: bgrxToRgba(fb.data, fb.stride, 0, 0, fb.width, fb.height) };
}

/** A started QemuDisplay that logs into `log` (kept for failure messages). */
export function openDisplay(address: string, log: string[], opts: Partial<QemuDisplayOptions> = {}): QemuDisplay {
  return new QemuDisplay({
    address,
    retryMs: 200,
    log: (level, message) => log.push(`${level}: ${message}`),
    ...opts,
  }).start();
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const QEMU_DISPLAY_CLI = join(REPO_DIR, 'packages/display-core/dist/cli.js');

/** Runs `qemu-display ARGS…` (the built CLI) and collects its output. */
export function runQemuDisplay(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QEMU_DISPLAY_CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`qemu-display ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
