// qemu-vnc's web console (its --http page) in Debian's Chromium, driven by playwright-core
// as a person would use it: what it shows (the canvas, the status line, the password
// prompt, the Clipboard panel) and what it is given (keys pressed on the keyboard, the
// mouse moved and clicked over the canvas, buttons clicked, text pasted into the panel).
import type { BrowserContext, Page } from 'playwright-core';
import type { Image } from '../images.js';
import { waitFor } from '../wait.js';
import { launchChromium } from './novnc.js';

/** Playwright key names for the characters typed by {@link WebConsoleBrowser.typeKeys}: US keys, Shift where a person holds it. */
function keyFor(ch: string): string {
  if (/^[a-z]$/.test(ch)) return `Key${ch.toUpperCase()}`;
  if (/^[A-Z]$/.test(ch)) return `Shift+Key${ch}`;
  if (/^[0-9]$/.test(ch)) return `Digit${ch}`;
  const named: Record<string, string> = {
    ' ': 'Space',
    '\n': 'Enter',
    '-': 'Minus',
    _: 'Shift+Minus',
    '=': 'Equal',
    '+': 'Shift+Equal',
    '.': 'Period',
    ',': 'Comma',
    '/': 'Slash',
    ':': 'Shift+Semicolon',
    ';': 'Semicolon',
    "'": 'Quote',
    '"': 'Shift+Quote',
    '!': 'Shift+Digit1',
    '@': 'Shift+Digit2',
  };
  const key = named[ch];
  if (!key) throw new Error(`typeKeys has no key for ${JSON.stringify(ch)}`);
  return key;
}

export interface ConsoleStatus {
  /** data-state: connecting, connected, reconnecting, password, failed. */
  state: string;
  text: string;
}

export class WebConsoleBrowser {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly dispose: () => Promise<void>,
    readonly consoleLines: string[],
    /** Every URL the page requested. */
    readonly requests: string[],
  ) {}

  /** Launches Chromium (fresh profile, 1280x1000 window) and loads the console page at `url`. */
  static async open(url: string): Promise<WebConsoleBrowser> {
    const { context, page, consoleLines, dispose } = await launchChromium();
    try {
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(url);
      return new WebConsoleBrowser(context, page, dispose, consoleLines, requests);
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  /** The status line. */
  status(): Promise<ConsoleStatus> {
    return this.page.evaluate(`(() => { const s = document.getElementById('status'); return { state: s.dataset.state, text: s.textContent }; })()`);
  }

  async waitStatus(state: string, timeoutMs = 20_000): Promise<ConsoleStatus> {
    let last: ConsoleStatus | undefined;
    await waitFor(
      async () => {
        last = await this.status();
        return last.state === state;
      },
      { message: () => `the console's status to be "${state}" (it is ${JSON.stringify(last)}); page console:\n${this.consoleLines.slice(-20).join('\n')}`, timeoutMs },
    );
    return last as ConsoleStatus;
  }

  /** The VM name the bar shows. */
  vmName(): Promise<string> {
    return this.page.evaluate(`document.getElementById('vm-name').textContent`);
  }

  /** Whether the password prompt is showing, and the error it shows. */
  passwordPrompt(): Promise<{ visible: boolean; error: string }> {
    return this.page.evaluate(`(() => ({ visible: !document.getElementById('password-form').hidden, error: document.getElementById('password-error').textContent }))()`);
  }

  async enterPassword(password: string): Promise<void> {
    await this.page.fill('#password', password);
    await this.page.press('#password', 'Enter');
  }

  /** The framebuffer noVNC drew (the canvas's own pixels, before scaling to the window). */
  async picture(): Promise<Image> {
    const p = await this.page.evaluate<{ width: number; height: number; base64: string } | null>(`(() => {
      const c = document.querySelector('#screen canvas');
      if (!c || !c.width) return null;
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let binary = '';
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
      return { width: c.width, height: c.height, base64: btoa(binary) };
    })()`);
    if (!p) return { width: 0, height: 0, rgba: Buffer.alloc(0) };
    return { width: p.width, height: p.height, rgba: Buffer.from(p.base64, 'base64') };
  }

  /** The canvas's size on the page (scaled to the window) and its framebuffer size. */
  canvasBox(): Promise<{ shownWidth: number; shownHeight: number; width: number; height: number }> {
    return this.page.evaluate(`(() => {
      const c = document.querySelector('#screen canvas');
      const r = c.getBoundingClientRect();
      return { shownWidth: r.width, shownHeight: r.height, width: c.width, height: c.height };
    })()`);
  }

  /** Clicks the canvas at its centre (gives it the keyboard focus, as a person does). */
  async clickScreen(): Promise<void> {
    await this.page.click('#screen canvas');
  }

  /**
   * Whole page coordinates (what a mouse event carries) that land on framebuffer pixel
   * (x, y) of the scaled canvas as noVNC maps them back: (page - canvas corner) / scale,
   * truncated. A canvas scaled down has pixels no page coordinate reaches: that throws.
   */
  async screenPoint(x: number, y: number): Promise<{ x: number; y: number }> {
    const r = await this.page.evaluate<{ left: number; top: number; width: number; height: number; fbWidth: number; fbHeight: number }>(`(() => {
      const c = document.querySelector('#screen canvas');
      const r = c.getBoundingClientRect();
      return { left: r.left, top: r.top, width: r.width, height: r.height, fbWidth: c.width, fbHeight: c.height };
    })()`);
    const axis = (v: number, start: number, shown: number, size: number, name: string) => {
      const scale = shown / size;
      const page = Math.ceil(start + v * scale - 1e-6);
      if (Math.floor((page - start) / scale + 1e-6) !== v) throw new Error(`framebuffer ${name} ${v} is not reachable on a canvas scaled by ${scale}`);
      return page;
    };
    return { x: axis(x, r.left, r.width, r.fbWidth, 'x'), y: axis(y, r.top, r.height, r.fbHeight, 'y') };
  }

  /** Moves the real mouse over the canvas to framebuffer pixel (x, y), in `steps` motion events. */
  async mouseTo(x: number, y: number, steps = 1): Promise<void> {
    const p = await this.screenPoint(x, y);
    await this.page.mouse.move(p.x, p.y, { steps });
  }

  /**
   * Clicks a mouse button where the mouse is, paced like a person (a PS/2 mouse reports
   * button state, so a press and release in the same instant could fold into nothing).
   */
  async mouseClick(button: 'left' | 'right' | 'middle' = 'left', holdMs = 150): Promise<void> {
    await this.page.mouse.down({ button });
    await new Promise((r) => setTimeout(r, holdMs));
    await this.page.mouse.up({ button });
  }

  /** Opens the Clipboard panel (its button in the bar) unless it is open. */
  async openClipboardPanel(): Promise<void> {
    if (await this.page.isHidden('#clipboard-panel')) await this.clickButton('Clipboard');
    await this.page.waitForSelector('#clipboard-panel', { state: 'visible' });
  }

  /** The text the Clipboard panel shows. */
  clipboardPanelText(): Promise<string> {
    return this.page.inputValue('#clipboard-text');
  }

  /** Replaces the Clipboard panel's text as a person pasting into it does: click, select all, paste. */
  async pasteIntoClipboardPanel(text: string): Promise<void> {
    await this.page.click('#clipboard-text');
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.insertText(text);
  }

  /** The browser's (system) clipboard text, as the page's origin may read it (needs the clipboard-read permission). */
  systemClipboard(): Promise<string> {
    return this.page.evaluate(`navigator.clipboard.readText()`);
  }

  /** Types `text` key by key on the page's keyboard, holding Shift where a US keyboard needs it. */
  async typeKeys(text: string): Promise<void> {
    for (const ch of text) await this.page.keyboard.press(keyFor(ch), { delay: 10 });
  }

  async clickButton(label: string): Promise<void> {
    await this.page.getByRole('button', { name: label, exact: true }).click();
  }

  async close(): Promise<void> {
    await this.dispose();
  }
}
