// FreeRDP's xfreerdp (Debian 12: 2.11) in an Xvfb, connecting (TLS security unless told
// otherwise) to a server whose self-signed certificate it accepts (/cert:ignore). See X11Viewer for looking at it
// and typing into it.
import { Background } from './process.js';
import type { Xvfb } from './x11.js';
import { X11Viewer } from './x11-viewer.js';

export interface XFreeRdpOptions {
  /** `HOST:PORT` */
  server: string;
  username?: string;
  password?: string;
  /** `/sec:…` to force (default tls); null: none, FreeRDP's own negotiation (NLA, then TLS). */
  security?: 'tls' | 'nla' | null;
  /** Share the clipboard (`+clipboard`, the cliprdr channel); default off (`-clipboard`). */
  clipboard?: boolean;
  /** Further parameters such as `/bpp:16`. */
  args?: string[];
  log?: string;
}

/**
 * Parameters every test client gets: accept the self-signed certificate, no window
 * decorations or grabs that a window-manager-less Xvfb cannot honour, and no extra channels
 * we do not serve (the clipboard only when asked for).
 */
const TEST_DEFAULTS = ['/cert:ignore', '-decorations', '-grab-keyboard', '/audio-mode:2', '/log-level:INFO'];

export class XFreeRdp extends X11Viewer {
  /** Starts xfreerdp; use {@link waitForWindow} before looking at it. */
  static start(x: Xvfb, options: XFreeRdpOptions): XFreeRdp {
    const credentials = [...(options.username ? [`/u:${options.username}`] : []), ...(options.password !== undefined ? [`/p:${options.password}`] : [])];
    const security = options.security === undefined ? ['/sec:tls'] : options.security === null ? [] : [`/sec:${options.security}`];
    const clipboard = options.clipboard ? '+clipboard' : '-clipboard';
    const proc = new Background('xfreerdp', [...TEST_DEFAULTS, clipboard, ...security, ...credentials, ...(options.args ?? []), `/v:${options.server}`], {
      env: x.env,
      log: options.log,
    });
    // Its window's title is "FreeRDP: HOST:PORT".
    return new XFreeRdp(proc, x, '^FreeRDP: ');
  }
}
