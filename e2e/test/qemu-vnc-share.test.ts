// ClientInit's shared flag under each --share-policy: allow (everyone shares),
// disconnect (an exclusive client disconnects the others), refuse (exclusive access is
// refused while others are connected, and others are refused while one has it).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, freeVncDisplay, startQemuVnc, type QemuVnc } from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { QEMU_VERSIONS, startRig, type Rig } from '../src/index.js';

describe.each(QEMU_VERSIONS)('qemu-vnc share policies on QEMU %s', (qemu) => {
  let rig: Rig;
  const servers: QemuVnc[] = [];
  const clients: RawRfbClient[] = [];

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-share-${qemu}` });
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const s of servers) await s.stop();
    await rig?.stop();
  });

  async function serve(policy: string): Promise<number> {
    const port = 5900 + (await freeVncDisplay());
    servers.push(
      await startQemuVnc({
        busAddress: rig.busAddress,
        listen: `127.0.0.1:${port}`,
        args: ['--share-policy', policy],
        log: join(rig.artifactsDir, `qemu-vnc-${policy}.log`),
      }),
    );
    return port;
  }

  async function client(port: number): Promise<RawRfbClient> {
    const c = await RawRfbClient.connect(port);
    clients.push(c);
    return c;
  }

  it('allow: an exclusive request changes nothing, everyone stays', async () => {
    const port = await serve('allow');
    const a = await client(port);
    await a.handshakeNone(true);
    const b = await client(port);
    expect((await b.handshakeNone(false)).width).toBeGreaterThan(0);
    expect(await a.waitClosed(1500)).toBe(false);
  });

  it('disconnect: an exclusive client disconnects the others', async () => {
    const port = await serve('disconnect');
    const a = await client(port);
    await a.handshakeNone(true);
    const b = await client(port);
    expect((await b.handshakeNone(false)).width).toBeGreaterThan(0);
    expect(await a.waitClosed(5000)).toBe(true);
    expect(await b.waitClosed(1000)).toBe(false);
  });

  it('refuse: exclusive access is refused while others are connected, and others while one has it', async () => {
    const port = await serve('refuse');
    const a = await client(port);
    await a.handshakeNone(true);
    const b = await client(port);
    void b.handshakeNone(false).catch(() => undefined);
    expect(await b.waitClosed(5000)).toBe(true);
    expect(await a.waitClosed(1000)).toBe(false);
    a.destroy();

    const exclusive = await client(port);
    await exclusive.handshakeNone(false);
    const late = await client(port);
    void late.handshakeNone(true).catch(() => undefined);
    expect(await late.waitClosed(5000)).toBe(true);
    expect(await exclusive.waitClosed(1000)).toBe(false);
  });
});
