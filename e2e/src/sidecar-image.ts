// The sidecar's container image (images/sidecar/Containerfile) for end-to-end tests: built
// with images/build-sidecar.sh (buildah, vfs storage, Debian bases from mmdebstrap — no
// registry) unless an image of the same sources is there already, and run with
// `buildah from` + `buildah run --isolation chroot` on the host's network.
//
// What buildah 1.28 does here, found by trying it:
// - `buildah run` runs the given command as the image's USER (107:107) and ignores its
//   ENTRYPOINT: the init's path is given explicitly.
// - chroot isolation makes no PID namespace: the init and its children have host pids, and the
//   init (not PID 1 there) makes itself a child subreaper.
// - A SIGTERM to `buildah run` is not forwarded: buildah exits and its runtime child kills the
//   command with SIGKILL, so the init's children would be orphaned with the init gone. The
//   init is stopped by its own pid (SIGTERM), or by KubeVirt's Shutdown on the hook socket,
//   and `buildah run` then exits with the init's exit code.
// - A `--volume` whose container path goes through a symlink is not mounted: Debian's
//   /var/run is a link to /run, and `-v DIR:/var/run/kubevirt-hooks` leaves the container
//   without the mount (and makes /run/kubevirt-hooks on the *host*, the link followed outside
//   the root). So the hooks directory is mounted at /run/kubevirt-hooks, which is
//   /var/run/kubevirt-hooks inside the image: the init's and hook-shim's defaults hold.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from './clients/process.js';
import { SidecarInit, processAlive } from './clients/sidecar-init.js';
import { REPO_DIR } from './paths.js';
import { livePids } from './survivors.js';

export const BUILDAH = ['buildah', '--storage-driver', 'vfs'] as const;
const BUILD_SCRIPT = join(REPO_DIR, 'images', 'build-sidecar.sh');
/** The init's path inside the image (its ENTRYPOINT). */
export const IMAGE_VDI_INIT = '/usr/local/bin/vdi-init';
/** Where KubeVirt mounts sidecar i's hooks directory. */
export const IMAGE_HOOKS_DIR = '/var/run/kubevirt-hooks';
/** The same directory without the image's /var/run → /run link: where buildah can mount it. */
const IMAGE_HOOKS_MOUNT = '/run/kubevirt-hooks';

/**
 * Everything that goes into the image — the build context's files (as .containerignore
 * leaves them: no node_modules, dist, build caches) and the script that makes the bases.
 */
const SOURCES = ['package.json', 'package-lock.json', 'nx.json', 'tsconfig.base.json', 'e2e/package.json', '.containerignore', 'packages', 'images/sidecar', 'images/build-sidecar.sh'];
const SKIPPED = new Set(['node_modules', 'dist', '.cache', '.nx', 'artifacts']);

function listFiles(path: string, out: string[]): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (SKIPPED.has(name) || name.endsWith('.tsbuildinfo')) continue;
      listFiles(join(path, name), out);
    }
  } else if (stat.isFile()) {
    out.push(path);
  }
}

/** SHA-256 (16 hex digits) over the image's sources: their paths, modes' exec bits and contents. */
export function sidecarSourcesHash(): string {
  const files: string[] = [];
  for (const source of SOURCES) listFiles(join(REPO_DIR, source), files);
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${relative(REPO_DIR, file)}\0${statSync(file).mode & 0o111 ? 'x' : '-'}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Why the image cannot be built or run here, if so. */
export function sidecarImageMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'building and running the image needs root (buildah with vfs storage and chroot isolation)';
  for (const bin of ['/usr/bin/buildah', '/usr/bin/mmdebstrap']) {
    try {
      statSync(bin);
    } catch {
      return `${bin} missing: run scripts/setup-system.sh (buildah, mmdebstrap)`;
    }
  }
  return undefined;
}

async function imageExists(tag: string): Promise<boolean> {
  return (await run(BUILDAH[0], [...BUILDAH.slice(1), 'inspect', '--type', 'image', tag], { timeoutMs: 60_000 })).code === 0;
}

export interface SidecarImage {
  tag: string;
  /** Milliseconds the build took; undefined when an image of the same sources was there. */
  buildMs?: number;
  /** Its size as `buildah images` reports it. */
  size: string;
}

/**
 * The image of the current sources, `localhost/vdi-sidecar:src-<hash>`: built by
 * images/build-sidecar.sh unless it exists already (then older `src-*` images are removed). `$VDI_SIDECAR_IMAGE` names an image to use
 * instead (no build, no hash).
 */
export async function ensureSidecarImage(options: { log?: string; timeoutMs?: number } = {}): Promise<SidecarImage> {
  const given = process.env.VDI_SIDECAR_IMAGE;
  const tag = given || `localhost/vdi-sidecar:src-${sidecarSourcesHash()}`;
  let buildMs: number | undefined;
  if (!(await imageExists(tag))) {
    if (given) throw new Error(`VDI_SIDECAR_IMAGE=${given}: no such image in buildah's vfs storage`);
    const started = Date.now();
    const result = await run(BUILD_SCRIPT, [tag], { timeoutMs: options.timeoutMs ?? 45 * 60_000, log: options.log });
    buildMs = Date.now() - started;
    if (result.code !== 0) throw new Error(`images/build-sidecar.sh ${tag} failed (code ${result.code}):\n${result.stderr.slice(-4000)}`);
    await pruneOlderImages(tag);
  }
  const sizes = await run(BUILDAH[0], [...BUILDAH.slice(1), 'images', '--format', '{{.Name}}:{{.Tag}} {{.Size}}'], { timeoutMs: 60_000 });
  const size = sizes.stdout.split('\n').find((line) => line.startsWith(`${tag} `))?.slice(tag.length + 1).trim() ?? '?';
  return { tag, buildMs, size };
}

/**
 * Removes the images of earlier sources (`localhost/vdi-sidecar:src-*` but `keep`): each is
 * ~300 MB in vfs storage. One still in use by a working container stays (buildah refuses).
 */
async function pruneOlderImages(keep: string): Promise<void> {
  const list = await run(BUILDAH[0], [...BUILDAH.slice(1), 'images', '--format', '{{.Name}}:{{.Tag}}'], { timeoutMs: 60_000 });
  const old = list.stdout.split('\n').filter((name) => /^localhost\/vdi-sidecar:src-[0-9a-f]{16}$/.test(name) && name !== keep);
  for (const name of old) await run(BUILDAH[0], [...BUILDAH.slice(1), 'rmi', name], { timeoutMs: 5 * 60_000 });
}

export interface ImageSidecarOptions {
  image: string;
  /** The host directory mounted as the container's hooks directory (made writable for uid 107 by the caller). */
  hooksDir: string;
  /** CONTAINER_NAME, as KubeVirt sets it: the hook socket's name. */
  containerName: string;
  /** hook-shim's arguments. */
  hookArgs: string[];
  /** --allow-uid for the bus. */
  allowUids: string[];
  grace?: number;
  log?: string;
}

/** vdi-init running from the image in a buildah working container. */
export class ImageSidecar {
  private removed = false;
  private tracked: number | undefined;

  private constructor(
    readonly container: string,
    readonly init: SidecarInit,
  ) {}

  /** `buildah from` the image, then `buildah run` its init with the hooks directory mounted where KubeVirt mounts it. */
  static async start(options: ImageSidecarOptions): Promise<ImageSidecar> {
    const from = await run(BUILDAH[0], [...BUILDAH.slice(1), 'from', '--pull-never', '--quiet', options.image], { timeoutMs: 5 * 60_000 });
    const container = from.stdout.trim();
    if (from.code !== 0 || !container) throw new Error(`buildah from ${options.image} failed: ${from.stderr}`);
    try {
      // The pod gives CONTAINER_NAME in the container's environment: so does the image's config here.
      const config = await run(BUILDAH[0], [...BUILDAH.slice(1), 'config', '--env', `CONTAINER_NAME=${options.containerName}`, container], { timeoutMs: 60_000 });
      if (config.code !== 0) throw new Error(`buildah config failed: ${config.stderr}`);
      const init = SidecarInit.start({
        bus: `${IMAGE_HOOKS_DIR}/vdi/bus`,
        plan: `${IMAGE_HOOKS_DIR}/vdi/plan`,
        allowUids: options.allowUids,
        grace: options.grace,
        hookArgs: options.hookArgs,
        log: options.log,
        initPath: IMAGE_VDI_INIT,
        launcher: [...BUILDAH, 'run', '--isolation', 'chroot', '--network', 'host', '--volume', `${options.hooksDir}:${IMAGE_HOOKS_MOUNT}`, container, '--'],
      });
      return new ImageSidecar(container, init);
    } catch (err) {
      await run(BUILDAH[0], [...BUILDAH.slice(1), 'rm', container], { timeoutMs: 5 * 60_000 });
      throw err;
    }
  }

  /** The init's host pid, once buildah has started it (kept for the exit-time kill should the test die). */
  track(): number {
    const pid = this.init.pid;
    livePids.add(pid);
    this.tracked = pid;
    return pid;
  }

  /**
   * Stops what still runs (SIGTERM to the init, which stops its children in order; SIGKILL to
   * the whole tree after `graceMs`) and removes the working container. Returns the init's result.
   */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let result = this.init.proc.exitResult;
    if (!result) {
      try {
        this.init.signal('SIGTERM');
      } catch {
        // the init is gone (or not started yet): buildah is killed below
      }
      const timer = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), graceMs).unref());
      result = await Promise.race([this.init.exited, timer]);
      if (!result) {
        this.init.kill();
        result = await this.init.exited;
      }
    }
    if (this.tracked !== undefined && !processAlive(this.tracked)) livePids.delete(this.tracked);
    await this.remove();
    return { code: result.code, signal: result.signal };
  }

  /** `buildah rm` of the working container (once). */
  async remove(): Promise<void> {
    if (this.removed) return;
    const rm = await run(BUILDAH[0], [...BUILDAH.slice(1), 'rm', this.container], { timeoutMs: 5 * 60_000 });
    if (rm.code !== 0) throw new Error(`buildah rm ${this.container} failed: ${rm.stderr}`);
    this.removed = true;
  }

  /** Whether buildah still lists the working container. */
  async listed(): Promise<boolean> {
    const list = await run(BUILDAH[0], [...BUILDAH.slice(1), 'containers', '--format', '{{.ContainerName}}'], { timeoutMs: 60_000 });
    return list.stdout.split('\n').includes(this.container);
  }
}

