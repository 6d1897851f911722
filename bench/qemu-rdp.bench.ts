// Benchmark (not a test; run by hand, never in CI): qemu-rdp, per bitmap codec, against
// qemu-vnc's ZRLE on the same guest in the same run, each served to a measuring client
// connected at the same time (RDP: e2e/src/clients/raw-rdp.ts — TLS, fast-path output, framing
// parsed, no pixels decoded; VNC: bench/rfb-client.ts with ZRLE at 32 bpp).
//
//   BENCH_SECONDS=10 VDI_QEMU_VERSIONS=7.2 npm run bench -- bench/qemu-rdp.bench.ts
//
// Env: BENCH_SECONDS (per workload, default 10), BENCH_SIZES (default 1024x768,1920x1080),
// BENCH_CODECS (planar32, planar32-mppc, planar32-xcrush, interleaved24, interleaved16,
// uncompressed32, gfx-planar32, rfx; default all). gfx-planar32:
// the graphics pipeline (MS-RDPEGFX: planar and solid fills in GFX frames on the dynamic
// channel, each frame acknowledged by the client, e2e/src/clients/raw-rdp-gfx.ts); an "update"
// is then one GFX frame. planar32-mppc / planar32-xcrush: planar at 32 bpp with bulk
// compression — the client announces MPPC 64K (PACKET_COMPR_TYPE_64K) or RDP 6.1
// (PACKET_COMPR_TYPE_RDP61, which qemu-rdp answers with XCRUSH) in its Client Info and
// decompresses every fast-path update; bytes are counted on the wire (compressed). rfx:
// RemoteFX (MS-RDPRFX) in surface commands — the client's Confirm Active offers the RemoteFX
// codec (Bitmap Codecs) with Surface Commands (stream surface bits, frame markers), so qemu-rdp
// sends TS_SURFCMD_STREAM_SURF_BITS in fast-path SURFCMDS updates instead of bitmap updates; an
// "update" is then one surface frame (frame marker BEGIN … END), bytes counted on the wire.
// RemoteFX is lossy: its bytes are not comparable with ZRLE's (lossless) at equal quality.
//
// An RDP "update" is one fast-path Bitmap Update (the server sends each damage it takes as
// one update, tiles packed up to the client's reassembly size); a VNC update is one
// FramebufferUpdate. Latency: QEMU's dbus_update trace (guest draw) to the first update a
// client receives after it, as in qemu-vnc.bench.ts. Writes bench/results/qemu-rdp.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { PACKET_COMPR_TYPE_64K, PACKET_COMPR_TYPE_RDP61, RawRdpClient } from '../e2e/src/clients/raw-rdp.js';
import { RawGfxReceiver, RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL } from '../e2e/src/clients/raw-rdp-gfx.js';
import { ensureQemuRdpBuilt, startQemuRdp, type QemuRdp } from '../e2e/src/clients/qemu-rdp.js';
import { ensureQemuVncBuilt, freeVncDisplay, startQemuVnc, type QemuVnc } from '../e2e/src/clients/qemu-vnc.js';
import { QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion } from '../e2e/src/index.js';
import { cpuSeconds, displayFrames, round, serverFigures, statusKiB, traceTimes, waitQuiet, WORKLOADS, type ServerFigures, type UpdateRecord } from './measure.js';
import { BenchRfbClient, ENCODING_COPYRECT, ENCODING_ZRLE, nowUs } from './rfb-client.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZES = (process.env.BENCH_SIZES ?? '1024x768,1920x1080').split(',').map((s) => s.trim());
const CODEC_NAMES = (process.env.BENCH_CODECS ?? 'planar32,planar32-mppc,planar32-xcrush,interleaved24,interleaved16,uncompressed32,gfx-planar32,rfx').split(',').map((s) => s.trim());

const CODECS: Record<string, { label: string; bpp: 16 | 24 | 32; compressed: boolean; bulk?: number; gfx?: boolean; remoteFx?: boolean }> = {
  planar32: { label: 'planar, 32 bpp', bpp: 32, compressed: true },
  'planar32-mppc': { label: 'planar, 32 bpp, MPPC 64K', bpp: 32, compressed: true, bulk: PACKET_COMPR_TYPE_64K },
  'planar32-xcrush': { label: 'planar, 32 bpp, XCRUSH', bpp: 32, compressed: true, bulk: PACKET_COMPR_TYPE_RDP61 },
  interleaved24: { label: 'interleaved RLE, 24 bpp', bpp: 24, compressed: true },
  interleaved16: { label: 'interleaved RLE, 16 bpp', bpp: 16, compressed: true },
  uncompressed32: { label: 'uncompressed, 32 bpp', bpp: 32, compressed: false },
  'gfx-planar32': { label: 'GFX planar, 32 bpp', bpp: 32, compressed: true, gfx: true },
  // Lossy: bytes are not comparable with (lossless) ZRLE at equal quality.
  rfx: { label: 'RemoteFX (lossy), 32 bpp', bpp: 32, compressed: true, remoteFx: true },
};

interface Figures {
  qemu: QemuVersion;
  size: string;
  codec: string;
  workload: string;
  seconds: number;
  qemuDisplayUpdates: number;
  qemuDisplayFrames: number;
  qemuRdp: ServerFigures & { rssMiB: number; peakRssMiB: number };
  qemuVncZrle: ServerFigures;
  /** With bulk compression: fast-path updates compressed, and wire bytes ÷ decompressed bytes. */
  bulk?: { packets: number; ratio: number };
  /** qemu-rdp ÷ qemu-vnc ZRLE. */
  ratios: { updatesPerSecond: number; bytesPerUpdate: number; mbPerSecond: number; latencyP50: number };
}

/** An activated raw RDP client once the server's desktop has the guest's size (it may lag a mode switch). */
async function rdpAtSize(server: QemuRdp, bpp: 16 | 24 | 32, w: number, h: number, compression?: number, gfx = false, remoteFx = false): Promise<RawRdpClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = await RawRdpClient.connect(server.port, server.host);
    // ScrBlt and OpaqueRect offered as xfreerdp offers them: copies of scrolled areas, fills.
    await c.activate({ bpp, compression, remoteFx, orders: true, ...(gfx ? { channels: ['drdynvc'], earlyCapabilityFlags: RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL } : {}) });
    if (c.desktop.width === w && c.desktop.height === h) return c;
    c.destroy();
    if (Date.now() > deadline) throw new Error(`qemu-rdp: desktop is ${c.desktop.width}x${c.desktop.height}, not ${w}x${h}`);
    await sleep(500);
  }
}

async function vncAtSize(vnc: QemuVnc, w: number, h: number): Promise<BenchRfbClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = await BenchRfbClient.connect({ port: vnc.port, host: vnc.host });
    const init = await c.handshake();
    if (init.width === w && init.height === h) return c;
    c.close();
    if (Date.now() > deadline) throw new Error(`qemu-vnc: desktop is ${init.width}x${init.height}, not ${w}x${h}`);
    await sleep(500);
  }
}

async function measureSize(qemu: QemuVersion, mode: string): Promise<Figures[]> {
  const rig = await startRig({ qemu, name: `bench-qemu-rdp-${qemu}-${mode}`, videoMode: mode, extraArgs: ['-msg', 'timestamp=on', '-trace', 'dbus_update'] });
  const servers: Array<QemuRdp | QemuVnc> = [];
  const results: Figures[] = [];
  try {
    if (mode !== '1024x768') await rig.guest.check('vdi-mode');
    await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
    const vnc = await startQemuVnc({ busAddress: rig.busAddress, listen: `127.0.0.1:${5900 + (await freeVncDisplay())}`, log: join(rig.artifactsDir, 'qemu-vnc.log') });
    servers.push(vnc);
    const rdpLog = join(rig.artifactsDir, 'qemu-rdp.log');
    const rdp = await startQemuRdp({ busAddress: rig.busAddress, log: rdpLog });
    servers.push(rdp);
    const rdpUncompressed = await startQemuRdp({ busAddress: rig.busAddress, args: ['--no-bitmap-compression'], log: rdpLog });
    servers.push(rdpUncompressed);
    const [w, h] = mode.split('x').map(Number);

    for (const codecName of CODEC_NAMES) {
      const codec = CODECS[codecName];
      if (!codec) throw new Error(`unknown codec ${codecName}`);
      const server = codec.compressed ? rdp : rdpUncompressed;
      for (const [workload, wl] of Object.entries(WORKLOADS)) {
        // Fresh connections per pass: each starts with its full update, then goes quiet.
        const ours = await rdpAtSize(server, codec.bpp, w, h, codec.bulk, codec.gfx, codec.remoteFx);
        const zrle = await vncAtSize(vnc, w, h);
        try {
          const gfx = codec.gfx ? new RawGfxReceiver(ours) : undefined;
          const rdpUpdates = gfx ? gfx.records : ours.recordUpdates();
          // CopyRect as every real VNC client lists it.
          zrle.start([ENCODING_ZRLE, ENCODING_COPYRECT]);
          await rig.guest.check('vdi-pattern 3 >/dev/null');
          await waitQuiet(() => [ours.received, (zrle.check(), zrle.received)], 1000, 20_000);

          const logOffset = readFileSync(join(rig.artifactsDir, 'qemu.log'), 'utf8').length;
          const n0 = [rdpUpdates.length, zrle.updates.length];
          const cpu0 = [cpuSeconds(server.pid), cpuSeconds(vnc.pid)];
          const bulk0 = { ...ours.bulk };
          const surface0 = { ...ours.surface };
          const startUs = nowUs();
          await rig.guest.check(wl.start);
          await sleep(RUN_SECONDS * 1000);
          await rig.guest.check('kill $(cat /tmp/loop.pid)');
          const endUs = nowUs();
          const cpu = [cpuSeconds(server.pid) - cpu0[0], cpuSeconds(vnc.pid) - cpu0[1]];
          const rssMiB = (statusKiB(server.pid, 'VmRSS') * 1024) / 2 ** 20;
          const peakRssMiB = (statusKiB(server.pid, 'VmHWM') * 1024) / 2 ** 20;
          await sleep(500);
          zrle.check();
          const seconds = (endUs - startUs) / 1e6;
          const within = (u: UpdateRecord) => u.us >= startUs && u.us <= endUs + 500_000;
          const traces = traceTimes(rig, logOffset, startUs, endUs);
          if (codec.bulk !== undefined && ours.bulk.packets === bulk0.packets) throw new Error(`${codec.label}: no bulk-compressed update during ${workload}`);
          if (gfx && (gfx.confirmedVersion === undefined || gfx.records.length === n0[0])) throw new Error(`${codec.label}: no GFX frame during ${workload}`);
          if (codec.remoteFx && ours.surface.commands === surface0.commands) {
            throw new Error(`${codec.label}: no surface command during ${workload} (qemu-rdp sent ${ours.bitmapPixels > 0 ? 'bitmap updates' : 'nothing'}; is RemoteFX turned off?)`);
          }
          const a = serverFigures(rdpUpdates.slice(n0[0]).filter(within), traces, cpu[0], seconds, 0);
          const b = serverFigures(zrle.updates.slice(n0[1]).filter(within), traces, cpu[1], seconds, 0);
          const f: Figures = {
            qemu,
            size: mode,
            codec: codec.label,
            workload,
            seconds: round(seconds, 1),
            qemuDisplayUpdates: traces.length,
            qemuDisplayFrames: displayFrames(traces).length,
            qemuRdp: { ...a, rssMiB: round(rssMiB, 0), peakRssMiB: round(peakRssMiB, 0) },
            qemuVncZrle: b,
            ...(codec.bulk === undefined
              ? {}
              : {
                  bulk: {
                    packets: ours.bulk.packets - bulk0.packets,
                    ratio: round((ours.bulk.compressedBytes - bulk0.compressedBytes) / Math.max(1, ours.bulk.decompressedBytes - bulk0.decompressedBytes), 3),
                  },
                }),
            ratios: {
              updatesPerSecond: round(a.updatesPerSecond / b.updatesPerSecond),
              bytesPerUpdate: round(a.bytesPerUpdate / b.bytesPerUpdate),
              mbPerSecond: round(a.mbPerSecond / b.mbPerSecond),
              latencyP50: round(a.latencyMsP50 / b.latencyMsP50),
            },
          };
          console.log(JSON.stringify(f));
          results.push(f);
          await rig.guest.check('clear >/dev/tty1');
        } finally {
          ours.destroy();
          zrle.close();
        }
      }
    }
  } finally {
    for (const s of servers) await s.stop();
    await rig.stop();
  }
  return results;
}

it('qemu-rdp per codec vs qemu-vnc ZRLE: updates/s, bytes, CPU, memory, latency', async () => {
  ensureQemuVncBuilt();
  ensureQemuRdpBuilt();
  const results: Figures[] = [];
  const dir = join(REPO_DIR, 'bench/results');
  mkdirSync(dir, { recursive: true });
  for (const qemu of QEMU_VERSIONS) {
    for (const mode of SIZES) {
      results.push(...(await measureSize(qemu, mode)));
      writeFileSync(join(dir, 'qemu-rdp.json'), `${JSON.stringify(results, null, 2)}\n`);
    }
  }
});
