// Where each element of an XML text starts and ends, so that a rewrite can splice the text
// instead of re-serialising a DOM: everything the rewrite does not touch stays byte for byte.
//
// The scanner only runs on text that a conforming parser has already accepted as well-formed,
// so it can be simple: text content holds no raw '<', comments end at the first '-->', CDATA
// at the first ']]>', processing instructions at the first '?>', and inside a tag only quoted
// attribute values can hide a '>'.

/** One attribute of a start tag; value offsets exclude the quotes. */
export interface ScannedAttribute {
  readonly name: string;
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** One element, by offsets into the scanned text. */
export interface ScannedElement {
  /** Qualified name as written (e.g. `devices`, `qemu:commandline`). */
  readonly name: string;
  /** Offset of the '<' of the start tag. */
  readonly start: number;
  /** Offset just past the start tag's '>' (for `<a/>`, past the '/>'). */
  readonly startTagEnd: number;
  /** Whether the element is written `<a …/>`. */
  readonly selfClosing: boolean;
  /** Offset of the '<' of the end tag; equals `end` for a self-closing element. */
  readonly endTagStart: number;
  /** Offset just past the element's last character. */
  readonly end: number;
  readonly attributes: readonly ScannedAttribute[];
}

interface OpenElement {
  name: string;
  start: number;
  startTagEnd: number;
  attributes: ScannedAttribute[];
  index: number;
}

const NAME_END = /[\s/>=]/;

function skipPast(text: string, from: number, terminator: string): number {
  const at = text.indexOf(terminator, from);
  if (at < 0) throw new Error(`unterminated markup: no "${terminator}" after offset ${from}`);
  return at + terminator.length;
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** Reads a name starting at `from`; returns it and the offset after it. */
function readName(text: string, from: number): [string, number] {
  let i = from;
  while (i < text.length && !NAME_END.test(text[i])) i++;
  return [text.slice(from, i), i];
}

/** Parses a start tag at `start` (the '<'): its name, attributes, end and whether it closes itself. */
function readStartTag(text: string, start: number): { name: string; attributes: ScannedAttribute[]; end: number; selfClosing: boolean } {
  const [name, afterName] = readName(text, start + 1);
  const attributes: ScannedAttribute[] = [];
  let i = afterName;
  for (;;) {
    while (isSpace(text[i])) i++;
    const ch = text[i];
    if (ch === undefined) throw new Error(`unterminated start tag <${name} at offset ${start}`);
    if (ch === '>') return { name, attributes, end: i + 1, selfClosing: false };
    if (ch === '/' && text[i + 1] === '>') return { name, attributes, end: i + 2, selfClosing: true };
    const [attrName, afterAttr] = readName(text, i);
    if (attrName === '') throw new Error(`unexpected "${ch}" in start tag <${name} at offset ${i}`);
    i = afterAttr;
    while (isSpace(text[i])) i++;
    if (text[i] !== '=') throw new Error(`attribute ${attrName} of <${name} has no value (offset ${i})`);
    i++;
    while (isSpace(text[i])) i++;
    const quote = text[i];
    if (quote !== '"' && quote !== "'") throw new Error(`attribute ${attrName} of <${name} is not quoted (offset ${i})`);
    const close = text.indexOf(quote, i + 1);
    if (close < 0) throw new Error(`unterminated value of attribute ${attrName} of <${name}`);
    attributes.push({ name: attrName, valueStart: i + 1, valueEnd: close });
    i = close + 1;
  }
}

/** Skips a `<!DOCTYPE …>` declaration, internal subset included. */
function skipDoctype(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      i = skipPast(text, i + 1, ch) - 1;
    } else if (ch === '[') {
      depth++;
    } else if (ch === ']') {
      depth--;
    } else if (ch === '>' && depth === 0) {
      return i + 1;
    } else if (ch === '<' && text.startsWith('<!--', i)) {
      i = skipPast(text, i + 4, '-->') - 1;
    }
  }
  throw new Error('unterminated DOCTYPE');
}

/**
 * Lists every element of a well-formed XML text in document order (the order of their start
 * tags), which is also the order in which a DOM traversal visits them.
 */
export function scanElements(text: string): ScannedElement[] {
  const elements: (ScannedElement | undefined)[] = [];
  const stack: OpenElement[] = [];
  let i = 0;
  for (;;) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      i = skipPast(text, lt + 4, '-->');
    } else if (text.startsWith('<![CDATA[', lt)) {
      i = skipPast(text, lt + 9, ']]>');
    } else if (text.startsWith('<?', lt)) {
      i = skipPast(text, lt + 2, '?>');
    } else if (text.startsWith('<!', lt)) {
      i = skipDoctype(text, lt + 2);
    } else if (text[lt + 1] === '/') {
      const [name] = readName(text, lt + 2);
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`end tag </${name}> at offset ${lt} does not match`);
      const end = skipPast(text, lt, '>');
      elements[open.index] = {
        name,
        start: open.start,
        startTagEnd: open.startTagEnd,
        selfClosing: false,
        endTagStart: lt,
        end,
        attributes: open.attributes,
      };
      i = end;
    } else {
      const tag = readStartTag(text, lt);
      const index = elements.length;
      if (tag.selfClosing) {
        elements.push({
          name: tag.name,
          start: lt,
          startTagEnd: tag.end,
          selfClosing: true,
          endTagStart: tag.end,
          end: tag.end,
          attributes: tag.attributes,
        });
      } else {
        elements.push(undefined);
        stack.push({ name: tag.name, start: lt, startTagEnd: tag.end, attributes: tag.attributes, index });
      }
      i = tag.end;
    }
  }
  if (stack.length > 0) throw new Error(`unclosed element <${stack[stack.length - 1].name}>`);
  return elements.map((e, n) => {
    if (!e) throw new Error(`element ${n} was never closed`);
    return e;
  });
}
