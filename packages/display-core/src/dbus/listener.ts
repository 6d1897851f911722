// The org.qemu.Display1.Listener object we serve to QEMU on a peer link
// (Console.RegisterListener). QEMU pushes the console's pixels and cursor through it.
import { closeSync } from 'node:fs';
import { openPeerLink, type PeerLink } from './peer-link.js';
import { exportObject } from './exported-object.js';
import { IFACE, LISTENER_PATH } from './names.js';

export interface ListenerSink {
  scanout(width: number, height: number, stride: number, format: number, data: Buffer): void;
  update(x: number, y: number, width: number, height: number, stride: number, format: number, data: Buffer): void;
  /** QEMU ≥ 9.2 with Listener.Unix.Map: the surface lives in shared memory `fd` at `offset`. */
  scanoutMap(fd: number, offset: number, width: number, height: number, stride: number, format: number): void;
  updateMap(x: number, y: number, width: number, height: number): void;
  disable(): void;
  cursorDefine(width: number, height: number, hotX: number, hotY: number, data: Buffer): void;
  mouseSet(x: number, y: number, visible: boolean): void;
  /** A GL scanout we cannot use: the VM was started with gl=on. */
  dmabufOffered(): void;
}

const introspection = (withMap: boolean) => `<node>
  <interface name="${IFACE.listener}">
    <method name="Scanout"><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="ay" direction="in"/></method>
    <method name="Update"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="ay" direction="in"/></method>
    <method name="Disable"/>
    <method name="MouseSet"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
    <method name="CursorDefine"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="ay" direction="in"/></method>
    <property name="Interfaces" type="as" access="read"/>
  </interface>${withMap ? `
  <interface name="${IFACE.listenerUnixMap}">
    <method name="ScanoutMap"><arg type="h" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/><arg type="u" direction="in"/></method>
    <method name="UpdateMap"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
  </interface>` : ''}
</node>`;

const num = (v: unknown) => Number(v);

/** What a GL (DMABUF) scanout gets: an error reply to QEMU and this line in our log. */
export const DMABUF_REFUSAL =
  'QEMU offers its screen as a DMABUF (OpenGL scanout), which a remote server cannot read: start QEMU with -display dbus,gl=off';

/**
 * Serves a Listener on `fd` (our end of the socketpair whose other end went to QEMU).
 * The object is exported before authentication starts: right after it QEMU blocks on
 * Properties.GetAll and must get an answer at once.
 */
export function serveListener(
  fd: number,
  sink: ListenerSink,
  opts: { sharedMemory: boolean },
): { link: PeerLink; ready: Promise<void> } {
  const link = openPeerLink(fd);
  const interfaces = opts.sharedMemory ? [IFACE.listenerUnixMap] : [];
  exportObject(link.bus, {
    path: LISTENER_PATH,
    introspectionXml: introspection(opts.sharedMemory),
    properties: { [IFACE.listener]: { Interfaces: ['as', interfaces] } },
    methods: {
      [IFACE.listener]: {
        Scanout: (b) => sink.scanout(num(b[0]), num(b[1]), num(b[2]), num(b[3]), b[4] as Buffer),
        Update: (b) =>
          sink.update(num(b[0]), num(b[1]), num(b[2]), num(b[3]), num(b[4]), num(b[5]), b[6] as Buffer),
        Disable: () => sink.disable(),
        MouseSet: (b) => sink.mouseSet(num(b[0]), num(b[1]), num(b[2]) !== 0),
        CursorDefine: (b) => sink.cursorDefine(num(b[0]), num(b[1]), num(b[2]), num(b[3]), b[4] as Buffer),
        ScanoutDMABUF: (b) => {
          // The buffer's fd came with the call and is ours to close.
          closeSync(num(b[0]));
          sink.dmabufOffered();
          throw new Error(DMABUF_REFUSAL);
        },
        UpdateDMABUF: () => {
          throw new Error(DMABUF_REFUSAL);
        },
      },
      ...(opts.sharedMemory
        ? {
            [IFACE.listenerUnixMap]: {
              ScanoutMap: (b) => sink.scanoutMap(num(b[0]), num(b[1]), num(b[2]), num(b[3]), num(b[4]), num(b[5])),
              UpdateMap: (b) => sink.updateMap(num(b[0]), num(b[1]), num(b[2]), num(b[3])),
            },
          }
        : {}),
    },
  });
  const ready = link.start();
  ready.catch(() => undefined); // the caller awaits it; this only avoids an unhandled rejection
  return { link, ready };
}
