// TigerVNC's vncviewer in an Xvfb: what its window shows (cropped from the root window)
// and keys typed into it with xdotool (XTEST, as a real keyboard would).
import { cropImage, type Image } from '../images.js';
import { waitFor } from '../wait.js';
import { Background, type RunResult } from './process.js';
import type { WindowGeometry, Xvfb } from './x11.js';

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

export class TigerVncViewer {
  private constructor(
    readonly proc: Background,
    readonly x: Xvfb,
  ) {}

  /** Starts vncviewer; use {@link waitForWindow} before looking at it. */
  static start(x: Xvfb, options: TigerVncOptions): TigerVncViewer {
    const proc = new Background('vncviewer', [...TEST_DEFAULTS, ...(options.args ?? []), options.server], {
      env: x.env,
      log: options.log,
    });
    return new TigerVncViewer(proc, x);
  }

  /** The viewer's top-level window once it shows the desktop (title "… - TigerVNC"). */
  async waitForWindow(timeoutMs = 20_000): Promise<WindowGeometry> {
    return waitFor(
      async () => {
        if (this.proc.exitResult) throw new Error(`vncviewer exited (code ${this.proc.exitResult.code}): ${this.proc.output.slice(-2000)}`);
        const ids = await this.x.findWindows('TigerVNC$');
        if (ids.length === 0) return undefined;
        return this.x.geometry(ids[ids.length - 1]);
      },
      { message: () => `vncviewer's window; its output:\n${this.proc.output.slice(-2000)}`, timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * What the viewer shows of the remote desktop: the root window cropped to the viewer
   * window's area, which (no window manager, the desktop fits the screen) is the desktop
   * at 1:1. `size` crops further to the desktop's size if the window is larger.
   */
  async picture(size?: { width: number; height: number }): Promise<Image> {
    const win = await this.waitForWindow();
    const root = await this.x.captureRoot();
    return cropImage(root, {
      x: win.x,
      y: win.y,
      width: Math.min(win.width, size?.width ?? win.width),
      height: Math.min(win.height, size?.height ?? win.height),
    });
  }

  /** Gives the viewer keyboard focus and puts the pointer over it. */
  async focus(): Promise<void> {
    const win = await this.waitForWindow();
    await this.x.xdotool(['mousemove', '--sync', String(win.x + 5), String(win.y + 5)]);
    await this.x.xdotool(['windowfocus', '--sync', win.id]);
  }

  /** Types `text` on the X keyboard (xdotool type, XTEST) into the focused viewer. */
  async type(text: string, delayMs = 40): Promise<void> {
    await this.x.xdotool(['type', '--delay', String(delayMs), '--', text], 60_000);
  }

  /** Presses and releases keys by X keysym name (`BackSpace`, `Return`, `ctrl+u`). */
  async key(...names: string[]): Promise<void> {
    await this.x.xdotool(['key', '--delay', '40', ...names]);
  }

  get output(): string {
    return this.proc.output;
  }

  stop(): Promise<RunResult> {
    return this.proc.stop('SIGTERM');
  }
}
