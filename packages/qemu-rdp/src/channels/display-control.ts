// The Display Control dynamic channel (MS-RDPEDISP): the client's window size becomes a size
// request to the guest. On open the server sends its capabilities (one monitor: we serve one
// console); each monitor layout the client sends then names a primary monitor, whose size is
// passed to QEMU as org.qemu.Display1.Console.SetUIInfo. A guest whose GPU takes such requests
// (virtio-vga) makes it its preferred mode; when it switches, the framebuffer's new size
// reaches the client through the session's deactivation-reactivation, as any mode change does.
import { RdpProtocolError } from '../pdu/errors.js';
import { decodeMonitorLayoutPdu, DISPLAY_CONTROL_CHANNEL_NAME, encodeDisplayControlCaps, MAX_MONITOR_DIMENSION, type MonitorLayout } from '../pdu/display-control.js';
import type { DynamicChannel, DynamicChannelContext, DynamicChannelType } from './drdynvc.js';

/** A window being dragged sends a layout per step: the last one is applied after this quiet time. */
export const DISPLAY_CONTROL_DEBOUNCE_MS = 200;

export interface DisplayControlOptions {
  /** Quiet time before a layout is applied; default {@link DISPLAY_CONTROL_DEBOUNCE_MS}. */
  debounceMs?: number;
}

/** What is asked of the guest: SetUIInfo's size and physical size (0: unknown). */
interface SizeRequest {
  width: number;
  height: number;
  widthMm: number;
  heightMm: number;
}

export function displayControlChannel(options: DisplayControlOptions = {}): DynamicChannelType {
  const debounceMs = options.debounceMs ?? DISPLAY_CONTROL_DEBOUNCE_MS;
  return {
    name: DISPLAY_CONTROL_CHANNEL_NAME,
    create: (context) => new DisplayControlChannel(context, debounceMs),
  };
}

/** The channel as served to clients. */
export const DISPLAY_CONTROL_CHANNEL: DynamicChannelType = displayControlChannel();

class DisplayControlChannel implements DynamicChannel {
  private pending: SizeRequest | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The last request QEMU accepted, so that a repeated layout asks nothing again. */
  private applied: SizeRequest | undefined;
  private closed = false;

  constructor(
    private readonly context: DynamicChannelContext,
    private readonly debounceMs: number,
  ) {}

  onOpen(): void {
    // One monitor, of at most 8192x8192 (the largest Width and Height of a layout).
    this.context.send(encodeDisplayControlCaps({ maxNumMonitors: 1, maxMonitorAreaFactorA: MAX_MONITOR_DIMENSION, maxMonitorAreaFactorB: MAX_MONITOR_DIMENSION }));
    this.context.log('debug', `open: capabilities sent (1 monitor, up to ${MAX_MONITOR_DIMENSION}x${MAX_MONITOR_DIMENSION})`);
  }

  onMessage(message: Buffer): void {
    let monitors: MonitorLayout[];
    try {
      monitors = decodeMonitorLayoutPdu(message);
    } catch (err) {
      // A well-formed PDU with a layout the specification forbids is not applied (3.1.5.2);
      // a malformed one is a protocol error like any other.
      if (err instanceof RdpProtocolError && err.code === 'RDP_ERR_BAD_VALUE') {
        this.context.log('warn', `layout ignored: ${err.message}`);
        return;
      }
      throw err;
    }
    const primary = monitors.find((m) => m.primary)!;
    if (monitors.length > 1) this.context.log('debug', `${monitors.length} monitors in the layout: only the primary one is used`);
    this.pending = { width: primary.width, height: primary.height, widthMm: primary.physicalWidth ?? 0, heightMm: primary.physicalHeight ?? 0 };
    this.context.log('debug', `layout ${primary.width}x${primary.height}`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.apply(), this.debounceMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private apply(): void {
    this.timer = undefined;
    const request = this.pending;
    this.pending = undefined;
    if (this.closed || !request) return;
    const last = this.applied;
    if (last && last.width === request.width && last.height === request.height && last.widthMm === request.widthMm && last.heightMm === request.heightMm) return;
    this.applied = request;
    this.context.log('info', `asking the guest for ${request.width}x${request.height}`);
    let call: Promise<void>;
    try {
      call = this.context.display.setUIInfo(request.width, request.height, request.widthMm, request.heightMm, 0, 0);
    } catch (err) {
      call = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    call.then(
      () => undefined,
      (err: unknown) => {
        // No VM yet, or a display that takes no size requests (std VGA): nothing to undo.
        if (this.applied === request) this.applied = undefined;
        if (!this.closed) this.context.log('info', `the guest's display did not take ${request.width}x${request.height}: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }
}
