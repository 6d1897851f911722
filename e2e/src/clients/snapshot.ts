// One-shot VNC clients that save the remote screen to a file: gtk-vnc's gvnccapture (PNG)
// and vncsnapshot (TightVNC-based, RFB 3.3, JPEG).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, type Image } from '../images.js';
import { run } from './process.js';

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'vdi-snap-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `gvnccapture HOST:DISPLAY out.png`: the picture it saved; throws with its output if it failed. */
export function gvnccapture(host: string, display: number, timeoutMs = 30_000): Promise<Image> {
  return withTempDir(async (dir) => {
    const file = join(dir, 'capture.png');
    const res = await run('gvnccapture', [`${host}:${display}`, file], { timeoutMs });
    if (res.code !== 0) throw new Error(`gvnccapture ${host}:${display} failed (code ${res.code}, signal ${res.signal}):\n${res.stdout}${res.stderr}`);
    return decodeImage(await readFile(file));
  });
}

/**
 * `vncsnapshot [ARGS] HOST:DISPLAY out.jpg`: the picture it saved (JPEG, `-quality`
 * percent, default 100); throws with its output if it failed.
 */
export function vncsnapshot(host: string, display: number, args: string[] = [], timeoutMs = 30_000): Promise<Image> {
  return withTempDir(async (dir) => {
    const file = join(dir, 'snapshot.jpg');
    const res = await run('vncsnapshot', [...args, `${host}:${display}`, file], { timeoutMs });
    if (res.code !== 0) throw new Error(`vncsnapshot ${host}:${display} failed (code ${res.code}, signal ${res.signal}):\n${res.stdout}${res.stderr}`);
    return decodeImage(await readFile(file));
  });
}
