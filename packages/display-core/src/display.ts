// QemuDisplay: one VM's console on a D-Bus bus, kept attached across everything that
// can happen to it — the bus not there yet, QEMU not started yet, guest reboots, QEMU
// exiting and coming back, the bus daemon restarting — without our process restarting.
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import dbus, { type Message, type MessageBus } from 'dbus-next';
import { socketpair } from './dbus/socketpair.js';
import { callMethod, dbusErrorName, getAllProperties, sendMethod, unwrapDict } from './dbus/calls.js';
import { consolePath, IFACE, QEMU_BUS_NAME, VM_PATH } from './dbus/names.js';
import { serveListener } from './dbus/listener.js';
import { setSendBuffer } from './dbus/unix-socket.js';
import './dbus/usocket-close-guard.js';
import type { PeerLink } from './dbus/peer-link.js';
import { Framebuffer } from './framebuffer.js';
import { PLACEHOLDER_HEIGHT, PLACEHOLDER_WIDTH, renderPlaceholder } from './placeholder.js';

export interface VmInfo {
  /** Unique bus name of the QEMU process. */
  owner: string;
  name: string;
  uuid: string;
  consoleIds: number[];
  interfaces: string[];
}

export interface ConsoleInfo {
  id: number;
  label: string;
  head: number;
  type: string;
  width: number;
  height: number;
  deviceAddress: string;
  interfaces: string[];
}

export type DisplayState = 'connecting' | 'no-bus' | 'waiting-for-vm' | 'attached' | 'closed';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string) => void;

export interface QemuDisplayOptions {
  /** D-Bus address, e.g. `unix:path=/run/vdi/bus` or `unix:abstract=name`. */
  address: string;
  /** Console to attach to (default 0). */
  console?: number;
  /** Pick among several VMs on one bus by name or UUID (default: the primary owner). */
  vm?: string;
  /** Offer QEMU ≥ 9.2 the shared-memory listener (default true). */
  sharedMemory?: boolean;
  /** Delay between reconnection attempts to the bus, in ms (default 500). */
  retryMs?: number;
  /**
   * Fill the framebuffer with a picture saying what is missing while no VM is attached
   * (servers use this: their clients connect before the VM exists). Default false.
   */
  placeholder?: boolean;
  log?: Logger;
}

export interface QemuDisplayEvents {
  state: [state: DisplayState];
  attached: [vm: VmInfo, console: ConsoleInfo];
  detached: [reason: string];
  console: [console: ConsoleInfo];
  modifiers: [mask: number];
  absolute: [isAbsolute: boolean];
}

/** How long a listener may lag behind the console's size before it is registered again. */
const SIZE_CHECK_DELAY_MS = 2000;
/** What QEMU may have in flight on the listener link: a whole 1920x1080 frame, where the kernel allows. */
const LISTENER_SEND_BUFFER = 8 << 20;

export class DisplayError extends Error {
  constructor(
    readonly code: 'NO_BUS' | 'NO_VM' | 'NO_CONSOLE' | 'CLOSED',
    message: string,
  ) {
    super(message);
  }
}

interface Attachment {
  vm: VmInfo;
  console: ConsoleInfo;
  link: PeerLink;
  isAbsolute: boolean;
  modifiers: number;
  multiTouch: boolean;
}

export class QemuDisplay extends EventEmitter<QemuDisplayEvents> {
  readonly framebuffer = new Framebuffer();
  state: DisplayState = 'connecting';
  private bus: MessageBus | undefined;
  private attachment: Attachment | undefined;
  private attaching = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /**
   * While no VM is attached the bus is asked again now and then: a QEMU that queues for
   * `org.qemu` behind another one changes no owner, so no signal announces it.
   */
  private attachRetryTimer: NodeJS.Timeout | undefined;
  private sizeCheckTimer: NodeJS.Timeout | undefined;
  private lastBusError = '';
  /** Why the VM on the bus could not be attached (e.g. no such console), for timeouts. */
  private attachProblem: string | undefined;
  private lastPointer = { x: 0, y: 0 };
  private readonly consoleId: number;
  private readonly log: Logger;

  constructor(private readonly opts: QemuDisplayOptions) {
    super();
    this.consoleId = opts.console ?? 0;
    this.log = opts.log ?? (() => undefined);
    this.framebuffer.on('error', (message) => this.log('error', message));
    this.framebuffer.on('scanout', (w, h, transport) => this.log('debug', `scanout ${w}x${h} (${transport})`));
  }

  /** Starts connecting; never throws: progress is reported through `state`. */
  start(): this {
    if (this.opts.placeholder) void this.drawPlaceholder(this.state);
    void this.connectBus();
    return this;
  }

  get vm(): VmInfo | undefined {
    return this.attachment?.vm;
  }

  get console(): ConsoleInfo | undefined {
    return this.attachment?.console;
  }

  get isAbsolute(): boolean {
    return this.attachment?.isAbsolute ?? false;
  }

  get modifiers(): number {
    return this.attachment?.modifiers ?? 0;
  }

  get multiTouch(): boolean {
    return this.attachment?.multiTouch ?? false;
  }

  /**
   * Resolves once a VM is attached and its screen has settled: QEMU's first scanout to a
   * new listener can be a stale surface (the console is only refreshed while someone
   * listens), replaced within a display refresh or two — so no new scanout may arrive for
   * `settleMs`. Rejects after `timeoutMs` with a DisplayError that says what was missing.
   */
  async waitForScreen(timeoutMs: number, settleMs = 150): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let scanouts = 0;
    const count = () => scanouts++;
    this.framebuffer.on('scanout', count);
    try {
      for (;;) {
        await this.waitForFrame(Math.max(1, deadline - Date.now()), timeoutMs);
        const seen = scanouts;
        await new Promise((r) => setTimeout(r, settleMs));
        if (scanouts === seen && this.state === 'attached' && this.framebuffer.hasFrame) return;
        if (Date.now() >= deadline) return;
      }
    } finally {
      this.framebuffer.off('scanout', count);
    }
  }

  private waitForFrame(waitMs: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.state === 'attached' && this.framebuffer.hasFrame) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.timeoutError(timeoutMs));
      }, waitMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('state', check);
        this.framebuffer.off('scanout', check);
      };
      this.on('state', check);
      this.framebuffer.on('scanout', check);
      check();
    });
  }

  /** Lists every VM on the bus (several QEMUs may queue for `org.qemu`). */
  async listVms(): Promise<VmInfo[]> {
    const bus = this.requireBus();
    let owners: string[] = [];
    try {
      [owners] = (await callMethod(bus, {
        destination: IFACE.busDriver,
        path: '/org/freedesktop/DBus',
        interface: IFACE.busDriver,
        member: 'ListQueuedOwners',
        signature: 's',
        body: [QEMU_BUS_NAME],
      })) as [string[]];
    } catch (err) {
      if (dbusErrorName(err) === 'org.freedesktop.DBus.Error.NameHasNoOwner') return [];
      throw err;
    }
    const vms: VmInfo[] = [];
    for (const owner of owners) {
      try {
        const p = await getAllProperties(bus, owner, VM_PATH, IFACE.vm);
        vms.push({
          owner,
          name: String(p.Name ?? ''),
          uuid: String(p.UUID ?? ''),
          consoleIds: ((p.ConsoleIDs as number[] | undefined) ?? []).map(Number),
          interfaces: (p.Interfaces as string[] | undefined) ?? [],
        });
      } catch (err) {
        this.log('debug', `skipping ${owner}: ${(err as Error).message}`);
      }
    }
    return vms;
  }

  /** Properties of every console of the attached VM. */
  async listConsoles(): Promise<ConsoleInfo[]> {
    const a = this.requireAttachment();
    const bus = this.requireBus();
    const out: ConsoleInfo[] = [];
    for (const id of a.vm.consoleIds) out.push(await readConsole(bus, a.vm.owner, id));
    return out;
  }

  // ---- input ------------------------------------------------------------------------

  /** Presses (down=true) or releases a key given as a QEMU qnum; false when no VM. */
  key(qnum: number, down: boolean): boolean {
    return this.sendInput(IFACE.keyboard, down ? 'Press' : 'Release', 'u', [qnum]);
  }

  mouseButton(button: number, down: boolean): boolean {
    return this.sendInput(IFACE.mouse, down ? 'Press' : 'Release', 'u', [button]);
  }

  /**
   * Moves the pointer to (x, y) in framebuffer pixels. A guest with an absolute device
   * (USB tablet) gets the position; a relative-only one gets the motion since last time.
   */
  pointerTo(x: number, y: number): boolean {
    const prev = this.lastPointer;
    this.lastPointer = { x, y };
    if (this.isAbsolute) {
      return this.sendInput(IFACE.mouse, 'SetAbsPosition', 'uu', [Math.max(0, x), Math.max(0, y)]);
    }
    const dx = x - prev.x;
    const dy = y - prev.y;
    return dx === 0 && dy === 0 ? true : this.sendInput(IFACE.mouse, 'RelMotion', 'ii', [dx, dy]);
  }

  relativeMotion(dx: number, dy: number): boolean {
    return this.sendInput(IFACE.mouse, 'RelMotion', 'ii', [dx, dy]);
  }

  /** MultiTouch.SendEvent (QEMU ≥ 8.1); kind: 0 begin, 1 update, 2 end, 3 cancel. */
  touch(kind: number, slot: number, x: number, y: number): boolean {
    if (!this.multiTouch) return false;
    return this.sendInput(IFACE.multiTouch, 'SendEvent', 'utdd', [kind, BigInt(slot), x, y]);
  }

  /** Asks the guest for a display size (honoured by guests whose GPU supports it). */
  async setUIInfo(width: number, height: number, widthMm = 0, heightMm = 0, xOff = 0, yOff = 0): Promise<void> {
    const a = this.requireAttachment();
    await callMethod(this.requireBus(), {
      destination: a.vm.owner,
      path: consolePath(a.console.id),
      interface: IFACE.console,
      member: 'SetUIInfo',
      signature: 'qqiiuu',
      body: [widthMm, heightMm, xOff, yOff, width, height],
    });
  }

  /**
   * Drops the listener and registers a new one with the same VM (what the display does by
   * itself when its listener falls out of step with the console).
   */
  reattach(reason: string): void {
    this.detach(reason);
  }

  /** The bus connection, for library parts that talk to other QEMU objects (clipboard, audio). */
  get busConnection(): MessageBus | undefined {
    return this.bus;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.attachRetryTimer);
    clearTimeout(this.sizeCheckTimer);
    this.detach('closed');
    this.bus?.disconnect();
    this.bus = undefined;
    this.setState('closed');
  }

  // ---- connection management -------------------------------------------------------

  private async connectBus(): Promise<void> {
    if (this.closed) return;
    let bus: MessageBus;
    try {
      bus = dbus.sessionBus({ busAddress: this.opts.address, negotiateUnixFd: true } as never);
    } catch (err) {
      this.busFailed(err as Error);
      return;
    }
    const connected = await new Promise<boolean>((resolve) => {
      bus.once('connect', () => resolve(true));
      bus.once('error', (err: Error) => {
        this.lastBusError = err.message;
        resolve(false);
      });
    });
    if (!connected) {
      this.busFailed(new Error(this.lastBusError));
      return;
    }
    this.bus = bus;
    bus.on('error', (err: Error) => this.busLost(bus, err.message));
    // MessageBus reports no event when the daemon goes away; its connection does.
    (bus as unknown as { _connection: EventEmitter })._connection.on('end', () => this.busLost(bus, 'bus closed'));
    bus.on('message', (msg: Message) => this.onBusMessage(msg));
    try {
      for (const rule of [
        `type='signal',sender='${IFACE.busDriver}',member='NameOwnerChanged'`,
        `type='signal',interface='${IFACE.properties}',member='PropertiesChanged',path_namespace='/org/qemu/Display1'`,
      ]) {
        await callMethod(bus, {
          destination: IFACE.busDriver,
          path: '/org/freedesktop/DBus',
          interface: IFACE.busDriver,
          member: 'AddMatch',
          signature: 's',
          body: [rule],
        });
      }
    } catch (err) {
      this.busLost(bus, (err as Error).message);
      return;
    }
    this.log('info', `connected to ${this.opts.address}`);
    this.setState('waiting-for-vm');
    void this.tryAttach();
  }

  private busFailed(err: Error): void {
    this.lastBusError = err.message;
    if (this.state !== 'no-bus') this.log('warn', `cannot connect to ${this.opts.address}: ${err.message}`);
    this.setState('no-bus');
    this.scheduleReconnect();
  }

  private busLost(bus: MessageBus, reason: string): void {
    if (this.bus !== bus) return;
    this.log('warn', `lost the bus: ${reason}`);
    this.bus = undefined;
    this.detach(`bus lost: ${reason}`);
    try {
      bus.disconnect();
    } catch {
      // already gone
    }
    this.lastBusError = reason;
    this.setState('no-bus');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connectBus(), this.opts.retryMs ?? 500);
  }

  private onBusMessage(msg: Message): void {
    if (msg.type !== 4 /* SIGNAL */) return;
    const body = (msg.body ?? []) as unknown[];
    if (msg.member === 'NameOwnerChanged' && msg.interface === IFACE.busDriver) {
      const [name, , newOwner] = body as [string, string, string];
      if (name === QEMU_BUS_NAME && !this.attachment) void this.tryAttach();
      if (this.attachment && name === this.attachment.vm.owner && newOwner === '') this.detach('QEMU left the bus');
      return;
    }
    if (msg.member === 'PropertiesChanged' && this.attachment && msg.sender === this.attachment.vm.owner) {
      const [iface, changed] = body as [string, Record<string, unknown>];
      this.onPropertiesChanged(msg.path ?? '', iface, unwrapDict(changed));
    }
  }

  private onPropertiesChanged(path: string, iface: string, changed: Record<string, unknown>): void {
    const a = this.attachment;
    if (!a || path !== consolePath(a.console.id)) return;
    if (iface === IFACE.console) {
      if (changed.Width !== undefined) a.console.width = Number(changed.Width);
      if (changed.Height !== undefined) a.console.height = Number(changed.Height);
      if (changed.Label !== undefined) a.console.label = String(changed.Label);
      this.emit('console', a.console);
      this.checkSizeSoon();
    } else if (iface === IFACE.keyboard && changed.Modifiers !== undefined) {
      a.modifiers = Number(changed.Modifiers);
      this.emit('modifiers', a.modifiers);
    } else if (iface === IFACE.mouse && changed.IsAbsolute !== undefined) {
      a.isAbsolute = Boolean(changed.IsAbsolute);
      this.emit('absolute', a.isAbsolute);
    }
  }

  private async tryAttach(): Promise<void> {
    const bus = this.bus;
    if (!bus || this.attachment || this.attaching || this.closed) return;
    this.attaching = true;
    try {
      const vms = await this.listVms();
      const want = this.opts.vm;
      const vm = want ? vms.find((v) => v.name === want || v.uuid === want) : vms[0];
      if (!vm) return;
      if (!vm.consoleIds.includes(this.consoleId)) {
        this.attachProblem = `VM "${vm.name || vm.uuid}" has no console ${this.consoleId} (it has ${vm.consoleIds.join(', ')})`;
        this.log('warn', this.attachProblem);
        return;
      }
      this.attachProblem = undefined;
      await this.attach(bus, vm);
    } catch (err) {
      this.log('warn', `attaching to the VM failed: ${(err as Error).message}`);
    } finally {
      this.attaching = false;
      clearTimeout(this.attachRetryTimer);
      if (!this.attachment && !this.closed && this.bus === bus) {
        this.attachRetryTimer = setTimeout(() => void this.tryAttach(), this.opts.retryMs ?? 500);
      }
    }
  }

  private async attach(bus: MessageBus, vm: VmInfo): Promise<void> {
    const path = consolePath(this.consoleId);
    const console = await readConsole(bus, vm.owner, this.consoleId);
    const keyboard = await getAllProperties(bus, vm.owner, path, IFACE.keyboard).catch(() => ({}) as Record<string, unknown>);
    const mouse = await getAllProperties(bus, vm.owner, path, IFACE.mouse).catch(() => ({}) as Record<string, unknown>);
    const multiTouch = await getAllProperties(bus, vm.owner, path, IFACE.multiTouch).then(
      () => true,
      () => false,
    );

    const [ours, theirs] = socketpair();
    // QEMU < 9.2 (and 10 for VGA memory) sends each frame inline: 8 MB at 1920x1080. Through
    // the default 208 KB in flight that is some 40 turns of QEMU waiting for our reads.
    setSendBuffer(theirs, LISTENER_SEND_BUFFER);
    // Exported and authenticating before the call returns: QEMU blocks on our GetAll.
    // A console that lists no interfaces is from a QEMU older than the shared-memory listener (9.2).
    const sharedMemory = (this.opts.sharedMemory ?? true) && console.interfaces.length > 0;
    const { link, ready } = serveListener(ours, this.framebuffer, { sharedMemory });
    try {
      await callMethod(bus, {
        destination: vm.owner,
        path,
        interface: IFACE.console,
        member: 'RegisterListener',
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
    if (this.bus !== bus || this.closed) {
      link.close();
      return;
    }
    this.attachment = {
      vm,
      console,
      link,
      isAbsolute: Boolean(mouse.IsAbsolute),
      modifiers: Number(keyboard.Modifiers ?? 0),
      multiTouch,
    };
    void link.closed.then((err) => {
      if (this.attachment?.link === link) this.detach(err ? `listener link failed: ${err.message}` : 'QEMU closed the listener');
    });
    this.log('info', `attached to VM "${vm.name}" (${vm.uuid}) console ${console.id} ${console.width}x${console.height}`);
    this.setState('attached');
    this.emit('attached', vm, console);
  }

  /**
   * The console's Width/Height properties and our listener's scanouts come from the same
   * surface switch. Seen under load on QEMU 10: the properties moved on while our listener
   * kept its first (stale) surface and no further scanout came. Rather than show a wrong
   * screen for ever, a listener still out of step a moment later is registered anew.
   */
  private checkSizeSoon(): void {
    clearTimeout(this.sizeCheckTimer);
    this.sizeCheckTimer = setTimeout(() => {
      const a = this.attachment;
      const fb = this.framebuffer;
      if (!a || (fb.width === a.console.width && fb.height === a.console.height)) return;
      this.log('warn', `the screen is ${fb.width}x${fb.height} but the console is ${a.console.width}x${a.console.height}: registering the listener again`);
      this.reattach('listener out of step with the console');
    }, SIZE_CHECK_DELAY_MS);
    this.sizeCheckTimer.unref();
  }

  private detach(reason: string): void {
    const a = this.attachment;
    if (!a) return;
    this.attachment = undefined;
    a.link.close();
    this.framebuffer.reset();
    this.log('info', `detached from VM "${a.vm.name}": ${reason}`);
    this.emit('detached', reason);
    if (this.bus && !this.closed) {
      this.setState('waiting-for-vm');
      // Another queued QEMU may own the name already.
      void this.tryAttach();
    }
  }

  private sendInput(iface: string, member: string, signature: string, body: unknown[]): boolean {
    const a = this.attachment;
    if (!a || !this.bus) return false;
    sendMethod(this.bus, { destination: a.vm.owner, path: consolePath(a.console.id), interface: iface, member, signature, body });
    return true;
  }

  private setState(state: DisplayState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
    if (this.opts.placeholder && state !== 'attached' && state !== 'closed') void this.drawPlaceholder(state);
  }

  private async drawPlaceholder(state: DisplayState): Promise<void> {
    const detail =
      state === 'no-bus' || state === 'connecting'
        ? `No D-Bus display bus at ${this.opts.address} yet.`
        : `Waiting for QEMU${this.opts.vm ? ` (VM "${this.opts.vm}")` : ''} to join the display bus.`;
    const pixels = await renderPlaceholder(['The virtual machine is not running', detail, 'This screen updates by itself when it starts.']);
    // The VM may have arrived while the picture was being drawn.
    if (this.state === state) this.framebuffer.showPlaceholder(pixels, PLACEHOLDER_WIDTH, PLACEHOLDER_HEIGHT);
  }

  private requireBus(): MessageBus {
    if (!this.bus) throw new DisplayError('NO_BUS', `not connected to ${this.opts.address}${this.lastBusError ? `: ${this.lastBusError}` : ''}`);
    return this.bus;
  }

  private requireAttachment(): Attachment {
    if (!this.attachment) throw new DisplayError('NO_VM', 'no VM attached');
    return this.attachment;
  }

  private timeoutError(timeoutMs: number): DisplayError {
    const s = `${timeoutMs / 1000} s`;
    switch (this.state) {
      case 'no-bus':
      case 'connecting':
        return new DisplayError('NO_BUS', `no D-Bus bus at ${this.opts.address} within ${s}${this.lastBusError ? ` (${this.lastBusError})` : ''}`);
      case 'waiting-for-vm':
        if (this.attachProblem) return new DisplayError('NO_CONSOLE', this.attachProblem);
        return new DisplayError('NO_VM', `no VM${this.opts.vm ? ` "${this.opts.vm}"` : ''} with console ${this.consoleId} appeared on ${this.opts.address} within ${s}`);
      default:
        return new DisplayError('NO_VM', `the VM sent no screen within ${s}`);
    }
  }
}

async function readConsole(bus: MessageBus, owner: string, id: number): Promise<ConsoleInfo> {
  const p = await getAllProperties(bus, owner, consolePath(id), IFACE.console);
  return {
    id,
    label: String(p.Label ?? ''),
    head: Number(p.Head ?? 0),
    type: String(p.Type ?? ''),
    width: Number(p.Width ?? 0),
    height: Number(p.Height ?? 0),
    deviceAddress: String(p.DeviceAddress ?? ''),
    interfaces: (p.Interfaces as string[] | undefined) ?? [],
  };
}
