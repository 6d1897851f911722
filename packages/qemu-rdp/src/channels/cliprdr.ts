// The "cliprdr" static channel, server side (MS-RDPECLIP): plain text both ways between the
// client's clipboard and the VM's (display-core's ClipboardPeer, QEMU's D-Bus clipboard).
//
// At activation the server sends its capabilities (long format names) and Monitor Ready; the
// client answers with its capabilities and a Format List (1.3.2.1). From then on:
// - guest copy: the peer's "text" event → Format List [CF_UNICODETEXT] → the client asks with
//   a Format Data Request when something pastes → Format Data Response with the text;
// - client copy: Format List from the client → Format List Response → if it has text, a
//   Format Data Request (CF_UNICODETEXT, else CF_TEXT / CF_OEMTEXT) → the response's text is
//   offered to the guest (ClipboardPeer.setText: a grab, then served when the guest asks).
//   The guest's side takes text, not a promise of it, so the request is made right away, not at
//   paste time as the specification imagines (delayed rendering, 1.3.1.4) — but after a short
//   pause in which a newer Format List replaces the older: FreeRDP's X11 client sends one list
//   when the X selection changes hands and another once it has read the new owner's TARGETS, and
//   a request arriving in between collides with that TARGETS query and fails.
// Files, locks and the temporary directory are not used (no file streaming is announced).
import { ClipboardSelection, MAX_CLIPBOARD_BYTES } from '@vdi-sidecar/display-core';
import {
  CB_USE_LONG_FORMAT_NAMES,
  CF_OEMTEXT,
  CF_TEXT,
  CF_UNICODETEXT,
  decodeClientClipPdu,
  decodeClipboardText,
  encodeClipCapabilities,
  encodeFileContentsFailure,
  encodeFormatDataRequest,
  encodeFormatDataResponse,
  encodeFormatList,
  encodeFormatListResponse,
  encodeMonitorReady,
  encodeUnicodeText,
  type ClipboardFormat,
} from '../pdu/cliprdr.js';
import type { ChannelContext, StaticChannel } from './static-channel.js';

/** What the server announces in its General Capability Set. */
const SERVER_GENERAL_FLAGS = CB_USE_LONG_FORMAT_NAMES;
/** Text formats taken from a client, best first. */
const TEXT_FORMATS = [CF_UNICODETEXT, CF_TEXT, CF_OEMTEXT];
/** How long a client's Format List waits for a newer one before its text is requested. */
export const REQUEST_DELAY_MS = 150;
/** Format Data Requests remembered while the client has not answered them. */
const MAX_PENDING_REQUESTS = 16;

export function createCliprdrChannel(context: ChannelContext): StaticChannel {
  return new CliprdrChannel(context);
}

export class CliprdrChannel implements StaticChannel {
  private started = false;
  /** Ends this client's hold on the VM's clipboard (see ClipboardPeer.hold). */
  private releaseClipboard: (() => void) | undefined;
  /** The client's capabilities arrived or its first Format List did: the exchange may begin. */
  private ready = false;
  private longFormatNames = false;
  /** The guest's text, while the guest owns the shared clipboard (what the client may paste). */
  private guestText: string | undefined;
  /** The guest copied before the client was ready: announce once it is. */
  private announcePending = false;
  /** Formats asked of the client, oldest first (responses come in order and do not name theirs). */
  private readonly requested: number[] = [];
  /** The text format to ask for once the client's format lists settle. */
  private requestTimer: NodeJS.Timeout | undefined;
  private readonly onGuestText = (text: string, selection: ClipboardSelection): void => {
    if (selection !== ClipboardSelection.Clipboard) return;
    this.guestText = text;
    this.announceGuestText();
  };
  private readonly onGuestRelease = (selection: ClipboardSelection): void => {
    // The guest emptied its clipboard: so does the client's, if it held the guest's text.
    if (selection !== ClipboardSelection.Clipboard || this.guestText === undefined) return;
    this.guestText = undefined;
    if (this.ready) this.context.send(encodeFormatList([], this.longFormatNames));
  };

  constructor(private readonly context: ChannelContext) {}

  onActive(): void {
    if (this.started || !this.context.clipboard) return;
    this.started = true;
    this.context.clipboard.on('text', this.onGuestText);
    this.context.clipboard.on('release', this.onGuestRelease);
    this.releaseClipboard = this.context.clipboard.hold();
    this.context.send(encodeClipCapabilities(SERVER_GENERAL_FLAGS));
    this.context.send(encodeMonitorReady());
  }

  onMessage(message: Buffer): void {
    if (!this.started) return; // no clipboard sharing: the channel stays mute
    const pdu = decodeClientClipPdu(message, { longFormatNames: this.longFormatNames });
    switch (pdu.kind) {
      case 'capabilities':
        this.longFormatNames = (pdu.generalFlags & CB_USE_LONG_FORMAT_NAMES) !== 0 && (SERVER_GENERAL_FLAGS & CB_USE_LONG_FORMAT_NAMES) !== 0;
        this.context.log('debug', `client capabilities: version ${pdu.version}, flags 0x${pdu.generalFlags.toString(16)}`);
        this.becomeReady();
        return;
      case 'formatList':
        this.onClientFormatList(pdu.formats);
        return;
      case 'formatListResponse':
        if (!pdu.ok) this.context.log('debug', 'the client refused our format list');
        return;
      case 'formatDataRequest':
        this.onFormatDataRequest(pdu.formatId);
        return;
      case 'formatDataResponse':
        this.onFormatDataResponse(pdu.ok, pdu.data);
        return;
      case 'fileContentsRequest':
        this.context.send(encodeFileContentsFailure(pdu.streamId));
        return;
      case 'temporaryDirectory':
      case 'fileContentsResponse':
      case 'lock':
      case 'unlock':
        return;
    }
  }

  close(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    this.context.clipboard?.off('text', this.onGuestText);
    this.context.clipboard?.off('release', this.onGuestRelease);
    this.releaseClipboard?.();
    this.releaseClipboard = undefined;
    this.requested.length = 0;
  }

  private becomeReady(): void {
    if (this.ready) return;
    this.ready = true;
    if (this.announcePending) this.announceGuestText();
  }

  private announceGuestText(): void {
    if (!this.ready) {
      this.announcePending = true;
      return;
    }
    this.announcePending = false;
    this.context.send(encodeFormatList([{ id: CF_UNICODETEXT, name: '' }], this.longFormatNames));
    this.context.log('debug', `guest text (${this.guestText?.length ?? 0} characters) announced to the client`);
  }

  private onClientFormatList(formats: ClipboardFormat[]): void {
    // A client that sent no capabilities is version 1 with short names (already assumed).
    this.becomeReady();
    this.context.send(encodeFormatListResponse(true));
    // The client owns the shared clipboard now: the guest's text is no longer what is pasted.
    this.guestText = undefined;
    this.announcePending = false;
    // Registered formats (0xC000 and up) are known by name only; text is a standard format.
    const ids = new Set(formats.filter((f) => f.id < 0xc000).map((f) => f.id));
    const wanted = TEXT_FORMATS.find((id) => ids.has(id));
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    if (wanted === undefined) {
      this.context.log('debug', `client clipboard without text (formats ${formats.map((f) => f.name || f.id).join(', ') || 'none'})`);
      return;
    }
    this.requestTimer = setTimeout(() => {
      this.requestTimer = undefined;
      this.requestText(wanted);
    }, REQUEST_DELAY_MS);
  }

  private requestText(wanted: number): void {
    // A client that leaves requests unanswered must not make the queue grow without bound;
    // forgetting the oldest at worst misreads the answer of a client that broke the order.
    if (this.requested.length >= MAX_PENDING_REQUESTS) this.requested.shift();
    this.requested.push(wanted);
    this.context.send(encodeFormatDataRequest(wanted));
  }

  private onFormatDataRequest(formatId: number): void {
    const text = this.guestText;
    if (formatId !== CF_UNICODETEXT || text === undefined) {
      this.context.log('debug', `client asked for clipboard format ${formatId}, which the guest does not offer`);
      this.context.send(encodeFormatDataResponse(undefined));
      return;
    }
    this.context.send(encodeFormatDataResponse(encodeUnicodeText(text)));
  }

  private onFormatDataResponse(ok: boolean, data: Buffer): void {
    const formatId = this.requested.shift();
    if (formatId === undefined) return; // unasked (FreeRDP answers "pending" requests before each copy)
    // Only the answer to the newest request matters: an older one was overtaken by another copy.
    if (this.requested.length > 0) return;
    if (!ok) {
      this.context.log('debug', `the client could not give its clipboard (format ${formatId})`);
      return;
    }
    const text = decodeClipboardText(formatId, data);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_CLIPBOARD_BYTES) {
      this.context.log('warn', `client clipboard text of ${bytes} bytes not given to the guest (limit ${MAX_CLIPBOARD_BYTES})`);
      return;
    }
    const clipboard = this.context.clipboard;
    if (!clipboard) return;
    this.context.log('debug', `client text (${text.length} characters) given to the guest`);
    clipboard.setText(text, ClipboardSelection.Clipboard).catch((err: Error) => this.context.log('warn', `giving the client's clipboard to the guest failed: ${err.message}`));
  }
}
