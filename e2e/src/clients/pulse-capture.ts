// A private PulseAudio server whose only sink writes what is played into a FIFO that this
// helper reads, so that what a client plays (xfreerdp /sound:sys:pulse) can be measured as PCM
// (signed 16-bit little-endian, 44.1 kHz stereo). Needs Debian's `pulseaudio` package.
//
// Why not ALSA's `file` plugin: FreeRDP 2.11's ALSA backend also opens a mixer on the same
// device name and fails without a working control device, which a machine without sound
// hardware has none of (alsa-lib's `empty`/`remap` controls need a real child).
import { createReadStream, mkdirSync, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Background } from './process.js';
import type { Xvfb } from './x11.js';

export const PULSE_CAPTURE_FORMAT = { rate: 44100, channels: 2, bytesPerSample: 2 } as const;

export class PulseCapture {
  private chunks: Buffer[] = [];
  private total = 0;
  private fifoStream: ReadStream | undefined;

  private constructor(
    readonly proc: Background,
    readonly dir: string,
  ) {}

  /** Starts pulseaudio in `dir` (its HOME and runtime directory) and starts reading its sink. */
  static async start(dir: string, log?: string): Promise<PulseCapture> {
    mkdirSync(dir, { recursive: true });
    const f = PULSE_CAPTURE_FORMAT;
    const proc = new Background(
      'pulseaudio',
      [
        '-n', // no default script: only the modules below
        '--daemonize=no',
        '--exit-idle-time=-1',
        '--use-pid-file=no',
        '--disable-shm=yes',
        '-L',
        `module-native-protocol-unix socket=${join(dir, 'native')} auth-anonymous=1`,
        '-L',
        `module-pipe-sink sink_name=capture file=${join(dir, 'sink.fifo')} format=s16le rate=${f.rate} channels=${f.channels}`,
      ],
      { env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: join(dir, '.config') }, log },
    );
    const capture = new PulseCapture(proc, dir);
    try {
      const deadline = Date.now() + 15_000;
      // module-pipe-sink creates the FIFO, the native protocol module the socket.
      while (!(await capture.ready())) {
        if (proc.exitResult) throw new Error(`pulseaudio exited (code ${proc.exitResult.code}): ${proc.output}`);
        if (Date.now() > deadline) throw new Error(`pulseaudio did not start: ${proc.output}`);
        await sleep(100);
      }
      capture.fifoStream = createReadStream(join(dir, 'sink.fifo'));
      capture.fifoStream.on('data', (chunk) => {
        const b = chunk as Buffer;
        capture.chunks.push(b);
        capture.total += b.length;
      });
      capture.fifoStream.on('error', () => undefined);
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
    return capture;
  }

  private async ready(): Promise<boolean> {
    try {
      const [fifo, socket] = await Promise.all([stat(join(this.dir, 'sink.fifo')), stat(join(this.dir, 'native'))]);
      return fifo.isFIFO() && socket.isSocket();
    } catch {
      return false;
    }
  }

  /** Environment that sends a PulseAudio client's sound here. */
  get env(): NodeJS.ProcessEnv {
    return { PULSE_SERVER: `unix:${join(this.dir, 'native')}` };
  }

  /** `x` for starting clients, with this server in their environment. */
  forClients(x: Xvfb): Xvfb {
    const env = this.env;
    return Object.create(x, { env: { get: () => ({ ...x.env, ...env }) } }) as Xvfb;
  }

  /** Bytes the sink played so far (silence included: a running sink plays silence when starved). */
  get size(): number {
    return this.total;
  }

  /** The PCM played from byte `from` on. */
  read(from = 0): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(from);
  }

  async stop(): Promise<void> {
    this.fifoStream?.destroy();
    await this.proc.stop();
  }
}
