// Clipboard peer of QEMU's D-Bus display (ui/dbus-clipboard.c): we serve
// org.qemu.Display1.Clipboard at /org/qemu/Display1/Clipboard on our bus connection
// and call Register on QEMU's object; from then on QEMU tells us when the guest (or
// another peer such as a qemu-vdagent) grabs the clipboard, and asks us for our text.
// Only text/plain;charset=utf-8 exists on this interface.
//
// QEMU serves one clipboard peer per VM (a second Register fails with "Clipboard peer
// already registered!"). The sidecar runs two servers beside one VM, so they register on
// demand: while a client that shares the clipboard is connected (hold()), retrying while the
// other server holds it, and unregistering when their last such client leaves.
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
  /** QEMU took us as the VM's clipboard peer (with `onDemand`, after waiting for another to leave). */
  registered: [];
  error: [message: string];
}

const introspection = `<node><interface name="${IFACE.clipboard}">
  <method name="Register"/><method name="Unregister"/>
  <method name="Grab"><arg type="u" name="selection"/><arg type="u" name="serial"/><arg type="as" name="mimes"/></method>
  <method name="Release"><arg type="u" name="selection"/></method>
  <method name="Request"><arg type="u" name="selection"/><arg type="as" name="mimes"/><arg type="s" direction="out"/><arg type="ay" direction="out"/></method>
  <property name="Interfaces" type="as" access="read"/>
</interface></node>`;

export interface ClipboardPeerOptions {
  /**
   * Register with QEMU only while something holds the peer ({@link ClipboardPeer.hold}),
   * instead of as soon as the VM is there.
   */
  onDemand?: boolean;
}

/** How often a held peer asks again while another peer has QEMU's clipboard. */
const REGISTER_RETRY_MS = 2000;

export class ClipboardPeer extends EventEmitter<ClipboardEvents> {
  /** Grab serial (QEMU accepts a client's grab when its serial ≥ the current one). */
  private serial = 0;
  private readonly ours = new Map<ClipboardSelection, Buffer>();
  private exportedOn: MessageBus | undefined;
  private unexport: (() => void) | undefined;
  private readonly onDemand: boolean;
  private holders = 0;
  /**
   * Where QEMU has us as its clipboard peer. QEMU keeps a peer until it unregisters or leaves
   * the bus, so this outlives a detach: re-attaching to the same QEMU (a listener registered
   * anew) must not Register again, which QEMU would refuse as "already registered".
   */
  private registration: { bus: MessageBus; owner: string } | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set once a failed registration was reported, so retries do not repeat it. */
  private reportedFailure = false;

  constructor(
    private readonly display: QemuDisplay,
    options: ClipboardPeerOptions = {},
  ) {
    super();
    this.onDemand = options.onDemand ?? false;
    display.on('attached', () => {
      if (this.wanted()) void this.register();
    });
    if (display.vm && this.wanted()) void this.register();
  }

  /**
   * Marks the clipboard as in use (by a client that shares it) until the returned function
   * is called. With `onDemand`, the first holder registers with QEMU and the last one's
   * release unregisters, letting another peer have the VM's clipboard.
   */
  hold(): () => void {
    this.holders++;
    if (this.onDemand && this.holders === 1 && this.display.vm) void this.register();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      if (this.onDemand && this.holders === 0) void this.unregister();
    };
  }

  /** Offers `text` to the guest as the content of `selection`. */
  async setText(text: string, selection = ClipboardSelection.Clipboard): Promise<void> {
    this.ours.set(selection, Buffer.from(text, 'utf8'));
    if (!this.isRegistered()) await this.register();
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
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
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

  private isRegistered(): boolean {
    const r = this.registration;
    return r !== undefined && r.bus === this.display.busConnection && r.owner === this.display.vm?.owner;
  }

  private wanted(): boolean {
    return !this.onDemand || this.holders > 0;
  }

  private async register(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.isRegistered()) {
      this.reportedFailure = false;
      return;
    }
    this.registration = undefined;
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
      this.registration = { bus, owner };
      if (!this.wanted()) {
        // Released while the call was on its way.
        await this.unregister();
        return;
      }
      this.reportedFailure = false;
      this.emit('registered');
      // What the guest copied before we registered: QEMU keeps it, but tells only the peer
      // that was registered then.
      if (this.onDemand) setImmediate(() => void this.fetch(ClipboardSelection.Clipboard, true));
    } catch (err) {
      const retry = this.onDemand && this.wanted() && this.display.vm !== undefined;
      if (!this.reportedFailure) {
        this.emit('error', `clipboard registration failed: ${(err as Error).message}${retry ? ` (asking again every ${REGISTER_RETRY_MS / 1000} s while a client shares the clipboard)` : ''}`);
      }
      if (retry) {
        this.reportedFailure = true;
        this.retryTimer = setTimeout(() => void this.register(), REGISTER_RETRY_MS).unref();
      }
    }
  }

  private async unregister(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const r = this.registration;
    if (!r) return;
    this.registration = undefined;
    try {
      // Where we registered, even while detached: that QEMU may still be there.
      await callMethod(r.bus, { destination: r.owner, path: CLIPBOARD_PATH, interface: IFACE.clipboard, member: 'Unregister' });
    } catch {
      // The VM or the bus went away: nothing is registered any more.
    }
  }

  private onGuestGrab(selection: number, serial: number, mimes: string[]): void {
    this.serial = Math.max(this.serial, serial);
    this.ours.delete(selection);
    if (!mimes.includes(MIME_TEXT_UTF8)) return;
    // Fetch after replying: QEMU is waiting for this Grab call to return.
    setImmediate(() => void this.fetch(selection));
  }

  /** Reads the guest's text of `selection`; `quiet`: an empty clipboard is no error. */
  private async fetch(selection: number, quiet = false): Promise<void> {
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
      if (!quiet) this.emit('error', `reading the guest clipboard failed: ${(err as Error).message}`);
    }
  }
}
