// Clipboard peer of QEMU's D-Bus display (ui/dbus-clipboard.c): we serve
// org.qemu.Display1.Clipboard at /org/qemu/Display1/Clipboard on our bus connection
// and call Register on QEMU's object; from then on QEMU tells us when the guest (or
// another peer such as a qemu-vdagent) grabs the clipboard, and asks us for our text.
// Only text/plain;charset=utf-8 exists on this interface.
import { EventEmitter } from 'node:events';
import type { MessageBus } from 'dbus-next';
import { callMethod } from './dbus/calls.js';
import { exportObject } from './dbus/exported-object.js';
import { CLIPBOARD_PATH, IFACE } from './dbus/names.js';
import type { QemuDisplay } from './display.js';

export const MIME_TEXT_UTF8 = 'text/plain;charset=utf-8';

/** QemuClipboardSelection. */
export enum ClipboardSelection {
  Clipboard = 0,
  Primary = 1,
  Secondary = 2,
}

/** Text larger than this from the guest is refused (it would be held in memory twice). */
export const MAX_CLIPBOARD_BYTES = 16 * 1024 * 1024;

export interface ClipboardEvents {
  /** The guest side put text on a selection. */
  text: [text: string, selection: ClipboardSelection];
  /** The guest side emptied a selection. */
  release: [selection: ClipboardSelection];
  error: [message: string];
}

const introspection = `<node><interface name="${IFACE.clipboard}">
  <method name="Register"/><method name="Unregister"/>
  <method name="Grab"><arg type="u" name="selection"/><arg type="u" name="serial"/><arg type="as" name="mimes"/></method>
  <method name="Release"><arg type="u" name="selection"/></method>
  <method name="Request"><arg type="u" name="selection"/><arg type="as" name="mimes"/><arg type="s" direction="out"/><arg type="ay" direction="out"/></method>
  <property name="Interfaces" type="as" access="read"/>
</interface></node>`;

export class ClipboardPeer extends EventEmitter<ClipboardEvents> {
  /** Grab serial (QEMU accepts a client's grab when its serial ≥ the current one). */
  private serial = 0;
  private readonly ours = new Map<ClipboardSelection, Buffer>();
  private exportedOn: MessageBus | undefined;
  private unexport: (() => void) | undefined;

  constructor(private readonly display: QemuDisplay) {
    super();
    display.on('attached', () => void this.register());
    if (display.vm) void this.register();
  }

  /** Offers `text` to the guest as the content of `selection`. */
  async setText(text: string, selection = ClipboardSelection.Clipboard): Promise<void> {
    this.ours.set(selection, Buffer.from(text, 'utf8'));
    const { bus, owner } = this.target();
    this.serial++;
    await callMethod(bus, {
      destination: owner,
      path: CLIPBOARD_PATH,
      interface: IFACE.clipboard,
      member: 'Grab',
      signature: 'uuas',
      body: [selection, this.serial, [MIME_TEXT_UTF8]],
    });
  }

  close(): void {
    this.unexport?.();
    this.unexport = undefined;
    this.exportedOn = undefined;
  }

  private target(): { bus: MessageBus; owner: string } {
    const bus = this.display.busConnection;
    const owner = this.display.vm?.owner;
    if (!bus || !owner) throw new Error('no VM attached');
    return { bus, owner };
  }

  private async register(): Promise<void> {
    try {
      const { bus, owner } = this.target();
      if (this.exportedOn !== bus) {
        this.unexport?.();
        this.unexport = exportObject(bus, {
          path: CLIPBOARD_PATH,
          introspectionXml: introspection,
          properties: { [IFACE.clipboard]: { Interfaces: ['as', []] } },
          methods: {
            [IFACE.clipboard]: {
              // QEMU calls our Register when the clipboard serials are reset.
              Register: () => {
                this.serial = 0;
              },
              Unregister: () => undefined,
              Grab: (b) => this.onGuestGrab(Number(b[0]), Number(b[1]), b[2] as string[]),
              Release: (b) => {
                this.emit('release', Number(b[0]));
              },
              Request: (b) => {
                const data = this.ours.get(Number(b[0]));
                if (!data || !(b[1] as string[]).includes(MIME_TEXT_UTF8)) throw new Error('empty clipboard');
                return { signature: 'say', body: [MIME_TEXT_UTF8, data] };
              },
            },
          },
        });
        this.exportedOn = bus;
      }
      this.serial = 0;
      await callMethod(bus, { destination: owner, path: CLIPBOARD_PATH, interface: IFACE.clipboard, member: 'Register' });
    } catch (err) {
      this.emit('error', `clipboard registration failed: ${(err as Error).message}`);
    }
  }

  private onGuestGrab(selection: number, serial: number, mimes: string[]): void {
    this.serial = Math.max(this.serial, serial);
    this.ours.delete(selection);
    if (!mimes.includes(MIME_TEXT_UTF8)) return;
    // Fetch after replying: QEMU is waiting for this Grab call to return.
    setImmediate(() => void this.fetch(selection));
  }

  private async fetch(selection: number): Promise<void> {
    try {
      const { bus, owner } = this.target();
      const [mime, data] = (await callMethod(bus, {
        destination: owner,
        path: CLIPBOARD_PATH,
        interface: IFACE.clipboard,
        member: 'Request',
        signature: 'uas',
        body: [selection, [MIME_TEXT_UTF8]],
      })) as [string, Buffer];
      if (mime !== MIME_TEXT_UTF8 || !Buffer.isBuffer(data) || data.length > MAX_CLIPBOARD_BYTES) return;
      this.emit('text', data.toString('utf8').replace(/\0+$/, ''), selection);
    } catch (err) {
      this.emit('error', `reading the guest clipboard failed: ${(err as Error).message}`);
    }
  }
}
