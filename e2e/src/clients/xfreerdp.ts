// FreeRDP's xfreerdp (Debian 12: 2.11) in an Xvfb, connecting with TLS security to a server
// whose self-signed certificate it accepts (/cert:ignore). See X11Viewer for looking at it
// and typing into it.
import { Background } from './process.js';
import type { Xvfb } from './x11.js';
import { X11Viewer } from './x11-viewer.js';

export interface XFreeRdpOptions {
  /** `HOST:PORT` */
  server: string;
  username?: string;
  password?: string;
  /** Further parameters such as `/bpp:16`, `-compression`. */
  args?: string[];
  log?: string;
}

/**
 * Parameters every test client gets: TLS security (part 1 of the server has no NLA), accept
 * the self-signed certificate, no reconnection loops, no window decorations or grabs that a
 * window-manager-less Xvfb cannot honour, and no extra channels we do not serve.
 */
const TEST_DEFAULTS = ['/sec:tls', '/cert:ignore', '-decorations', '-grab-keyboard', '-clipboard', '/audio-mode:2', '/log-level:INFO'];

export class XFreeRdp extends X11Viewer {
  /** Starts xfreerdp; use {@link waitForWindow} before looking at it. */
  static start(x: Xvfb, options: XFreeRdpOptions): XFreeRdp {
    const credentials = [...(options.username ? [`/u:${options.username}`] : []), ...(options.password !== undefined ? [`/p:${options.password}`] : [])];
    const proc = new Background('xfreerdp', [...TEST_DEFAULTS, ...credentials, ...(options.args ?? []), `/v:${options.server}`], {
      env: x.env,
      log: options.log,
    });
    // Its window's title is "FreeRDP: HOST:PORT".
    return new XFreeRdp(proc, x, '^FreeRDP: ');
  }
}
