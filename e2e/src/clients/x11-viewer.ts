// A viewer program in an Xvfb (TigerVNC, xfreerdp): what its window shows (cropped from the
// root window) and keys typed and clicks made into it with xdotool (XTEST, as real input would).
import { cropImage, type Image } from '../images.js';
import { waitFor } from '../wait.js';
import type { Background, RunResult } from './process.js';
import type { WindowGeometry, Xvfb } from './x11.js';

export class X11Viewer {
  constructor(
    readonly proc: Background,
    readonly x: Xvfb,
    /** xdotool --name pattern of the viewer's top-level window once it shows the desktop. */
    private readonly windowTitle: string,
  ) {}

  /** The viewer's top-level window once it shows the desktop. */
  async waitForWindow(timeoutMs = 20_000): Promise<WindowGeometry> {
    return waitFor(
      async () => {
        if (this.proc.exitResult) throw new Error(`${this.proc.command} exited (code ${this.proc.exitResult.code}): ${this.proc.output.slice(-2000)}`);
        const ids = await this.x.findWindows(this.windowTitle);
        if (ids.length === 0) return undefined;
        return this.x.geometry(ids[ids.length - 1]);
      },
      { message: () => `${this.proc.command}'s window; its output:\n${this.proc.output.slice(-2000)}`, timeoutMs, intervalMs: 200 },
    );
  }

  /** Waits until the viewer's window is `width`×`height` (it follows the remote desktop's size). */
  async waitForSize(width: number, height: number, timeoutMs = 20_000): Promise<WindowGeometry> {
    return waitFor(
      async () => {
        const win = await this.waitForWindow();
        return win.width === width && win.height === height ? win : undefined;
      },
      { message: () => `${this.proc.command}'s window to be ${width}x${height}`, timeoutMs, intervalMs: 250 },
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

  /** Moves the X pointer to (x, y) of the remote desktop (the window's top-left is 0, 0). */
  async pointerTo(x: number, y: number): Promise<void> {
    const win = await this.waitForWindow();
    await this.x.xdotool(['mousemove', '--sync', String(win.x + x), String(win.y + y)]);
  }

  /** Clicks X button `button` (1 left, 2 middle, 3 right, 4/5 wheel) where the pointer is. */
  async click(button = 1): Promise<void> {
    await this.x.xdotool(['click', String(button)]);
  }

  get output(): string {
    return this.proc.output;
  }

  stop(): Promise<RunResult> {
    return this.proc.stop('SIGTERM');
  }
}
