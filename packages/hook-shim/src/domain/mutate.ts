// Turns QEMU's D-Bus display on in a libvirt domain XML, as KubeVirt's virt-launcher hands it
// to an OnDefineDomain hook. The XML is parsed (well-formedness, structure) with @xmldom/xmldom,
// but the result is the *input text* with a few insertions (and, on request, removals) spliced
// in: every byte the rewrite has no reason to touch stays as it was, formatting included, and a
// second pass over the result finds nothing to do and returns it unchanged.
import { DOMParser, ParseError, type Document, type Element, type Node } from '@xmldom/xmldom';
import { unixBusAddress } from './dbus-address.js';
import { DomainXmlError } from './errors.js';
import { scanElements, type ScannedElement } from './scan.js';

export interface DomainMutationOptions {
  /**
   * Absolute path of the D-Bus socket as the compute container (libvirt, QEMU) sees it,
   * e.g. `/var/run/kubevirt-hooks/hook-sidecar-0/vdi/bus`.
   */
  readonly busPath: string;
  /** Add an `<audio type='dbus'>` backend and attach it to the display (default true). */
  readonly audio?: boolean;
  /** Add a `qemu-vdagent` channel with clipboard sharing (default true). */
  readonly clipboard?: boolean;
  /** Add a USB tablet when the domain has no absolute pointer (default true). */
  readonly tablet?: boolean;
  /** Keep KubeVirt's `<graphics type='vnc'>` (virtctl vnc); false removes it (default true). */
  readonly keepKubevirtVnc?: boolean;
}

export interface DomainMutation {
  /** The rewritten domain XML (identical to the input when there was nothing to do). */
  readonly xml: string;
  /** One line per change made, for the log. */
  readonly changes: readonly string[];
  /** Things left alone that may keep the sidecar from working, one line each. */
  readonly warnings: readonly string[];
}

/** libvirt's model for the USB controller KubeVirt uses when USB devices are present. */
const USB_CONTROLLER_MODEL = 'qemu-xhci';
/** The virtio-serial port name guest agents (spice-vdagent) look for. */
const VDAGENT_PORT = 'com.redhat.spice.0';
/** libvirt audio ids are uint8 and start at 1. */
const MAX_AUDIO_ID = 255;

/**
 * The order in which libvirt itself writes devices. The schema accepts any order (an
 * interleave); new elements go after the last of their kind, else before the first device that
 * libvirt would write after them, so a reader finds them where libvirt would put them.
 */
const DEVICE_ORDER = [
  'emulator', 'disk', 'controller', 'lease', 'filesystem', 'interface', 'smartcard', 'serial',
  'parallel', 'console', 'channel', 'input', 'tpm', 'graphics', 'sound', 'audio', 'video',
  'hostdev', 'redirdev', 'redirfilter', 'hub', 'watchdog', 'memballoon', 'rng', 'panic', 'shmem',
  'memory', 'iommu', 'vsock', 'crypto', 'pstore',
] as const;

/** A new element to write: name, attributes in order, children. */
interface NewElement {
  readonly name: string;
  readonly attributes: readonly (readonly [string, string])[];
  readonly children: readonly NewElement[];
}

function newElement(name: string, attributes: [string, string][], children: NewElement[] = []): NewElement {
  return { name, attributes, children };
}

interface Edit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
  readonly seq: number;
}

const ELEMENT_NODE = 1;

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** Parses with xmldom; any error or warning it reports becomes a DomainXmlError. */
function parseDomain(xml: string): Document {
  let problem: string | undefined;
  const parser = new DOMParser({
    locator: true,
    onError: (level, message) => {
      problem ??= `${message}`;
      throw new Error(`${level}: ${message}`);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(xml, 'text/xml');
  } catch (err) {
    const text = problem ?? (err instanceof Error ? err.message : String(err));
    throw new DomainXmlError('DOMAIN_XML_MALFORMED', `malformed domain XML: ${oneLine(text)}${where(err)}`);
  }
  const root = doc.documentElement;
  if (!root) throw new DomainXmlError('DOMAIN_XML_MALFORMED', 'malformed domain XML: no root element');
  if (root.localName !== 'domain' || root.namespaceURI !== null) {
    const ns = root.namespaceURI ? ` in namespace ${root.namespaceURI}` : '';
    throw new DomainXmlError('DOMAIN_XML_NOT_A_DOMAIN', `not a libvirt domain: the root element is <${root.tagName}>${ns}, expected <domain>`);
  }
  return doc;
}

/** " (line L, column C)" from the locator xmldom attaches to its ParseError, if any. */
function where(err: unknown): string {
  if (!(err instanceof ParseError)) return '';
  const loc: unknown = err.locator;
  if (typeof loc !== 'object' || loc === null) return '';
  const { lineNumber, columnNumber } = loc as { lineNumber?: unknown; columnNumber?: unknown };
  return typeof lineNumber === 'number' && lineNumber > 0 && typeof columnNumber === 'number'
    ? ` (line ${lineNumber}, column ${columnNumber})`
    : '';
}

/** xmldom appends its locator as "\n@#[line:L,col:C]"; make that part of one line. */
function oneLine(message: string): string {
  return message
    .replace(/\s*@#\[line:(\d+),col:(\d+)\]/g, ' (line $1, column $2)')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Element children of `parent` in libvirt's (empty) namespace. */
function childElements(parent: Node, localName?: string): Element[] {
  const out: Element[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType !== ELEMENT_NODE) continue;
    const el = child as Element;
    if (el.namespaceURI !== null) continue;
    if (localName === undefined || el.localName === localName) out.push(el);
  }
  return out;
}

function allElements(doc: Document): Element[] {
  const out: Element[] = [];
  const visit = (node: Node): void => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === ELEMENT_NODE) {
        out.push(child as Element);
        visit(child);
      }
    }
  };
  visit(doc);
  return out;
}

/** Maps each DOM element to its place in the text. */
function locateElements(doc: Document, xml: string): Map<Element, ScannedElement> {
  let scanned: ScannedElement[];
  try {
    scanned = scanElements(xml);
  } catch (err) {
    throw new DomainXmlError('DOMAIN_XML_MALFORMED', `malformed domain XML: ${(err as Error).message}`);
  }
  const elements = allElements(doc);
  if (elements.length !== scanned.length || elements.some((el, i) => el.tagName !== scanned[i].name)) {
    throw new DomainXmlError('DOMAIN_XML_MALFORMED', 'malformed domain XML: its elements could not be located in the text');
  }
  return new Map(elements.map((el, i) => [el, scanned[i]]));
}

function parseAudioId(text: string | null): number | undefined {
  if (text === null || !/^\d+$/.test(text.trim())) return undefined;
  const id = Number(text.trim());
  return id >= 1 && id <= MAX_AUDIO_ID ? id : undefined;
}

/** Splices insertions into the original text, with indentation copied from its neighbours. */
class Splicer {
  private readonly edits: Edit[] = [];

  constructor(
    private readonly text: string,
    private readonly where: Map<Element, ScannedElement>,
  ) {}

  at(el: Element): ScannedElement {
    const found = this.where.get(el);
    if (!found) throw new Error(`internal: element <${el.tagName}> has no location`);
    return found;
  }

  /** The whitespace right before offset (back to the previous non-space character). */
  spaceBefore(offset: number): string {
    let i = offset;
    while (i > 0 && isSpace(this.text[i - 1])) i--;
    return this.text.slice(i, offset);
  }

  /** One level of indentation as the document writes it ('' for a one-line document). */
  indentUnit(parent: Element, children: readonly Element[]): string {
    const parentSep = this.spaceBefore(this.at(parent).start);
    const parentIndent = afterLastNewline(parentSep);
    if (children.length > 0) {
      const childSep = this.spaceBefore(this.at(children[0]).start);
      const childIndent = afterLastNewline(childSep);
      if (childIndent === undefined) return '';
      if (parentIndent !== undefined && childIndent.startsWith(parentIndent) && childIndent.length > parentIndent.length) {
        return childIndent.slice(parentIndent.length);
      }
      return '\t';
    }
    // No children to copy from: the parent is a child of the root, so its indent is one unit.
    return parentIndent === undefined ? '' : parentIndent === '' ? '\t' : parentIndent;
  }

  private push(at: number, remove: number, insert: string): void {
    this.edits.push({ at, remove, insert, seq: this.edits.length });
  }

  insertBefore(ref: Element, el: NewElement, unit: string): void {
    const start = this.at(ref).start;
    const sep = this.spaceBefore(start);
    this.push(start, 0, render(el, sep, unit) + sep);
  }

  insertAfter(ref: Element, el: NewElement, unit: string): void {
    const loc = this.at(ref);
    const sep = this.spaceBefore(loc.start);
    this.push(loc.end, 0, sep + render(el, sep, unit));
  }

  /** Appends elements to one that has no element children yet. */
  appendToEmpty(parent: Element, els: readonly NewElement[], unit: string): void {
    const loc = this.at(parent);
    const parentSep = this.spaceBefore(loc.start);
    const sep = parentSep.includes('\n') ? parentSep + unit : '';
    const closing = parentSep.includes('\n') ? parentSep : '';
    const content = els.map((el) => sep + render(el, sep, unit)).join('');
    if (loc.selfClosing) {
      // `<devices/>` → `<devices>…</devices>`: replace the "/>" that ends the start tag.
      this.push(loc.startTagEnd - 2, 2, `>${content}${closing}</${loc.name}>`);
    } else {
      // Whatever stood between the tags (whitespace, comments) stays before the end tag.
      const empty = loc.endTagStart === loc.startTagEnd;
      this.push(loc.startTagEnd, 0, content + (empty ? closing : ''));
    }
  }

  /** Removes an element together with the indentation before it. */
  remove(el: Element): void {
    const loc = this.at(el);
    const from = loc.start - this.spaceBefore(loc.start).length;
    this.push(from, loc.end - from, '');
  }

  /** Replaces the value of an existing attribute. */
  setAttribute(el: Element, name: string, value: string): void {
    const attr = this.at(el).attributes.find((a) => a.name === name);
    if (!attr) throw new Error(`internal: <${el.tagName}> has no attribute ${name}`);
    this.push(attr.valueStart, attr.valueEnd - attr.valueStart, escapeAttribute(value));
  }

  apply(): string {
    // From the end backwards, so earlier offsets stay valid. At one offset a removal goes
    // first (it removes original text, not an insertion), then insertions, the one made later
    // first, so that insertions made in order come out in order.
    const sorted = [...this.edits].sort(
      (a, b) => b.at - a.at || Number(b.remove > 0) - Number(a.remove > 0) || b.seq - a.seq,
    );
    let out = this.text;
    for (const e of sorted) out = out.slice(0, e.at) + e.insert + out.slice(e.at + e.remove);
    return out;
  }
}

function afterLastNewline(space: string): string | undefined {
  const nl = space.lastIndexOf('\n');
  return nl < 0 ? undefined : space.slice(nl + 1);
}

/** Writes a new element; `sep` is the whitespace before it, children go one `unit` deeper. */
function render(el: NewElement, sep: string, unit: string): string {
  const attrs = el.attributes.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
  if (el.children.length === 0) return `<${el.name}${attrs}/>`;
  const inner = sep.includes('\n') ? sep + unit : '';
  const closing = sep.includes('\n') ? sep : '';
  return `<${el.name}${attrs}>${el.children.map((c) => inner + render(c, inner, unit)).join('')}${closing}</${el.name}>`;
}

function rank(localName: string): number {
  return (DEVICE_ORDER as readonly string[]).indexOf(localName);
}

/**
 * Rewrites a libvirt domain XML so that QEMU exports its display (and audio, clipboard) on
 * the D-Bus socket at `opts.busPath`, and reports what it did.
 * @throws DomainXmlError when the text is not well-formed XML or not a domain.
 */
export function mutateDomainWithReport(xml: string, opts: DomainMutationOptions): DomainMutation {
  if (!opts.busPath.startsWith('/')) throw new RangeError(`busPath must be an absolute path, not "${opts.busPath}"`);
  const audio = opts.audio ?? true;
  const clipboard = opts.clipboard ?? true;
  const tablet = opts.tablet ?? true;
  const keepVnc = opts.keepKubevirtVnc ?? true;

  const doc = parseDomain(xml);
  const domain = doc.documentElement as Element;
  const splicer = new Splicer(xml, locateElements(doc, xml));
  const changes: string[] = [];
  const warnings: string[] = [];
  const address = unixBusAddress(opts.busPath);

  const devicesEl = childElements(domain, 'devices')[0];
  const existing = devicesEl ? childElements(devicesEl) : [];
  const removed = new Set<Element>();
  const kind = (name: string) => existing.filter((el) => el.localName === name && !removed.has(el));
  const additions: NewElement[] = [];

  // KubeVirt's VNC display (virtctl vnc): kept unless asked otherwise.
  if (!keepVnc) {
    for (const g of kind('graphics').filter((g) => g.getAttribute('type') === 'vnc')) {
      splicer.remove(g);
      removed.add(g);
      changes.push("removed <graphics type='vnc'>");
    }
  }

  // The D-Bus display, with its audio backend.
  const dbusGraphics = kind('graphics').find((g) => g.getAttribute('type') === 'dbus');
  if (dbusGraphics) {
    const present = dbusGraphics.getAttribute('address');
    if (present !== address) {
      warnings.push(
        `the domain already has a D-Bus display (address ${present ?? 'none: libvirt-managed bus'}); left unchanged, ` +
          `so QEMU will not be on the sidecar's bus ${address}`,
      );
    }
  } else {
    let audioId: number | undefined;
    if (audio) {
      const audios = kind('audio');
      const dbusAudio = audios.find((a) => a.getAttribute('type') === 'dbus' && parseAudioId(a.getAttribute('id')) !== undefined);
      if (dbusAudio) {
        audioId = parseAudioId(dbusAudio.getAttribute('id'));
      } else {
        const ids = audios.map((a) => parseAudioId(a.getAttribute('id')) ?? 0);
        const id = Math.max(0, ...ids) + 1;
        if (id > MAX_AUDIO_ID) {
          warnings.push(`no free <audio> id (libvirt allows 1–${MAX_AUDIO_ID}); the D-Bus display has no audio`);
        } else {
          audioId = id;
          additions.push(newElement('audio', [['id', String(id)], ['type', 'dbus']]));
          changes.push(`added <audio id='${id}' type='dbus'>`);
          // libvirt connects a sound device without <audio id> to the first backend.
          if (audios.length > 0 && kind('sound').some((snd) => childElements(snd, 'audio').length === 0)) {
            warnings.push(
              `the domain's sound device uses its first audio backend (<audio id='${audios[0].getAttribute('id') ?? ''}' ` +
                `type='${audios[0].getAttribute('type') ?? ''}'>), not the D-Bus one (id ${id}): guest sound will not reach the sidecar`,
            );
          }
        }
      }
    }
    const children = [newElement('gl', [['enable', 'no']])];
    if (audioId !== undefined) children.push(newElement('audio', [['id', String(audioId)]]));
    additions.push(newElement('graphics', [['type', 'dbus'], ['address', address]], children));
    changes.push(`added <graphics type='dbus' address='${address}'>`);
  }

  // An absolute pointer, so that clients' pointer positions map 1:1.
  if (tablet && !kind('input').some((i) => i.getAttribute('type') === 'tablet')) {
    additions.push(newElement('input', [['type', 'tablet'], ['bus', 'usb']]));
    changes.push("added <input type='tablet' bus='usb'>");
    // KubeVirt disables USB (model='none') when the VMI has no USB device; libvirt refuses
    // a USB tablet then, so turn on the controller KubeVirt itself uses for USB devices.
    for (const c of kind('controller').filter((c) => c.getAttribute('type') === 'usb' && c.getAttribute('model') === 'none')) {
      splicer.setAttribute(c, 'model', USB_CONTROLLER_MODEL);
      changes.push(`changed <controller type='usb' index='${c.getAttribute('index') ?? ''}'> model from 'none' to '${USB_CONTROLLER_MODEL}'`);
    }
  }

  // Clipboard sharing through QEMU's own vdagent.
  if (clipboard) {
    const channels = kind('channel');
    if (!channels.some((c) => c.getAttribute('type') === 'qemu-vdagent')) {
      const taken = channels.find((c) => childElements(c, 'target').some((t) => t.getAttribute('name') === VDAGENT_PORT));
      if (taken) {
        warnings.push(`a <channel type='${taken.getAttribute('type') ?? ''}'> already uses the port ${VDAGENT_PORT}; no clipboard channel added`);
      } else {
        additions.push(
          newElement('channel', [['type', 'qemu-vdagent']], [
            newElement('source', [], [newElement('clipboard', [['copypaste', 'yes']])]),
            newElement('target', [['type', 'virtio'], ['name', VDAGENT_PORT]]),
          ]),
        );
        changes.push("added <channel type='qemu-vdagent'> with clipboard sharing");
      }
    }
  }

  if (additions.length > 0) {
    // In libvirt's order, so that several new elements at one place come out in that order.
    additions.sort((a, b) => rank(a.name) - rank(b.name));
    if (devicesEl) {
      placeInDevices(splicer, devicesEl, existing.filter((el) => !removed.has(el)), additions);
    } else {
      const domainChildren = childElements(domain);
      const unit = splicer.indentUnit(domain, domainChildren);
      const devices = newElement('devices', [], additions);
      if (domainChildren.length > 0) splicer.insertAfter(domainChildren[domainChildren.length - 1], devices, unit);
      else splicer.appendToEmpty(domain, [devices], unit);
      changes.push('added <devices>');
    }
  }

  return { xml: changes.length > 0 ? splicer.apply() : xml, changes, warnings };
}

/** Inserts each new device next to its kind, in libvirt's order (see DEVICE_ORDER). */
function placeInDevices(splicer: Splicer, devices: Element, children: Element[], additions: NewElement[]): void {
  const unit = splicer.indentUnit(devices, children);
  const appendQueue: NewElement[] = [];
  for (const el of additions) {
    const sameKind = children.filter((c) => c.localName === el.name);
    if (sameKind.length > 0) {
      splicer.insertAfter(sameKind[sameKind.length - 1], el, unit);
      continue;
    }
    const r = rank(el.name);
    const later = children.find((c) => rank(c.localName ?? '') > r);
    if (later) {
      splicer.insertBefore(later, el, unit);
      continue;
    }
    appendQueue.push(el);
  }
  if (children.length === 0) {
    if (appendQueue.length > 0) splicer.appendToEmpty(devices, appendQueue, unit);
  } else {
    for (const el of appendQueue) splicer.insertAfter(children[children.length - 1], el, unit);
  }
}

/**
 * Rewrites a libvirt domain XML so that QEMU exports its display on the D-Bus socket at
 * `opts.busPath` (see {@link mutateDomainWithReport} for the report of what changed).
 * Idempotent: a second pass returns its input unchanged.
 */
export function mutateDomain(xml: string, opts: DomainMutationOptions): string {
  return mutateDomainWithReport(xml, opts).xml;
}
