// Prometheus metrics of a remote-display server. The names are shared by qemu-vnc and
// qemu-rdp — one dashboard for both — and told apart by the `protocol` label; what the
// display itself receives from QEMU (updates, damage) carries no protocol.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QemuDisplay } from './display.js';

export type RemoteProtocol = 'vnc' | 'rdp';

/** Seconds: encoding a rectangle takes from ~10 µs (a solid tile) to ~100 ms (a JPEG screen). */
const ENCODE_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** One protocol's handles on the shared metrics, as a session uses them. */
export interface ProtocolMetrics {
  clientConnected(): void;
  clientDisconnected(): void;
  /** Protocol bytes written to a client (before TLS or WebSocket framing). */
  sent(bytes: number): void;
  /** One screen update (RFB FramebufferUpdate, RDP fast-path update) written to a client. */
  frameSent(): void;
  /** Time spent encoding with `encoding` (lower-case name: "zrle", "tight", "planar"…). */
  encoded(encoding: string, seconds: number): void;
  authFailed(): void;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly clients: Gauge<'protocol'>;
  private readonly bytesSent: Counter<'protocol'>;
  private readonly framesSent: Counter<'protocol'>;
  private readonly encodeSeconds: Histogram<'protocol' | 'encoding'>;
  private readonly authFailures: Counter<'protocol'>;

  /**
   * `display`: also export what QEMU sends (updates, damaged pixels, attached VM).
   * `processMetrics`: prom-client's default process_* and nodejs_* metrics (default true).
   */
  constructor(opts: { display?: QemuDisplay; processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.clients = new Gauge({ name: 'vdi_clients', help: 'Connected clients (past the handshake)', labelNames: ['protocol'], registers });
    this.bytesSent = new Counter({
      name: 'vdi_sent_bytes_total',
      help: 'Protocol bytes written to clients (before TLS or WebSocket framing)',
      labelNames: ['protocol'],
      registers,
    });
    this.framesSent = new Counter({ name: 'vdi_frames_sent_total', help: 'Screen updates written to clients', labelNames: ['protocol'], registers });
    this.encodeSeconds = new Histogram({
      name: 'vdi_encode_seconds',
      help: 'Time spent encoding screen rectangles, per update and encoding',
      labelNames: ['protocol', 'encoding'],
      buckets: ENCODE_BUCKETS,
      registers,
    });
    this.authFailures = new Counter({ name: 'vdi_auth_failures_total', help: 'Failed client authentications', labelNames: ['protocol'], registers });
    if (opts.display) this.watchDisplay(opts.display);
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The metrics of one protocol this process serves; its series start at 0 from here on. */
  for(protocol: RemoteProtocol): ProtocolMetrics {
    const labels = { protocol };
    // Present at 0 from the start, so rates and alerts have a series before the first event.
    this.clients.inc(labels, 0);
    this.bytesSent.inc(labels, 0);
    this.framesSent.inc(labels, 0);
    this.authFailures.inc(labels, 0);
    return {
      clientConnected: () => this.clients.inc(labels),
      clientDisconnected: () => this.clients.dec(labels),
      sent: (bytes) => this.bytesSent.inc(labels, bytes),
      frameSent: () => this.framesSent.inc(labels),
      encoded: (encoding, seconds) => this.encodeSeconds.observe({ protocol, encoding }, seconds),
      authFailed: () => this.authFailures.inc(labels),
    };
  }

  /** The text exposition format (what /metrics serves). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private watchDisplay(display: QemuDisplay): void {
    const registers = [this.registry];
    const stats = display.framebuffer.stats;
    // Counters mirrored from the framebuffer's own running totals at scrape time.
    const mirror = (name: string, help: string, read: () => number) => {
      let last = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const now = read();
          if (now > last) this.inc(now - last);
          last = now;
        },
      });
    };
    mirror('vdi_display_updates_total', 'Screen messages received from QEMU (Scanout, Update and their shared-memory forms)', () => stats.messages);
    mirror('vdi_display_received_bytes_total', 'Pixel bytes received from QEMU', () => stats.bytes);
    mirror('vdi_display_damaged_pixels_total', 'Pixels that really changed, after comparing each update with the previous frame', () => stats.damagedPixels);
    mirror('vdi_display_scrolls_total', 'Updates found to move a band of the screen, which clients that can copy get as a copy', () => stats.copies);
    new Gauge({
      name: 'vdi_vm_attached',
      help: '1 while a VM console is attached, else 0',
      registers,
      collect() {
        this.set(display.state === 'attached' ? 1 : 0);
      },
    });
  }
}
