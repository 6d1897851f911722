// TigerVNC's vncviewer in an Xvfb (see X11Viewer for looking at it and typing into it).
import { Background } from './process.js';
import type { Xvfb } from './x11.js';
import { X11Viewer } from './x11-viewer.js';

export interface TigerVncOptions {
  /** `HOST::PORT` */
  server: string;
  /** Parameters such as `-PreferredEncoding=zrle`, `-passwd FILE`. */
  args?: string[];
  log?: string;
}

/**
 * Parameters every test viewer gets: exit instead of asking (dialogs would hang a test),
 * share the desktop with other test clients, never resize the guest, no F8 menu.
 */
const TEST_DEFAULTS = [
  '-ReconnectOnError=0',
  '-AlertOnFatalError=0',
  '-Shared=1',
  '-RemoteResize=0',
  '-MenuKey=',
  '-Log=*:stderr:30',
];

export class TigerVncViewer extends X11Viewer {
  /** Starts vncviewer; use {@link waitForWindow} before looking at it. */
  static start(x: Xvfb, options: TigerVncOptions): TigerVncViewer {
    const proc = new Background('vncviewer', [...TEST_DEFAULTS, ...(options.args ?? []), options.server], {
      env: x.env,
      log: options.log,
    });
    // Its title is "… - TigerVNC" once it shows the desktop.
    return new TigerVncViewer(proc, x, 'TigerVNC$');
  }
}
