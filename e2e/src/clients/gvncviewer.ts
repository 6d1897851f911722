// gtk-vnc's gvncviewer in an Xvfb: a client that stays connected (gvnccapture is one-shot).
// Its window is a menu bar above the VNC widget; gtk-vnc scales the desktop to the widget,
// so the window is sized to the desktop (1:1) before its picture is taken.
import { cropImage, type Image } from '../images.js';
import { waitFor } from '../wait.js';
import { Background, type RunResult } from './process.js';
import type { WindowGeometry, Xvfb } from './x11.js';

export class GvncViewer {
  /** Height of the menu bar above the desktop, learnt from the first picture. */
  private menuHeight: number | undefined;

  private constructor(
    readonly proc: Background,
    readonly x: Xvfb,
  ) {}

  /** Starts `gvncviewer HOST:DISPLAY`. */
  static start(x: Xvfb, host: string, display: number, log?: string): GvncViewer {
    return new GvncViewer(new Background('gvncviewer', [`${host}:${display}`], { env: x.env, log }), x);
  }

  async waitForWindow(timeoutMs = 20_000): Promise<WindowGeometry> {
    return waitFor(
      async () => {
        if (this.proc.exitResult) throw new Error(`gvncviewer exited (code ${this.proc.exitResult.code}): ${this.proc.output.slice(-2000)}`);
        const ids = await this.x.findWindows('GVncViewer$');
        return ids.length ? this.x.geometry(ids[ids.length - 1]) : undefined;
      },
      { message: () => `gvncviewer's window; its output:\n${this.proc.output.slice(-2000)}`, timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * What gvncviewer shows of a `width`x`height` desktop. The first call learns the menu
   * bar's height (the window starts out as wide as the desktop, the widget below the menu);
   * later calls first resize the window so the widget is exactly the desktop's size.
   */
  async picture(width: number, height: number): Promise<Image> {
    let win = await this.waitForWindow();
    if (this.menuHeight === undefined) {
      if (win.width !== width) throw new Error(`gvncviewer's window is ${win.width} wide, not the desktop's ${width}`);
      this.menuHeight = win.height - height;
    }
    if (win.width !== width || win.height !== height + this.menuHeight) {
      await this.x.xdotool(['windowsize', '--sync', win.id, String(width), String(height + this.menuHeight)]);
      win = await this.waitForWindow();
    }
    const root = await this.x.captureRoot();
    return cropImage(root, { x: win.x, y: win.y + this.menuHeight, width, height });
  }

  get output(): string {
    return this.proc.output;
  }

  stop(): Promise<RunResult> {
    return this.proc.stop('SIGTERM');
  }
}
