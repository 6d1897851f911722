// The Display Control dynamic channel (MS-RDPEDISP): its PDUs byte for byte, the layout rules
// of 2.2.2.2.1, and the channel's behaviour (capabilities on open, the primary monitor's size
// to SetUIInfo, debounced), alone and behind the drdynvc server.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClipboardPeer, QemuDisplay } from '@vdi-sidecar/display-core';
import { DISPLAY_CONTROL_CHANNEL, DISPLAY_CONTROL_DEBOUNCE_MS, displayControlChannel } from '../src/channels/display-control.js';
import { createDrdynvcChannel, type DynamicChannel, type DynamicChannelContext } from '../src/channels/drdynvc.js';
import { DYNAMIC_CHANNEL_TYPES } from '../src/channels/index.js';
import { WriteCursor } from '../src/pdu/cursor.js';
import { decodeMonitorLayoutPdu, DISPLAY_CONTROL_CHANNEL_NAME, encodeDisplayControlCaps, type MonitorLayout } from '../src/pdu/display-control.js';
import { encodeDvcCreateRequest, encodeDvcData } from '../src/pdu/drdynvc.js';
import { RdpProtocolError, type RdpErrorCode } from '../src/pdu/errors.js';

/** Hex with spaces, line breaks and `//` comments, as protocol documents print PDUs. */
const hex = (s: string) => Buffer.from(s.replace(/\/\/.*$/gm, '').replace(/\s+/g, ''), 'hex');

interface MonitorFields {
  flags?: number;
  left?: number;
  top?: number;
  width: number;
  height: number;
  physicalWidth?: number;
  physicalHeight?: number;
  orientation?: number;
  desktopScaleFactor?: number;
  deviceScaleFactor?: number;
}

/** A DISPLAYCONTROL_MONITOR_LAYOUT_PDU written field by field (2.2.2.2), lengths overridable. */
function layoutPdu(monitors: MonitorFields[], override: { type?: number; length?: number; layoutSize?: number; count?: number } = {}): Buffer {
  const w = new WriteCursor();
  w.u32le(override.type ?? 2)
    .u32le(override.length ?? 16 + 40 * monitors.length)
    .u32le(override.layoutSize ?? 40)
    .u32le(override.count ?? monitors.length);
  for (const m of monitors) {
    w.u32le(m.flags ?? 0)
      .u32le(m.left ?? 0)
      .u32le(m.top ?? 0)
      .u32le(m.width)
      .u32le(m.height)
      .u32le(m.physicalWidth ?? 0)
      .u32le(m.physicalHeight ?? 0)
      .u32le(m.orientation ?? 0)
      .u32le(m.desktopScaleFactor ?? 0)
      .u32le(m.deviceScaleFactor ?? 0);
  }
  return w.toBuffer();
}

const primary = (width: number, height: number, more: Partial<MonitorFields> = {}): MonitorFields => ({ flags: 1, width, height, ...more });

function codeOf(fn: () => unknown): RdpErrorCode | 'no error' | 'not an RdpProtocolError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return err instanceof RdpProtocolError ? err.code : 'not an RdpProtocolError';
  }
}

describe('Display Control PDUs', () => {
  it('encodes DISPLAYCONTROL_CAPS_PDU (2.2.2.1): header type 5, length 20, then the three limits', () => {
    // Type, Length, MaxNumMonitors, MaxMonitorAreaFactorA, MaxMonitorAreaFactorB: 32 bits each, little-endian.
    expect(encodeDisplayControlCaps({ maxNumMonitors: 16, maxMonitorAreaFactorA: 1920, maxMonitorAreaFactorB: 1080 })).toEqual(
      hex(`05 00 00 00  14 00 00 00  10 00 00 00  80 07 00 00  38 04 00 00`),
    );
    // What this server sends: one monitor of at most 8192x8192.
    expect(encodeDisplayControlCaps({ maxNumMonitors: 1, maxMonitorAreaFactorA: 8192, maxMonitorAreaFactorB: 8192 })).toEqual(
      hex(`05 00 00 00  14 00 00 00  01 00 00 00  00 20 00 00  00 20 00 00`),
    );
  });

  it('decodes a two-monitor DISPLAYCONTROL_MONITOR_LAYOUT_PDU written out per 2.2.2.2 and 2.2.2.2.1', () => {
    const pdu = hex(`
      02 00 00 00  60 00 00 00                 // Type 2 (layout), Length 96
      28 00 00 00  02 00 00 00                 // MonitorLayoutSize 40, NumMonitors 2
      01 00 00 00  00 00 00 00  00 00 00 00    // primary, at (0, 0)
      80 07 00 00  38 04 00 00                 // 1920x1080
      12 02 00 00  2f 01 00 00                 // 530 mm x 303 mm
      00 00 00 00  64 00 00 00  64 00 00 00    // landscape, 100 %, 100 %
      00 00 00 00  00 fc ff ff  00 00 00 00    // secondary, at (-1024, 0)
      00 04 00 00  00 03 00 00                 // 1024x768
      00 00 00 00  00 00 00 00                 // physical size unknown
      5a 00 00 00  8c 00 00 00  8c 00 00 00    // portrait, 140 %, 140 %
    `);
    expect(decodeMonitorLayoutPdu(pdu)).toEqual<MonitorLayout[]>([
      {
        flags: 1,
        primary: true,
        left: 0,
        top: 0,
        width: 1920,
        height: 1080,
        physicalWidth: 530,
        physicalHeight: 303,
        orientation: 0,
        desktopScaleFactor: 100,
        deviceScaleFactor: 100,
      },
      {
        flags: 0,
        primary: false,
        left: -1024,
        top: 0,
        width: 1024,
        height: 768,
        physicalWidth: undefined,
        physicalHeight: undefined,
        orientation: 90,
        desktopScaleFactor: 140,
        deviceScaleFactor: 140,
      },
    ]);
  });

  it("decodes FreeRDP's single-monitor layout (its window size, even, as the primary monitor)", () => {
    const [m] = decodeMonitorLayoutPdu(layoutPdu([primary(1280, 720, { physicalWidth: 1280, physicalHeight: 720, desktopScaleFactor: 100, deviceScaleFactor: 100 })]));
    expect(m).toMatchObject({ primary: true, width: 1280, height: 720, physicalWidth: 1280, physicalHeight: 720, orientation: 0 });
  });

  it('leaves undefined the fields the specification says to ignore when out of range', () => {
    const decode = (more: Partial<MonitorFields>) => decodeMonitorLayoutPdu(layoutPdu([primary(800, 600, more)]))[0]!;
    // Physical size: both or neither, each within 10..10000 mm.
    expect(decode({ physicalWidth: 9, physicalHeight: 300 })).toMatchObject({ physicalWidth: undefined, physicalHeight: undefined });
    expect(decode({ physicalWidth: 300, physicalHeight: 10_001 })).toMatchObject({ physicalWidth: undefined, physicalHeight: undefined });
    expect(decode({ physicalWidth: 10, physicalHeight: 10_000 })).toMatchObject({ physicalWidth: 10, physicalHeight: 10_000 });
    expect(decode({ orientation: 45 }).orientation).toBeUndefined();
    expect(decode({ orientation: 270 }).orientation).toBe(270);
    // Scale factors: desktop 100..500 and device 100, 140 or 180, else both ignored.
    expect(decode({ desktopScaleFactor: 501, deviceScaleFactor: 100 })).toMatchObject({ desktopScaleFactor: undefined, deviceScaleFactor: undefined });
    expect(decode({ desktopScaleFactor: 150, deviceScaleFactor: 120 })).toMatchObject({ desktopScaleFactor: undefined, deviceScaleFactor: undefined });
    expect(decode({ desktopScaleFactor: 500, deviceScaleFactor: 180 })).toMatchObject({ desktopScaleFactor: 500, deviceScaleFactor: 180 });
  });

  it('takes the sizes at the limits: width 200..8192 and even, height 200..8192 (odd allowed)', () => {
    for (const [w, h] of [
      [200, 200],
      [8192, 8192],
      [1024, 201],
    ] as const) {
      expect(decodeMonitorLayoutPdu(layoutPdu([primary(w, h)]))[0]).toMatchObject({ width: w, height: h });
    }
  });

  it.each<[string, Buffer, RdpErrorCode]>([
    ['a caps PDU (server to client only)', hex('05000000 14000000 01000000 00200000 00200000'), 'RDP_ERR_UNEXPECTED'],
    ['an unknown type', layoutPdu([primary(800, 600)], { type: 7 }), 'RDP_ERR_UNEXPECTED'],
    ['a header Length beyond the message', layoutPdu([primary(800, 600)], { length: 57 }), 'RDP_ERR_BAD_LENGTH'],
    ['a header Length short of the message', layoutPdu([primary(800, 600)], { length: 16 }), 'RDP_ERR_BAD_LENGTH'],
    ['MonitorLayoutSize 36', layoutPdu([primary(800, 600)], { layoutSize: 36 }), 'RDP_ERR_BAD_LENGTH'],
    ['NumMonitors beyond the monitors sent', layoutPdu([primary(800, 600)], { count: 2 }), 'RDP_ERR_BAD_LENGTH'],
    ['17 monitors', layoutPdu(Array.from({ length: 17 }, (_, i) => (i ? { width: 800, height: 600, left: 800 * i } : primary(800, 600)))), 'RDP_ERR_BAD_LENGTH'],
    ['a header alone', hex('02000000 08000000'), 'RDP_ERR_TRUNCATED'],
    ['7 bytes', hex('02000000 100000'), 'RDP_ERR_TRUNCATED'],
    ['no monitor', layoutPdu([]), 'RDP_ERR_BAD_VALUE'],
    ['width 198', layoutPdu([primary(198, 600)]), 'RDP_ERR_BAD_VALUE'],
    ['width 8194', layoutPdu([primary(8194, 600)]), 'RDP_ERR_BAD_VALUE'],
    ['an odd width', layoutPdu([primary(1023, 600)]), 'RDP_ERR_BAD_VALUE'],
    ['height 199', layoutPdu([primary(800, 199)]), 'RDP_ERR_BAD_VALUE'],
    ['height 8193', layoutPdu([primary(800, 8193)]), 'RDP_ERR_BAD_VALUE'],
    ['a secondary monitor out of range', layoutPdu([primary(800, 600), { width: 100, height: 600, left: 800 }]), 'RDP_ERR_BAD_VALUE'],
    ['no primary monitor', layoutPdu([{ width: 800, height: 600 }]), 'RDP_ERR_BAD_VALUE'],
    ['two primary monitors', layoutPdu([primary(800, 600), primary(800, 600, { left: 800 })]), 'RDP_ERR_BAD_VALUE'],
    ['a primary monitor not at (0, 0)', layoutPdu([primary(800, 600, { top: -10 })]), 'RDP_ERR_BAD_VALUE'],
  ])('refuses %s with %s', (_what, pdu, code) => {
    expect(codeOf(() => decodeMonitorLayoutPdu(pdu))).toBe(code);
  });

  it('fuzz: mutated and random PDUs decode or throw RdpProtocolError, and what decodes keeps the rules', () => {
    let a = 0x5eed1234;
    const random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(random() * n);
    const seeds = [
      layoutPdu([primary(1280, 720, { physicalWidth: 1280, physicalHeight: 720, desktopScaleFactor: 100, deviceScaleFactor: 100 })]),
      layoutPdu([primary(1920, 1080), { width: 1024, height: 768, left: -1024 }, { width: 800, height: 600, top: 1080 }]),
    ];
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      let input: Buffer;
      if (i % 10 === 0) {
        input = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
      } else {
        input = Buffer.from(seeds[i % seeds.length]!);
        for (let k = 1 + int(4); k > 0; k--) {
          const at = int(input.length);
          const op = int(4);
          if (op === 0) input[at] = int(256);
          else if (op === 1) input[at] ^= 1 << int(8);
          else if (op === 2) input = input.subarray(0, at);
          else input = Buffer.concat([input, Buffer.from([int(256)])]);
        }
      }
      let monitors: MonitorLayout[];
      try {
        monitors = decodeMonitorLayoutPdu(input);
      } catch (err) {
        if (!(err instanceof RdpProtocolError)) throw new Error(`input ${input.toString('hex')}: ${String(err)}`);
        continue;
      }
      decoded++;
      expect(monitors.filter((m) => m.primary)).toHaveLength(1);
      for (const m of monitors) {
        expect(m.width % 2 === 0 && m.width >= 200 && m.width <= 8192 && m.height >= 200 && m.height <= 8192).toBe(true);
      }
    }
    // The mutations are mild enough that some still decode: the accept path is exercised too.
    expect(decoded).toBeGreaterThan(100);
  });
});

describe('Display Control channel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function harness(setUIInfo: (...args: number[]) => Promise<void> = () => Promise.resolve()) {
    const sent: Buffer[] = [];
    const logs: string[] = [];
    const calls: number[][] = [];
    const display = {
      setUIInfo: (...args: number[]) => {
        calls.push(args);
        return setUIInfo(...args);
      },
    } as unknown as QemuDisplay;
    const context: DynamicChannelContext = {
      display,
      clipboard: undefined,
      log: (level, message) => logs.push(`${level}: ${message}`),
      send: (m) => sent.push(m),
    };
    const channel: DynamicChannel = DISPLAY_CONTROL_CHANNEL.create(context);
    return { sent, logs, calls, channel };
  }

  it('is offered to every client with drdynvc, under its MS-RDPEDISP name', () => {
    expect(DISPLAY_CONTROL_CHANNEL.name).toBe('Microsoft::Windows::RDS::DisplayControl');
    expect(DISPLAY_CONTROL_CHANNEL_NAME).toBe(DISPLAY_CONTROL_CHANNEL.name);
    expect(DYNAMIC_CHANNEL_TYPES).toContain(DISPLAY_CONTROL_CHANNEL);
  });

  it('sends its capabilities on open: one monitor, 8192x8192', () => {
    const { sent, channel } = harness();
    channel.onOpen?.();
    expect(sent).toEqual([hex('05000000 14000000 01000000 00200000 00200000')]);
  });

  it("asks the guest for the primary monitor's size and physical size, once the layouts stop for 200 ms", async () => {
    const { calls, logs, channel } = harness();
    channel.onOpen?.();
    // A window being dragged: a layout every 50 ms.
    for (const width of [1000, 1100, 1200]) {
      channel.onMessage(layoutPdu([primary(width, 700, { physicalWidth: 300, physicalHeight: 200 })]));
      await vi.advanceTimersByTimeAsync(50);
    }
    // Secondary monitors are not ours to show: the primary one counts, wherever it is listed.
    channel.onMessage(layoutPdu([{ width: 640, height: 480, left: -640 }, primary(1280, 720, { physicalWidth: 300, physicalHeight: 200 })]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS - 1);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([[1280, 720, 300, 200, 0, 0]]);
    expect(logs).toContain('info: asking the guest for 1280x720');

    // The same layout again (FreeRDP repeats it after reactivation) asks nothing more; a new one does.
    channel.onMessage(layoutPdu([primary(1280, 720, { physicalWidth: 300, physicalHeight: 200 })]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS);
    expect(calls).toHaveLength(1);
    channel.onMessage(layoutPdu([primary(1024, 768)]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS);
    // No valid physical size: 0 x 0, "unknown" to QEMU.
    expect(calls).toEqual([
      [1280, 720, 300, 200, 0, 0],
      [1024, 768, 0, 0, 0, 0],
    ]);
  });

  it('ignores a layout the specification forbids (logged), and drops the client for a malformed PDU', async () => {
    const { calls, logs, channel } = harness();
    channel.onOpen?.();
    channel.onMessage(layoutPdu([primary(1023, 700)]));
    channel.onMessage(layoutPdu([{ width: 800, height: 600 }]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS * 2);
    expect(calls).toEqual([]);
    expect(logs.filter((l) => l.startsWith('warn: layout ignored'))).toHaveLength(2);
    expect(codeOf(() => channel.onMessage(layoutPdu([primary(800, 600)], { layoutSize: 44 })))).toBe('RDP_ERR_BAD_LENGTH');
    expect(codeOf(() => channel.onMessage(hex('02000000')))).toBe('RDP_ERR_TRUNCATED');
  });

  it('a refused request (std VGA, no VM) is logged, and asked again when the client repeats it', async () => {
    let refuse = true;
    const { calls, logs, channel } = harness(() => (refuse ? Promise.reject(new Error('SetUIInfo is not supported')) : Promise.resolve()));
    channel.onMessage(layoutPdu([primary(900, 700)]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS);
    expect(logs).toContain("info: the guest's display did not take 900x700: SetUIInfo is not supported");
    refuse = false;
    channel.onMessage(layoutPdu([primary(900, 700)]));
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS);
    expect(calls).toEqual([
      [900, 700, 0, 0, 0, 0],
      [900, 700, 0, 0, 0, 0],
    ]);
  });

  it('a layout pending when the channel closes is dropped', async () => {
    const { calls, channel } = harness();
    channel.onMessage(layoutPdu([primary(900, 700)]));
    channel.close();
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS * 2);
    expect(calls).toEqual([]);
  });

  it('takes another quiet time when asked', async () => {
    const calls: number[][] = [];
    const channel = displayControlChannel({ debounceMs: 20 }).create({
      display: { setUIInfo: (...args: number[]) => (calls.push(args), Promise.resolve()) } as unknown as QemuDisplay,
      clipboard: undefined,
      log: () => undefined,
      send: () => undefined,
    });
    channel.onMessage(layoutPdu([primary(640, 480)]));
    await vi.advanceTimersByTimeAsync(20);
    expect(calls).toEqual([[640, 480, 0, 0, 0, 0]]);
  });

  it('behind the drdynvc server: opened by name, capabilities sent on creation, layouts applied', async () => {
    const sent: Buffer[] = [];
    const calls: number[][] = [];
    const drdynvc = createDrdynvcChannel([DISPLAY_CONTROL_CHANNEL])({
      display: { setUIInfo: (...args: number[]) => (calls.push(args), Promise.resolve()) } as unknown as QemuDisplay,
      clipboard: undefined as ClipboardPeer | undefined,
      log: () => undefined,
      send: (m) => sent.push(m),
    });
    drdynvc.onActive?.();
    drdynvc.onMessage(Buffer.from([0x50, 0x00, 0x03, 0x00])); // client capabilities, version 3
    expect(sent.slice(1)).toEqual([encodeDvcCreateRequest(1, 'Microsoft::Windows::RDS::DisplayControl')]);
    drdynvc.onMessage(Buffer.from([0x10, 0x01, 0, 0, 0, 0])); // created
    expect(sent.slice(2)).toEqual(encodeDvcData(1, hex('05000000 14000000 01000000 00200000 00200000')));
    for (const pdu of encodeDvcData(1, layoutPdu([primary(1280, 720)]))) drdynvc.onMessage(pdu);
    await vi.advanceTimersByTimeAsync(DISPLAY_CONTROL_DEBOUNCE_MS);
    expect(calls).toEqual([[1280, 720, 0, 0, 0, 0]]);
    drdynvc.close();
  });
});
