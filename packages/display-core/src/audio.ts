// Audio of QEMU's D-Bus display (-audiodev dbus; ui/dbus-display1.xml "Audio"): each
// direction is a listener on its own peer link, registered like the display listener.
// Output: QEMU announces each voice with Init (the PCM format) and pushes Write(data);
// input: QEMU pulls Read(size) and we answer with captured PCM (silence when none).
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { callMethod } from './dbus/calls.js';
import { exportObject, type MethodHandler } from './dbus/exported-object.js';
import { AUDIO_IN_LISTENER_PATH, AUDIO_OUT_LISTENER_PATH, AUDIO_PATH, IFACE } from './dbus/names.js';
import { openPeerLink, type PeerLink } from './dbus/peer-link.js';
import { socketpair } from './dbus/socketpair.js';
import type { QemuDisplay } from './display.js';

export interface PcmFormat {
  bits: number;
  signed: boolean;
  float: boolean;
  frequency: number;
  channels: number;
  bytesPerFrame: number;
  bytesPerSecond: number;
  bigEndian: boolean;
}

export interface AudioEvents {
  /** A guest voice opened (output: the guest plays; input: the guest records). */
  init: [voice: bigint, format: PcmFormat];
  fini: [voice: bigint];
  enabled: [voice: bigint, enabled: boolean];
  volume: [voice: bigint, mute: boolean, volume: Buffer];
  /** Output only: PCM the guest played. */
  data: [voice: bigint, pcm: Buffer];
}

export type AudioDirection = 'out' | 'in';

const voiceMethods = (direction: AudioDirection) => `
    <method name="Init"><arg name="id" type="t"/><arg name="bits" type="y"/><arg name="is_signed" type="b"/><arg name="is_float" type="b"/><arg name="freq" type="u"/><arg name="nchannels" type="y"/><arg name="bytes_per_frame" type="u"/><arg name="bytes_per_second" type="u"/><arg name="be" type="b"/></method>
    <method name="Fini"><arg name="id" type="t"/></method>
    <method name="SetEnabled"><arg name="id" type="t"/><arg name="enabled" type="b"/></method>
    <method name="SetVolume"><arg name="id" type="t"/><arg name="mute" type="b"/><arg name="volume" type="ay"/></method>
    ${direction === 'out'
      ? '<method name="Write"><arg name="id" type="t"/><arg type="ay" name="data"/></method>'
      : '<method name="Read"><arg name="id" type="t"/><arg name="size" type="t"/><arg type="ay" name="data" direction="out"/></method>'}`;

/**
 * One audio direction of the attached VM. `capture` supplies input PCM for Read
 * (return fewer bytes or none for silence).
 */
export class AudioListener extends EventEmitter<AudioEvents> {
  readonly formats = new Map<bigint, PcmFormat>();
  private link: PeerLink | undefined;

  constructor(
    private readonly display: QemuDisplay,
    readonly direction: AudioDirection,
    private readonly capture: (voice: bigint, size: number) => Buffer = () => Buffer.alloc(0),
  ) {
    super();
  }

  /** Registers with QEMU's Audio object; rejects when the VM has no D-Bus audio. */
  async start(): Promise<void> {
    const bus = this.display.busConnection;
    const owner = this.display.vm?.owner;
    if (!bus || !owner) throw new Error('no VM attached');
    const [ours, theirs] = socketpair();
    const link = openPeerLink(ours);
    const iface = this.direction === 'out' ? IFACE.audioOutListener : IFACE.audioInListener;
    const methods: Record<string, MethodHandler> = {
      Init: (b) => {
        const format: PcmFormat = {
          bits: Number(b[1]),
          signed: Boolean(b[2]),
          float: Boolean(b[3]),
          frequency: Number(b[4]),
          channels: Number(b[5]),
          bytesPerFrame: Number(b[6]),
          bytesPerSecond: Number(b[7]),
          bigEndian: Boolean(b[8]),
        };
        this.formats.set(BigInt(b[0] as bigint), format);
        this.emit('init', BigInt(b[0] as bigint), format);
      },
      Fini: (b) => {
        this.formats.delete(BigInt(b[0] as bigint));
        this.emit('fini', BigInt(b[0] as bigint));
      },
      SetEnabled: (b) => {
        this.emit('enabled', BigInt(b[0] as bigint), Boolean(b[1]));
      },
      SetVolume: (b) => {
        this.emit('volume', BigInt(b[0] as bigint), Boolean(b[1]), Buffer.from(b[2] as Buffer));
      },
      Write: (b) => {
        // The peer link reuses its receive buffer: listeners may keep what they get.
        this.emit('data', BigInt(b[0] as bigint), Buffer.from(b[1] as Buffer));
      },
      Read: (b) => {
        const size = Math.min(Number(b[1]), 1 << 20);
        return { signature: 'ay', body: [this.capture(BigInt(b[0] as bigint), size).subarray(0, size)] };
      },
    };
    exportObject(link.bus, {
      path: this.direction === 'out' ? AUDIO_OUT_LISTENER_PATH : AUDIO_IN_LISTENER_PATH,
      introspectionXml: `<node><interface name="${iface}">${voiceMethods(this.direction)}
    <property name="Interfaces" type="as" access="read"/></interface></node>`,
      properties: { [iface]: { Interfaces: ['as', []] } },
      methods: { [iface]: methods },
    });
    const ready = link.start();
    ready.catch(() => undefined); // awaited below; avoids an unhandled rejection meanwhile
    try {
      await callMethod(bus, {
        destination: owner,
        path: AUDIO_PATH,
        interface: IFACE.audio,
        member: this.direction === 'out' ? 'RegisterOutListener' : 'RegisterInListener',
        signature: 'h',
        body: [theirs],
      });
      await ready;
    } catch (err) {
      link.close();
      throw err;
    } finally {
      closeSync(theirs);
    }
    this.link = link;
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
  }
}
