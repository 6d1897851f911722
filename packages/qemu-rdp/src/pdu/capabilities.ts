// Capability sets (MS-RDPBCGR 2.2.7): the server's set for the Demand Active PDU, and a typed
// summary of what the client announced in its Confirm Active PDU. Each set on the wire is
// capabilitySetType (u16) + lengthCapability (u16, header included) + data; RawCapabilitySet.data
// holds the data without that 4-byte header. Client sets this module does not know are kept raw
// and otherwise skipped by their length. All integers are little-endian.
import { CHANNEL_CHUNK_LENGTH } from './virtual-channel.js';
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { SERVER_CHANNEL_ID } from './share.js';

export const CapabilitySetType = {
  GENERAL: 0x01,
  BITMAP: 0x02,
  ORDER: 0x03,
  BITMAP_CACHE: 0x04,
  CONTROL: 0x05,
  ACTIVATION: 0x07,
  POINTER: 0x08,
  SHARE: 0x09,
  COLOR_CACHE: 0x0a,
  SOUND: 0x0c,
  INPUT: 0x0d,
  FONT: 0x0e,
  BRUSH: 0x0f,
  GLYPH_CACHE: 0x10,
  OFFSCREEN_CACHE: 0x11,
  BITMAP_CACHE_HOST_SUPPORT: 0x12,
  BITMAP_CACHE_V2: 0x13,
  VIRTUAL_CHANNEL: 0x14,
  DRAW_NINE_GRID_CACHE: 0x15,
  DRAW_GDI_PLUS: 0x16,
  RAIL: 0x17,
  WINDOW: 0x18,
  DESKTOP_COMPOSITION: 0x19,
  MULTIFRAGMENT_UPDATE: 0x1a,
  LARGE_POINTER: 0x1b,
  SURFACE_COMMANDS: 0x1c,
  BITMAP_CODECS: 0x1d,
  FRAME_ACKNOWLEDGE: 0x1e,
} as const;

/** General capability extraFlags (2.2.7.1.1). */
export const GeneralExtraFlags = {
  FASTPATH_OUTPUT_SUPPORTED: 0x0001,
  LONG_CREDENTIALS_SUPPORTED: 0x0004,
  AUTORECONNECT_SUPPORTED: 0x0008,
  ENC_SALTED_CHECKSUM: 0x0010,
  NO_BITMAP_COMPRESSION_HDR: 0x0400,
} as const;

export const OsMajorType = { UNSPECIFIED: 0, WINDOWS: 1, OS2: 2, MACINTOSH: 3, UNIX: 4, IOS: 5, OSX: 6, ANDROID: 7, CHROME_OS: 8 } as const;
export const OsMinorType = { UNSPECIFIED: 0, WINDOWS_NT: 3, NATIVE_XSERVER: 7, PSEUDO_XSERVER: 8 } as const;

/** Input capability inputFlags (2.2.7.1.6). */
export const InputFlags = {
  SCANCODES: 0x0001,
  MOUSEX: 0x0004,
  FASTPATH_INPUT: 0x0008,
  UNICODE: 0x0010,
  FASTPATH_INPUT2: 0x0020,
  MOUSE_RELATIVE: 0x0080,
  MOUSE_HWHEEL: 0x0100,
  QOE_TIMESTAMPS: 0x0200,
} as const;

/** Order capability orderFlags (2.2.7.1.3). */
export const OrderFlags = { NEGOTIATEORDERSUPPORT: 0x0002, ZEROBOUNDSDELTASSUPPORT: 0x0008 } as const;

/** Large Pointer capability largePointerSupportFlags (2.2.7.2.7). */
export const LargePointerFlags = { SIZE_96x96: 0x0001, SIZE_384x384: 0x0002 } as const;

/** Surface Commands capability cmdFlags (2.2.7.2.9). */
export const SurfaceCommandFlags = { SET_SURFACE_BITS: 0x02, FRAME_MARKER: 0x10, STREAM_SURFACE_BITS: 0x40 } as const;

/** Bitmap capability drawingFlags (2.2.7.1.2). */
export const DrawingFlags = { ALLOW_DYNAMIC_COLOR_FIDELITY: 0x02, ALLOW_COLOR_SUBSAMPLING: 0x04, ALLOW_SKIP_ALPHA: 0x08 } as const;

/** Codec GUIDs of the Bitmap Codecs capability (2.2.7.2.10), as printed by formatGuid. */
export const CodecGuid = {
  NSCODEC: 'CA8D1BB9-000F-154F-589F-AE2D1A87E2D6',
  REMOTEFX: '76772F12-BD72-4463-AFB3-B73C9C6F7886',
  IMAGE_REMOTEFX: '2744CCD4-9D8A-4E74-803C-0ECBEEA19C54',
  IGNORE: '9C4351A6-3535-42AE-910C-CDFCE5760B58',
} as const;

/** A capability set as on the wire, without its 4-byte header. */
export interface RawCapabilitySet {
  type: number;
  data: Buffer;
}

/** At most this many capability sets are accepted from a client (about 30 types exist). */
export const MAX_CAPABILITY_SETS = 64;
const TS_CAPS_PROTOCOLVERSION = 0x0200;

// ---------------------------------------------------------------------------------------------
// Server side: encoding

export interface ServerCapabilityOptions {
  desktopWidth: number;
  desktopHeight: number;
  /** 15, 16, 24 or 32 (default 32). */
  preferredBitsPerPixel?: number;
  osMajorType?: number; // default UNIX
  osMinorType?: number; // default NATIVE_XSERVER
  /** Bitmap drawingFlags (default 0). */
  drawingFlags?: number;
  /** Pointer cache sizes (default 25 each, as Windows servers send). */
  colorPointerCacheSize?: number;
  pointerCacheSize?: number;
  /** Advertise INPUT_FLAG_MOUSE_RELATIVE (default false). */
  relativeMouse?: boolean;
  /** Fast-path reassembly buffer the server proposes; default: room for a full screen of 64x64 tiles. */
  maxRequestSize?: number;
  /** LargePointerFlags (default 96x96 | 384x384). 0 leaves the set out. */
  largePointerFlags?: number;
  /** When set, a Surface Commands set with these cmdFlags is added, and a Bitmap Codecs set offering RemoteFX. */
  surfaceCommandFlags?: number;
  /** When set, a Frame Acknowledge set with this maxUnacknowledgedFrameCount is added. */
  frameAcknowledge?: number;
  /** Indices of orderSupport (MS-RDPBCGR 2.2.7.1.3) the server sends, e.g. ScrBlt (default none). */
  orderSupport?: readonly number[];
  /** Further sets appended as they are. */
  extraSets?: RawCapabilitySet[];
}

/** The server's capability sets for the Demand Active PDU, in a conventional order. */
export function buildServerCapabilitySets(o: ServerCapabilityOptions): RawCapabilitySet[] {
  const largePointerFlags = o.largePointerFlags ?? LargePointerFlags.SIZE_96x96 | LargePointerFlags.SIZE_384x384;
  const sets = [
    encodeGeneralCapability({
      osMajorType: o.osMajorType ?? OsMajorType.UNIX,
      osMinorType: o.osMinorType ?? OsMinorType.NATIVE_XSERVER,
      extraFlags:
        GeneralExtraFlags.FASTPATH_OUTPUT_SUPPORTED |
        GeneralExtraFlags.LONG_CREDENTIALS_SUPPORTED |
        GeneralExtraFlags.NO_BITMAP_COMPRESSION_HDR,
      refreshRectSupport: true,
      suppressOutputSupport: true,
    }),
    encodeBitmapCapability({
      preferredBitsPerPixel: o.preferredBitsPerPixel ?? 32,
      desktopWidth: o.desktopWidth,
      desktopHeight: o.desktopHeight,
      desktopResize: true,
      drawingFlags: o.drawingFlags ?? 0,
    }),
    encodeOrderCapability(o.orderSupport ?? []),
    encodePointerCapability({ colorPointerCacheSize: o.colorPointerCacheSize ?? 25, pointerCacheSize: o.pointerCacheSize ?? 25 }),
    encodeInputCapability({
      inputFlags:
        InputFlags.SCANCODES |
        InputFlags.MOUSEX |
        InputFlags.UNICODE |
        InputFlags.FASTPATH_INPUT2 |
        InputFlags.MOUSE_HWHEEL |
        (o.relativeMouse ? InputFlags.MOUSE_RELATIVE : 0),
    }),
    encodeVirtualChannelCapability({ flags: 0, chunkSize: CHANNEL_CHUNK_LENGTH }),
    encodeShareCapability(SERVER_CHANNEL_ID),
    encodeFontCapability(),
    encodeMultifragmentUpdateCapability(o.maxRequestSize ?? defaultMaxRequestSize(o.desktopWidth, o.desktopHeight)),
  ];
  if (largePointerFlags) sets.push(encodeLargePointerCapability(largePointerFlags));
  if (o.surfaceCommandFlags !== undefined) sets.push(encodeSurfaceCommandsCapability(o.surfaceCommandFlags), encodeServerBitmapCodecsCapability());
  if (o.frameAcknowledge !== undefined) sets.push(encodeFrameAcknowledgeCapability(o.frameAcknowledge));
  return [...sets, ...(o.extraSets ?? [])];
}

/** One 16 KiB fragment per 64x64 tile of the desktop, plus one (what FreeRDP's server proposes). */
function defaultMaxRequestSize(width: number, height: number): number {
  return (Math.ceil(width / 64) * Math.ceil(height / 64) + 1) * 16384;
}

/** A capability set with its header (capabilitySetType, lengthCapability). */
export function encodeCapabilitySet(set: RawCapabilitySet): Buffer {
  const length = 4 + set.data.length;
  if (length > 0xffff) throw new RangeError(`capability set of ${length} bytes exceeds 65535`);
  return new WriteCursor(length).u16le(set.type).u16le(length).bytes(set.data).toBuffer();
}

function set(type: number, w: WriteCursor): RawCapabilitySet {
  return { type, data: w.toBuffer() };
}

/** TS_GENERAL_CAPABILITYSET (2.2.7.1.1), 24 bytes with header. */
export function encodeGeneralCapability(g: {
  osMajorType: number;
  osMinorType: number;
  extraFlags: number;
  refreshRectSupport: boolean;
  suppressOutputSupport: boolean;
}): RawCapabilitySet {
  const w = new WriteCursor(20)
    .u16le(g.osMajorType)
    .u16le(g.osMinorType)
    .u16le(TS_CAPS_PROTOCOLVERSION)
    .u16le(0) // pad2octetsA
    .u16le(0) // generalCompressionTypes
    .u16le(g.extraFlags)
    .u16le(0) // updateCapabilityFlag
    .u16le(0) // remoteUnshareFlag
    .u16le(0) // generalCompressionLevel
    .u8(g.refreshRectSupport ? 1 : 0)
    .u8(g.suppressOutputSupport ? 1 : 0);
  return set(CapabilitySetType.GENERAL, w);
}

/** TS_BITMAP_CAPABILITYSET (2.2.7.1.2), 28 bytes with header. */
export function encodeBitmapCapability(b: {
  preferredBitsPerPixel: number;
  desktopWidth: number;
  desktopHeight: number;
  desktopResize: boolean;
  drawingFlags: number;
}): RawCapabilitySet {
  const w = new WriteCursor(24)
    .u16le(b.preferredBitsPerPixel)
    .u16le(1) // receive1BitPerPixel
    .u16le(1) // receive4BitsPerPixel
    .u16le(1) // receive8BitsPerPixel
    .u16le(b.desktopWidth)
    .u16le(b.desktopHeight)
    .u16le(0) // pad2octets
    .u16le(b.desktopResize ? 1 : 0)
    .u16le(1) // bitmapCompressionFlag: MUST be TRUE
    .u8(0) // highColorFlags
    .u8(b.drawingFlags)
    .u16le(1) // multipleRectangleSupport: MUST be TRUE
    .u16le(0); // pad2octetsB
  return set(CapabilitySetType.BITMAP, w);
}

/**
 * TS_ORDER_CAPABILITYSET (2.2.7.1.3), 88 bytes: the drawing orders at `orderSupport`'s indices
 * are supported (a FreeRDP client drops every order the server's set does not list).
 */
export function encodeOrderCapability(orderSupport: readonly number[] = []): RawCapabilitySet {
  const support = Buffer.alloc(32);
  for (const index of orderSupport) {
    if (!Number.isInteger(index) || index < 0 || index >= support.length) throw new RangeError(`orderSupport index ${index} is not 0..31`);
    support[index] = 1;
  }
  const w = new WriteCursor(84)
    .zeros(16) // terminalDescriptor
    .u32le(0) // pad4octetsA
    .u16le(1) // desktopSaveXGranularity
    .u16le(20) // desktopSaveYGranularity
    .u16le(0) // pad2octetsA
    .u16le(1) // maximumOrderLevel: ORD_LEVEL_1_ORDERS
    .u16le(0) // numberFonts
    .u16le(OrderFlags.NEGOTIATEORDERSUPPORT | OrderFlags.ZEROBOUNDSDELTASSUPPORT)
    .bytes(support) // orderSupport
    .u16le(0) // textFlags
    .u16le(0) // orderSupportExFlags
    .u32le(0) // pad4octetsB
    .u32le(480 * 480) // desktopSaveSize (ignored by clients)
    .u16le(0) // pad2octetsC
    .u16le(0) // pad2octetsD
    .u16le(0) // textANSICodePage
    .u16le(0); // pad2octetsE
  return set(CapabilitySetType.ORDER, w);
}

/** TS_POINTER_CAPABILITYSET (2.2.7.1.5), 10 bytes with pointerCacheSize. */
export function encodePointerCapability(p: { colorPointerCacheSize: number; pointerCacheSize: number }): RawCapabilitySet {
  const w = new WriteCursor(6).u16le(1).u16le(p.colorPointerCacheSize).u16le(p.pointerCacheSize);
  return set(CapabilitySetType.POINTER, w);
}

/** TS_INPUT_CAPABILITYSET (2.2.7.1.6), 88 bytes; the keyboard fields are ignored from a server. */
export function encodeInputCapability(i: {
  inputFlags: number;
  keyboardLayout?: number;
  keyboardType?: number;
  keyboardSubType?: number;
  keyboardFunctionKey?: number;
}): RawCapabilitySet {
  const w = new WriteCursor(84)
    .u16le(i.inputFlags)
    .u16le(0) // pad2octetsA
    .u32le(i.keyboardLayout ?? 0)
    .u32le(i.keyboardType ?? 0)
    .u32le(i.keyboardSubType ?? 0)
    .u32le(i.keyboardFunctionKey ?? 0)
    .zeros(64); // imeFileName
  return set(CapabilitySetType.INPUT, w);
}

/** TS_VIRTUALCHANNEL_CAPABILITYSET (2.2.7.1.10). */
export function encodeVirtualChannelCapability(v: { flags: number; chunkSize?: number }): RawCapabilitySet {
  const w = new WriteCursor(8).u32le(v.flags);
  if (v.chunkSize !== undefined) w.u32le(v.chunkSize);
  return set(CapabilitySetType.VIRTUAL_CHANNEL, w);
}

/** TS_SHARE_CAPABILITYSET (2.2.7.2.4). */
export function encodeShareCapability(nodeId: number): RawCapabilitySet {
  return set(CapabilitySetType.SHARE, new WriteCursor(4).u16le(nodeId).u16le(0));
}

/** TS_FONT_CAPABILITYSET (2.2.7.2.5): FONTSUPPORT_FONTLIST. */
export function encodeFontCapability(): RawCapabilitySet {
  return set(CapabilitySetType.FONT, new WriteCursor(4).u16le(0x0001).u16le(0));
}

/** TS_MULTIFRAGMENTUPDATE_CAPABILITYSET (2.2.7.2.6). */
export function encodeMultifragmentUpdateCapability(maxRequestSize: number): RawCapabilitySet {
  return set(CapabilitySetType.MULTIFRAGMENT_UPDATE, new WriteCursor(4).u32le(maxRequestSize));
}

/** TS_LARGE_POINTER_CAPABILITYSET (2.2.7.2.7). */
export function encodeLargePointerCapability(flags: number): RawCapabilitySet {
  return set(CapabilitySetType.LARGE_POINTER, new WriteCursor(2).u16le(flags));
}

/** TS_SURFCMDS_CAPABILITYSET (2.2.7.2.9). */
export function encodeSurfaceCommandsCapability(cmdFlags: number): RawCapabilitySet {
  return set(CapabilitySetType.SURFACE_COMMANDS, new WriteCursor(8).u32le(cmdFlags).u32le(0));
}

/** TS_FRAME_ACKNOWLEDGE_CAPABILITYSET (MS-RDPRFX 2.2.1.3). */
export function encodeFrameAcknowledgeCapability(maxUnacknowledgedFrameCount: number): RawCapabilitySet {
  return set(CapabilitySetType.FRAME_ACKNOWLEDGE, new WriteCursor(4).u32le(maxUnacknowledgedFrameCount));
}

/** A GUID in its wire form: Data1..3 little-endian, Data4 as bytes (formatGuid's inverse). */
function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  b.writeUInt32LE(b.readUInt32BE(0), 0);
  b.writeUInt16LE(b.readUInt16BE(4), 4);
  b.writeUInt16LE(b.readUInt16BE(6), 6);
  return b;
}

/**
 * The server's TS_BITMAPCODECS_CAPABILITYSET (2.2.7.2.10) announcing RemoteFX: a client answers
 * with its own codec list (and the id it gives RemoteFX) only when the server sent this set.
 * Server codec properties for RemoteFX are a 4-byte zero (MS-RDPRFX 2.2.1.1.1).
 */
export function encodeServerBitmapCodecsCapability(): RawCapabilitySet {
  const w = new WriteCursor(32).u8(1); // bitmapCodecCount
  w.bytes(guidBytes(CodecGuid.REMOTEFX)).u8(0).u16le(4).u32le(0); // codecGUID, codecID, properties
  return set(CapabilitySetType.BITMAP_CODECS, w);
}

// ---------------------------------------------------------------------------------------------
// Client side: decoding

export interface ClientCapabilities {
  general?: {
    osMajorType: number;
    osMinorType: number;
    protocolVersion: number;
    extraFlags: number;
    fastPathOutput: boolean;
    noBitmapCompressionHeader: boolean;
    longCredentials: boolean;
    autoReconnect: boolean;
    refreshRectSupport: boolean;
    suppressOutputSupport: boolean;
  };
  bitmap?: {
    preferredBitsPerPixel: number;
    desktopWidth: number;
    desktopHeight: number;
    desktopResizeFlag: boolean;
    drawingFlags: number;
  };
  order?: { orderFlags: number; orderSupport: Buffer };
  input?: {
    inputFlags: number;
    keyboardLayout: number;
    keyboardType: number;
    keyboardSubType: number;
    keyboardFunctionKey: number;
    imeFileName: string;
  };
  pointer?: {
    colorPointerCacheSize: number;
    /** Absent when the client sent the short (8-byte) set: it then cannot take New Pointer Updates. */
    pointerCacheSize?: number;
  };
  virtualChannel?: { flags: number; chunkSize?: number };
  multifragmentUpdate?: { maxRequestSize: number };
  largePointer?: { flags: number };
  bitmapCodecs?: { codecs: { guid: string; id: number }[] };
  surfaceCommands?: { cmdFlags: number };
  frameAcknowledge?: { maxUnacknowledgedFrameCount: number };
  /** Every set the client sent, in order (data views into the PDU). */
  sets: RawCapabilitySet[];
}

/** Reads `count` capability sets (header + data each) from the cursor. */
export function decodeCapabilitySets(c: ReadCursor, count: number): RawCapabilitySet[] {
  if (count > MAX_CAPABILITY_SETS) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `capability sets: ${count} announced, at most ${MAX_CAPABILITY_SETS} accepted`);
  }
  const sets: RawCapabilitySet[] = [];
  for (let i = 0; i < count; i++) {
    const type = c.u16le();
    const length = c.u16le();
    if (length < 4) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `capability set type ${type}: lengthCapability ${length} is below 4`);
    }
    sets.push({ type, data: c.bytes(length - 4) });
  }
  return sets;
}

/** The typed summary of the client's sets; a later set of the same type replaces an earlier one. */
export function summarizeClientCapabilities(sets: RawCapabilitySet[]): ClientCapabilities {
  const caps: ClientCapabilities = { sets };
  for (const s of sets) {
    const c = new ReadCursor(s.data, `capability set type ${s.type}`);
    switch (s.type) {
      case CapabilitySetType.GENERAL:
        caps.general = readGeneral(c);
        break;
      case CapabilitySetType.BITMAP:
        caps.bitmap = readBitmap(c);
        break;
      case CapabilitySetType.ORDER:
        c.skip(16 + 4 + 2 + 2 + 2 + 2 + 2); // terminalDescriptor .. numberFonts
        caps.order = { orderFlags: c.u16le(), orderSupport: Buffer.from(c.bytes(32)) };
        break;
      case CapabilitySetType.INPUT:
        caps.input = readInput(c);
        break;
      case CapabilitySetType.POINTER:
        caps.pointer = readPointer(c);
        break;
      case CapabilitySetType.VIRTUAL_CHANNEL:
        caps.virtualChannel = { flags: c.u32le(), chunkSize: c.remaining >= 4 ? c.u32le() : undefined };
        break;
      case CapabilitySetType.MULTIFRAGMENT_UPDATE:
        caps.multifragmentUpdate = { maxRequestSize: c.u32le() };
        break;
      case CapabilitySetType.LARGE_POINTER:
        caps.largePointer = { flags: c.u16le() };
        break;
      case CapabilitySetType.BITMAP_CODECS:
        caps.bitmapCodecs = { codecs: readBitmapCodecs(c) };
        break;
      case CapabilitySetType.SURFACE_COMMANDS:
        caps.surfaceCommands = { cmdFlags: c.u32le() };
        break;
      case CapabilitySetType.FRAME_ACKNOWLEDGE:
        caps.frameAcknowledge = { maxUnacknowledgedFrameCount: c.u32le() };
        break;
      default:
        break; // kept raw in `sets`
    }
  }
  return caps;
}

function readGeneral(c: ReadCursor): NonNullable<ClientCapabilities['general']> {
  const osMajorType = c.u16le();
  const osMinorType = c.u16le();
  const protocolVersion = c.u16le();
  c.skip(2 + 2); // pad2octetsA, generalCompressionTypes
  const extraFlags = c.u16le();
  c.skip(2 + 2 + 2); // updateCapabilityFlag, remoteUnshareFlag, generalCompressionLevel
  // refreshRectSupport and suppressOutputSupport: absent in some old clients' sets
  const refreshRectSupport = c.remaining >= 1 ? c.u8() !== 0 : false;
  const suppressOutputSupport = c.remaining >= 1 ? c.u8() !== 0 : false;
  return {
    osMajorType,
    osMinorType,
    protocolVersion,
    extraFlags,
    fastPathOutput: (extraFlags & GeneralExtraFlags.FASTPATH_OUTPUT_SUPPORTED) !== 0,
    noBitmapCompressionHeader: (extraFlags & GeneralExtraFlags.NO_BITMAP_COMPRESSION_HDR) !== 0,
    longCredentials: (extraFlags & GeneralExtraFlags.LONG_CREDENTIALS_SUPPORTED) !== 0,
    autoReconnect: (extraFlags & GeneralExtraFlags.AUTORECONNECT_SUPPORTED) !== 0,
    refreshRectSupport,
    suppressOutputSupport,
  };
}

function readBitmap(c: ReadCursor): NonNullable<ClientCapabilities['bitmap']> {
  const preferredBitsPerPixel = c.u16le();
  c.skip(6); // receive1/4/8BitsPerPixel
  const desktopWidth = c.u16le();
  const desktopHeight = c.u16le();
  c.skip(2); // pad2octets
  const desktopResizeFlag = c.u16le() !== 0;
  c.skip(2 + 1); // bitmapCompressionFlag, highColorFlags
  const drawingFlags = c.u8();
  return { preferredBitsPerPixel, desktopWidth, desktopHeight, desktopResizeFlag, drawingFlags };
}

function readInput(c: ReadCursor): NonNullable<ClientCapabilities['input']> {
  const inputFlags = c.u16le();
  // The keyboard fields follow; a client that stops early gets zeros for the missing ones.
  const rest = Buffer.alloc(82);
  c.bytes(Math.min(rest.length, c.remaining)).copy(rest);
  const r = new ReadCursor(rest);
  r.skip(2); // pad2octetsA
  return {
    inputFlags,
    keyboardLayout: r.u32le(),
    keyboardType: r.u32le(),
    keyboardSubType: r.u32le(),
    keyboardFunctionKey: r.u32le(),
    imeFileName: utf16zString(r.bytes(64)),
  };
}

function readPointer(c: ReadCursor): NonNullable<ClientCapabilities['pointer']> {
  c.skip(2); // colorPointerFlag: ignored, always assumed TRUE
  const colorPointerCacheSize = c.u16le();
  return { colorPointerCacheSize, pointerCacheSize: c.remaining >= 2 ? c.u16le() : undefined };
}

function readBitmapCodecs(c: ReadCursor): { guid: string; id: number }[] {
  const count = c.u8();
  const codecs: { guid: string; id: number }[] = [];
  for (let i = 0; i < count; i++) {
    const guid = formatGuid(c.bytes(16));
    const id = c.u8();
    c.skip(c.u16le()); // codecProperties: not interpreted
    codecs.push({ guid, id });
  }
  return codecs;
}

/** A 16-byte GUID (Data1..3 little-endian) as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX. */
export function formatGuid(b: Buffer): string {
  const hex = (n: number, digits: number): string => n.toString(16).toUpperCase().padStart(digits, '0');
  const tail = Array.from(b.subarray(8, 16), (x) => hex(x, 2)).join('');
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

function utf16zString(b: Buffer): string {
  const s = b.subarray(0, b.length & ~1).toString('utf16le');
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/**
 * The largest reassembled fast-path update this client takes. Without the Multifragment Update
 * set, or with a value below one fast-path PDU (seen from some Windows CE clients), the update
 * must fit one unfragmented PDU: 0x3F80 bytes, FreeRDP's safe size.
 */
export function clientMaxRequestSize(caps: ClientCapabilities): number {
  const size = caps.multifragmentUpdate?.maxRequestSize ?? 0;
  return size < 0x3fff ? UNFRAGMENTED_MAX_REQUEST_SIZE : size;
}
export const UNFRAGMENTED_MAX_REQUEST_SIZE = 0x3f80;
