// Share-level PDUs: capability exchange, finalization, input (slow and fast path), fast-path
// output framing and fragmentation, bitmap and pointer updates. Byte vectors come from
// Windows/mstsc captures as kept in IronRDP's test suite (ironrdp-testsuite-core capsets.rs and
// rdp.rs, which mirror MS-RDPBCGR section 4), from MS-RDPBCGR 4.1.19 / 4.2.2, or are built here
// field by field from the MS-RDPBCGR structure definitions.
import { describe, expect, it } from 'vitest';
import {
  ControlAction,
  decodeClientDataPdu,
  decodeConfirmActive,
  decodeControl,
  decodeFontList,
  decodeRefreshRect,
  decodeSuppressOutput,
  decodeSynchronize,
  encodeControlCooperate,
  encodeControlGrantedControl,
  encodeDeactivateAll,
  encodeDemandActive,
  encodeFontMap,
  encodeSaveSessionInfoLogon,
  encodeSetErrorInfo,
  encodeSetKeyboardIndicators,
  encodeShutdownDenied,
  encodeSynchronize,
} from '../src/pdu/activation.js';
import { bitmapRectAt, encodeBitmapUpdateData, splitBitmapRects, type BitmapRect } from '../src/pdu/bitmap-update.js';
import {
  CapabilitySetType,
  CodecGuid,
  buildServerCapabilitySets,
  clientMaxRequestSize,
  decodeCapabilitySets,
  encodeBitmapCapability,
  encodeCapabilitySet,
  encodeGeneralCapability,
  encodePointerCapability,
  encodeVirtualChannelCapability,
  summarizeClientCapabilities,
} from '../src/pdu/capabilities.js';
import { ReadCursor } from '../src/pdu/cursor.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import {
  FastPathUpdateCode,
  MAX_FRAGMENT_SIZE,
  decodeFastPathInput,
  encodeFastPathUpdates,
  peekFastPathLength,
} from '../src/pdu/fast-path.js';
import { decodeSlowPathInput, wheelDelta, type InputEvent } from '../src/pdu/input.js';
import {
  DEFAULT_POINTER,
  HIDDEN_POINTER,
  decodePointerShape,
  encodeCachedPointer,
  encodePointerImage,
  encodePointerPosition,
  pointerShapeToImage,
  pointerUpdateToSlowPath,
  type CursorImage,
} from '../src/pdu/pointer.js';
import { PduType, PduType2, SERVER_CHANNEL_ID, StreamId, decodeSharePdu, decodeSharePdus, encodeShareData } from '../src/pdu/share.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

function expectProtocolError(fn: () => unknown, code?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RdpProtocolError);
    if (code) expect((e as RdpProtocolError).code).toBe(code);
    return;
  }
  throw new Error('expected an RdpProtocolError');
}

// Windows server Demand Active (IronRDP SERVER_DEMAND_ACTIVE_PDU_HEADERS_BUFFER + SERVER_DEMAND_ACTIVE_BUFFER).
const WINDOWS_DEMAND_ACTIVE = bytes(
  0x6f, 0x01, // shareControlHeader.totalLength = 367
  0x11, 0x00, // pduType = TS_PROTOCOL_VERSION | PDUTYPE_DEMANDACTIVEPDU
  0xea, 0x03, // pduSource = 1002 (server channel)
  0xea, 0x03, 0x01, 0x00, // shareId = 0x000103ea
  0x04, 0x00, // lengthSourceDescriptor = 4
  0x59, 0x01, // lengthCombinedCapabilities = 345
  0x52, 0x44, 0x50, 0x00, // sourceDescriptor = "RDP\0"
  0x0d, 0x00, // numberCapabilities = 13
  0x00, 0x00, // pad2Octets
  0x09, 0x00, 0x08, 0x00, // Share capability set, length 8
  0xea, 0x03, 0xdc, 0xe2, //   nodeId = 1002, pad2octets (garbage)
  0x01, 0x00, 0x18, 0x00, // General capability set, length 24
  0x01, 0x00, 0x03, 0x00, //   osMajorType = WINDOWS, osMinorType = WINDOWS_NT
  0x00, 0x02, 0x00, 0x00, //   protocolVersion = 0x200, pad2octetsA
  0x00, 0x00, 0x1d, 0x04, //   generalCompressionTypes, extraFlags = 0x041d
  0x00, 0x00, 0x00, 0x00, //   updateCapabilityFlag, remoteUnshareFlag
  0x00, 0x00, 0x01, 0x01, //   generalCompressionLevel, refreshRectSupport, suppressOutputSupport
  0x14, 0x00, 0x0c, 0x00, // Virtual Channel capability set, length 12
  0x02, 0x00, 0x00, 0x00, //   flags = VCCAPS_COMPR_CS_8K
  0x40, 0x06, 0x00, 0x00, //   VCChunkSize = 1600
  0x16, 0x00, 0x28, 0x00, // Draw GDI+ capability set, length 40 (uninitialised memory)
  0x00, 0x00, 0x00, 0x00, 0x70, 0xf6, 0x13, 0xf3, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x18, 0x00,
  0x00, 0x00, 0x9c, 0xf6, 0x13, 0xf3, 0x61, 0xa6, 0x82, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x91, 0xbf,
  0x0e, 0x00, 0x08, 0x00, // Font capability set, length 8
  0x00, 0x01, 0x00, 0x00, //   fontSupportFlags = 0x0100, pad2octets
  0x02, 0x00, 0x1c, 0x00, // Bitmap capability set, length 28
  0x18, 0x00, //   preferredBitsPerPixel = 24
  0x01, 0x00, 0x01, 0x00, 0x01, 0x00, //   receive1/4/8BitPerPixel
  0x00, 0x05, 0x00, 0x04, //   desktopWidth = 1280, desktopHeight = 1024
  0x00, 0x00, 0x01, 0x00, //   pad2octets, desktopResizeFlag = 1
  0x01, 0x00, 0x00, 0x00, //   bitmapCompressionFlag = 1, highColorFlags, drawingFlags
  0x01, 0x00, 0x00, 0x00, //   multipleRectangleSupport = 1, pad2octetsB
  0x03, 0x00, 0x58, 0x00, // Order capability set, length 88
  ...zeros(16), //   terminalDescriptor
  0x00, 0x00, 0x00, 0x00, //   pad4octetsA
  0x01, 0x00, 0x14, 0x00, //   desktopSaveXGranularity = 1, desktopSaveYGranularity = 20
  0x00, 0x00, 0x01, 0x00, //   pad2octetsA, maximumOrderLevel = 1
  0x00, 0x00, 0x22, 0x00, //   numberFonts, orderFlags = NEGOTIATEORDERSUPPORT | COLORINDEXSUPPORT
  0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, //   orderSupport
  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, //   textFlags, orderSupportExFlags
  0x00, 0x00, 0x00, 0x00, //   pad4octetsB
  0x40, 0x42, 0x0f, 0x00, //   desktopSaveSize = 1000000
  0x00, 0x00, 0x00, 0x00, //   pad2octetsC, pad2octetsD
  0x00, 0x00, 0x00, 0x00, //   textANSICodePage, pad2octetsE
  0x0a, 0x00, 0x08, 0x00, // Color Cache capability set, length 8
  0x06, 0x00, 0x00, 0x00, //   colorTableCacheSize = 6, pad2octets
  0x12, 0x00, 0x08, 0x00, // Bitmap Cache Host Support capability set, length 8
  0x01, 0x00, 0x00, 0x00, //   cacheVersion = 1, pad1, pad2
  0x08, 0x00, 0x0a, 0x00, // Pointer capability set, length 10
  0x01, 0x00, 0x19, 0x00, 0x19, 0x00, //   colorPointerFlag = 1, colorPointerCacheSize = 25, pointerCacheSize = 25
  0x0d, 0x00, 0x58, 0x00, // Input capability set, length 88
  0x35, 0x00, 0x00, 0x00, //   inputFlags = 0x35, pad2octetsA
  0xa1, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   keyboardLayout, keyboardType (garbage from here on)
  0x0c, 0xf6, 0x13, 0xf3, 0x93, 0x5a, 0x37, 0xf3, //   keyboardSubType, keyboardFunctionKey
  0x00, 0x90, 0x30, 0xe1, 0x34, 0x1c, 0x38, 0xf3, 0x40, 0xf6, 0x13, 0xf3, 0x04, 0x00, 0x00, 0x00, //   imeFileName
  0x4c, 0x54, 0xdc, 0xe2, 0x08, 0x50, 0xdc, 0xe2, 0x01, 0x00, 0x00, 0x00, 0x08, 0x50, 0xdc, 0xe2,
  0x00, 0x00, 0x00, 0x00, 0x38, 0xf6, 0x13, 0xf3, 0x2e, 0x05, 0x38, 0xf3, 0x08, 0x50, 0xdc, 0xe2,
  0x2c, 0xf6, 0x13, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x17, 0x00, 0x08, 0x00, // Remote Programs capability set, length 8
  0x00, 0x00, 0x00, 0x00, //   railSupportLevel = 0
  0x18, 0x00, 0x0b, 0x00, // Window List capability set, length 11
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   wndSupportLevel, numIconCaches, numIconCacheEntries
  0x00, 0x00, 0x00, 0x00, // sessionId
);

// mstsc Confirm Active (IronRDP CLIENT_DEMAND_ACTIVE_PDU_HEADERS_BUFFER + CLIENT_DEMAND_ACTIVE_BUFFER).
const MSTSC_CONFIRM_ACTIVE = bytes(
  0xf0, 0x01, // shareControlHeader.totalLength = 496
  0x13, 0x00, // pduType = TS_PROTOCOL_VERSION | PDUTYPE_CONFIRMACTIVEPDU
  0xef, 0x03, // pduSource = 1007 (the client's user channel)
  0xea, 0x03, 0x01, 0x00, // shareId = 0x000103ea
  0xea, 0x03, // originatorId = 1002
  0x06, 0x00, // lengthSourceDescriptor = 6
  0xda, 0x01, // lengthCombinedCapabilities = 474
  0x4d, 0x53, 0x54, 0x53, 0x43, 0x00, // sourceDescriptor = "MSTSC\0"
  0x12, 0x00, // numberCapabilities = 18
  0x00, 0x00, // pad2Octets
  0x01, 0x00, 0x18, 0x00, // General capability set, length 24
  0x01, 0x00, 0x03, 0x00, //   osMajorType = WINDOWS, osMinorType = WINDOWS_NT
  0x00, 0x02, 0x00, 0x00, //   protocolVersion = 0x200, pad2octetsA
  0x00, 0x00, 0x1d, 0x04, //   generalCompressionTypes, extraFlags = 0x041d
  0x00, 0x00, 0x00, 0x00, //   updateCapabilityFlag, remoteUnshareFlag
  0x00, 0x00, 0x00, 0x00, //   generalCompressionLevel, refreshRectSupport = 0, suppressOutputSupport = 0
  0x02, 0x00, 0x1c, 0x00, // Bitmap capability set, length 28
  0x18, 0x00, //   preferredBitsPerPixel = 24
  0x01, 0x00, 0x01, 0x00, 0x01, 0x00, //   receive1/4/8BitPerPixel
  0x00, 0x05, 0x00, 0x04, //   desktopWidth = 1280, desktopHeight = 1024
  0x00, 0x00, 0x01, 0x00, //   pad2octets, desktopResizeFlag = 1
  0x01, 0x00, 0x00, 0x00, //   bitmapCompressionFlag = 1, highColorFlags, drawingFlags = 0
  0x01, 0x00, 0x00, 0x00, //   multipleRectangleSupport = 1, pad2octetsB
  0x03, 0x00, 0x58, 0x00, // Order capability set, length 88
  ...zeros(16), //   terminalDescriptor
  0x00, 0x00, 0x00, 0x00, //   pad4octetsA
  0x01, 0x00, 0x14, 0x00, //   desktopSaveXGranularity = 1, desktopSaveYGranularity = 20
  0x00, 0x00, 0x01, 0x00, //   pad2octetsA, maximumOrderLevel = 1
  0x00, 0x00, 0x2a, 0x00, //   numberFonts, orderFlags = 0x2a
  0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, //   orderSupport
  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, //   textFlags, orderSupportExFlags
  0x00, 0x00, 0x00, 0x00, //   pad4octetsB
  0x00, 0x84, 0x03, 0x00, //   desktopSaveSize = 230400
  0x00, 0x00, 0x00, 0x00, //   pad2octetsC, pad2octetsD
  0x00, 0x00, 0x00, 0x00, //   textANSICodePage, pad2octetsE
  0x13, 0x00, 0x28, 0x00, // Bitmap Cache Rev. 2 capability set, length 40
  0x03, 0x00, 0x00, 0x03, //   cacheFlags, pad2, numCellCaches = 3
  0x78, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0xfb, 0x09, 0x00, 0x80, //   bitmapCache0-2CellInfo
  ...zeros(20), //   bitmapCache3-4CellInfo, pad3
  0x0a, 0x00, 0x08, 0x00, // Color Cache capability set, length 8
  0x06, 0x00, 0x00, 0x00, //   colorTableCacheSize = 6, pad2octets
  0x07, 0x00, 0x0c, 0x00, // Window Activation capability set, length 12
  ...zeros(8), //   helpKeyFlag, helpKeyIndexFlag, helpExtendedKeyFlag, windowManagerKeyFlag
  0x05, 0x00, 0x0c, 0x00, // Control capability set, length 12
  0x00, 0x00, 0x00, 0x00, //   controlFlags, remoteDetachFlag
  0x02, 0x00, 0x02, 0x00, //   controlInterest = CONTROLPRIORITY_NEVER, detachInterest = CONTROLPRIORITY_NEVER
  0x08, 0x00, 0x0a, 0x00, // Pointer capability set, length 10
  0x01, 0x00, 0x14, 0x00, 0x15, 0x00, //   colorPointerFlag = 1, colorPointerCacheSize = 20, pointerCacheSize = 21
  0x09, 0x00, 0x08, 0x00, // Share capability set, length 8
  0x00, 0x00, 0x00, 0x00, //   nodeId = 0, pad2octets
  0x0d, 0x00, 0x58, 0x00, // Input capability set, length 88
  0x15, 0x00, 0x00, 0x00, //   inputFlags = SCANCODES | MOUSEX | UNICODE, pad2octetsA
  0x09, 0x04, 0x00, 0x00, //   keyboardLayout = 0x409 (en-US)
  0x04, 0x00, 0x00, 0x00, //   keyboardType = 4 (IBM enhanced 101/102)
  0x00, 0x00, 0x00, 0x00, //   keyboardSubType = 0
  0x0c, 0x00, 0x00, 0x00, //   keyboardFunctionKey = 12
  ...zeros(64), //   imeFileName
  0x0c, 0x00, 0x08, 0x00, // Sound capability set, length 8
  0x01, 0x00, 0x00, 0x00, //   soundFlags = SOUND_BEEPS_FLAG, pad2octetsA
  0x0e, 0x00, 0x08, 0x00, // Font capability set, length 8
  0x01, 0x00, 0x00, 0x00, //   fontSupportFlags = FONTSUPPORT_FONTLIST, pad2octets
  0x10, 0x00, 0x34, 0x00, // Glyph Cache capability set, length 52
  0xfe, 0x00, 0x04, 0x00, 0xfe, 0x00, 0x04, 0x00, 0xfe, 0x00, 0x08, 0x00, 0xfe, 0x00, 0x08, 0x00, //   glyphCache[0..3]
  0xfe, 0x00, 0x10, 0x00, 0xfe, 0x00, 0x20, 0x00, 0xfe, 0x00, 0x40, 0x00, 0xfe, 0x00, 0x80, 0x00, //   glyphCache[4..7]
  0xfe, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x08, //   glyphCache[8..9]
  0x00, 0x01, 0x00, 0x01, //   fragCache
  0x03, 0x00, 0x00, 0x00, //   glyphSupportLevel = GLYPH_SUPPORT_ENCODE, pad2octets
  0x0f, 0x00, 0x08, 0x00, // Brush capability set, length 8
  0x01, 0x00, 0x00, 0x00, //   brushSupportLevel = BRUSH_COLOR_8x8
  0x11, 0x00, 0x0c, 0x00, // Offscreen Bitmap Cache capability set, length 12
  0x01, 0x00, 0x00, 0x00, //   offscreenSupportLevel = 1
  0x00, 0x1e, 0x64, 0x00, //   offscreenCacheSize = 7680, offscreenCacheEntries = 100
  0x14, 0x00, 0x0c, 0x00, // Virtual Channel capability set, length 12
  0x01, 0x00, 0x00, 0x00, //   flags = VCCAPS_COMPR_SC
  0x40, 0x06, 0x00, 0x00, //   VCChunkSize = 1600
  0x15, 0x00, 0x0c, 0x00, // Draw Nine Grid Cache capability set, length 12
  0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x01, //   drawNineGridSupportLevel, cache size, entries
  0x16, 0x00, 0x28, 0x00, // Draw GDI+ capability set, length 40
  ...zeros(36),
);

describe('share control / share data headers', () => {
  it('decodes the Windows Server Synchronize PDU of MS-RDPBCGR 4.1.19 (decrypted part)', () => {
    const pdu = decodeSharePdu(
      bytes(
        0x16, 0x00, // totalLength = 22
        0x17, 0x00, // pduType = TS_PROTOCOL_VERSION | PDUTYPE_DATAPDU
        0xea, 0x03, // pduSource = 1002
        0xea, 0x03, 0x01, 0x00, // shareId = 0x000103ea
        0x14, // pad1
        0x00, // streamId = STREAM_UNDEFINED
        0x16, 0x00, // uncompressedLength = 22
        0x1f, // pduType2 = PDUTYPE2_SYNCHRONIZE
        0x00, // compressedType
        0x00, 0x00, // compressedLength
        0x01, 0x00, // messageType = SYNCMSGTYPE_SYNC
        0x63, 0x44, // targetUser (uninitialised in the capture)
      ),
    );
    expect(pdu).toMatchObject({ kind: 'data', pduSource: 1002, shareId: 0x103ea, streamId: 0, pduType2: PduType2.SYNCHRONIZE });
    if (pdu.kind !== 'data') throw new Error('not data');
    expect(decodeSynchronize(pdu.body)).toEqual({ messageType: 1, targetUser: 0x4463 });
  });

  it('decodes the Shutdown Request Denied PDU of MS-RDPBCGR 4.2.2 (decrypted part)', () => {
    const pdu = decodeSharePdu(
      bytes(
        0x12, 0x00, // totalLength = 18
        0x17, 0x00, // pduType = DATAPDU
        0xea, 0x03, // pduSource = 1002
        0xea, 0x03, 0x02, 0x00, // shareId = 0x000203ea
        0xa6, // pad1
        0x02, // streamId = STREAM_MED
        0x12, 0x00, // uncompressedLength
        0x25, // pduType2 = PDUTYPE2_SHUTDOWN_DENIED
        0x00, 0x00, 0x00, // compressedType, compressedLength
      ),
    );
    expect(pdu).toEqual({ kind: 'data', pduSource: 1002, shareId: 0x203ea, streamId: 2, pduType2: 37, body: Buffer.alloc(0) });
  });

  it('encodes a Data PDU header field by field', () => {
    expect(encodeShareData(0x103ea, 1002, PduType2.SET_ERROR_INFO, bytes(1, 2, 3, 4))).toEqual(
      bytes(
        0x16, 0x00, // totalLength = 22
        0x17, 0x00, // pduType = TS_PROTOCOL_VERSION | PDUTYPE_DATAPDU
        0xea, 0x03, // pduSource
        0xea, 0x03, 0x01, 0x00, // shareId
        0x00, // pad1
        0x01, // streamId = STREAM_LOW (default)
        0x04, 0x00, // uncompressedLength = body length
        0x2f, // pduType2 = SET_ERROR_INFO
        0x00, 0x00, 0x00, // compressedType, compressedLength
        0x01, 0x02, 0x03, 0x04, // body
      ),
    );
  });

  it('rejects bulk-compressed data from the client with a clear error', () => {
    const compressed = bytes(0x16, 0x00, 0x17, 0x00, 0xef, 0x03, 0xea, 0x03, 0x01, 0x00, 0x00, 0x01, 0x04, 0x00, 0x1f, 0x21, 0x16, 0x00, 1, 0, 0xea, 3);
    expect(() => decodeSharePdu(compressed)).toThrow(/compress/);
    expectProtocolError(() => decodeSharePdu(compressed), 'RDP_ERR_UNEXPECTED');
  });

  it('splits back-to-back PDUs, passes flow PDUs through and rejects lying lengths', () => {
    const flow = bytes(0x00, 0x80, 0x42, 0x00, 0x01, 0x02, 0xef, 0x03); // flowMarker, FLOW_RESPONSE, id, number, source
    const sync = encodeShareData(0x103ea, 1007, PduType2.SYNCHRONIZE, bytes(1, 0, 0xea, 3));
    const pdus = decodeSharePdus(Buffer.concat([sync, flow, sync, bytes(0, 0)]));
    expect(pdus.map((p) => p.kind)).toEqual(['data', 'flow', 'data']);
    expect(pdus[1]).toEqual({ kind: 'flow', pduTypeFlow: 0x42 });
    expectProtocolError(() => decodeSharePdu(Buffer.concat([sync, sync])), 'RDP_ERR_UNEXPECTED');
    expectProtocolError(() => decodeSharePdu(sync.subarray(0, 20)), 'RDP_ERR_TRUNCATED');
    expectProtocolError(() => decodeSharePdu(bytes(0x05, 0x00, 0x17, 0x00, 0xef, 0x03)), 'RDP_ERR_BAD_LENGTH');
    expectProtocolError(() => decodeSharePdu(bytes(0x0a, 0x00, 0x17, 0x00, 0xef, 0x03, 0, 0, 0, 0)), 'RDP_ERR_BAD_LENGTH');
  });
});

describe('capability exchange', () => {
  it('re-encodes the Windows Demand Active byte for byte from its capability sets', () => {
    const sets = decodeCapabilitySets(new ReadCursor(WINDOWS_DEMAND_ACTIVE.subarray(22)), 13);
    expect(sets.map((s) => s.type)).toEqual([9, 1, 20, 22, 14, 2, 3, 10, 18, 8, 13, 23, 24]);
    const encoded = encodeDemandActive({ shareId: 0x103ea, capabilitySets: sets, sourceDescriptor: 'RDP', sessionId: 0 });
    expect(encoded).toEqual(WINDOWS_DEMAND_ACTIVE);
  });

  it('encodes General, Bitmap, Pointer and Virtual Channel sets as the Windows server does', () => {
    const sets = decodeCapabilitySets(new ReadCursor(WINDOWS_DEMAND_ACTIVE.subarray(22)), 13);
    const byType = (t: number): Buffer => sets.find((s) => s.type === t)!.data;
    expect(
      encodeGeneralCapability({ osMajorType: 1, osMinorType: 3, extraFlags: 0x041d, refreshRectSupport: true, suppressOutputSupport: true }).data,
    ).toEqual(byType(CapabilitySetType.GENERAL));
    expect(
      encodeBitmapCapability({ preferredBitsPerPixel: 24, desktopWidth: 1280, desktopHeight: 1024, desktopResize: true, drawingFlags: 0 }).data,
    ).toEqual(byType(CapabilitySetType.BITMAP));
    expect(encodePointerCapability({ colorPointerCacheSize: 25, pointerCacheSize: 25 }).data).toEqual(byType(CapabilitySetType.POINTER));
    expect(encodeVirtualChannelCapability({ flags: 2, chunkSize: 1600 }).data).toEqual(byType(CapabilitySetType.VIRTUAL_CHANNEL));
  });

  it("builds this server's set with the advertised flags and sizes", () => {
    const sets = buildServerCapabilitySets({ desktopWidth: 1920, desktopHeight: 1080 });
    const caps = summarizeClientCapabilities(sets); // the same layout both ways
    expect(sets.map((s) => s.type)).toEqual([1, 2, 3, 8, 13, 20, 9, 14, 26, 27]);
    expect(caps.general).toMatchObject({ protocolVersion: 0x200, extraFlags: 0x0405, refreshRectSupport: true, suppressOutputSupport: true });
    expect(caps.bitmap).toEqual({ preferredBitsPerPixel: 32, desktopWidth: 1920, desktopHeight: 1080, desktopResizeFlag: true, drawingFlags: 0 });
    expect(caps.order).toEqual({ orderFlags: 0x000a, orderSupport: Buffer.alloc(32) });
    expect(caps.input?.inputFlags).toBe(0x0135);
    expect(caps.pointer).toEqual({ colorPointerCacheSize: 25, pointerCacheSize: 25 });
    expect(caps.multifragmentUpdate).toEqual({ maxRequestSize: (30 * 17 + 1) * 16384 });
    expect(caps.largePointer).toEqual({ flags: 3 });
    expect(sets.map((s) => encodeCapabilitySet(s).length)).toEqual([24, 28, 88, 10, 88, 12, 8, 8, 8, 6]);
    const demandActive = encodeDemandActive({ shareId: 0x103ea, capabilitySets: sets });
    expect(demandActive.readUInt16LE(0)).toBe(demandActive.length);
  });

  it("decodes mstsc's Confirm Active into a typed summary", () => {
    const pdu = decodeSharePdu(MSTSC_CONFIRM_ACTIVE);
    expect(pdu).toMatchObject({ kind: 'confirmActive', pduSource: 1007 });
    if (pdu.kind !== 'confirmActive') throw new Error('not confirm active');
    const confirm = decodeConfirmActive(pdu.body);
    expect(confirm).toMatchObject({ shareId: 0x103ea, originatorId: 1002, sourceDescriptor: 'MSTSC' });
    const caps = confirm.capabilities;
    expect(caps.sets).toHaveLength(18);
    expect(caps.general).toEqual({
      osMajorType: 1,
      osMinorType: 3,
      protocolVersion: 0x200,
      extraFlags: 0x041d,
      fastPathOutput: true,
      noBitmapCompressionHeader: true,
      longCredentials: true,
      autoReconnect: true,
      refreshRectSupport: false,
      suppressOutputSupport: false,
    });
    expect(caps.bitmap).toEqual({ preferredBitsPerPixel: 24, desktopWidth: 1280, desktopHeight: 1024, desktopResizeFlag: true, drawingFlags: 0 });
    expect(caps.order?.orderFlags).toBe(0x2a);
    expect(caps.input).toEqual({
      inputFlags: 0x15,
      keyboardLayout: 0x409,
      keyboardType: 4,
      keyboardSubType: 0,
      keyboardFunctionKey: 12,
      imeFileName: '',
    });
    expect(caps.pointer).toEqual({ colorPointerCacheSize: 20, pointerCacheSize: 21 });
    expect(caps.virtualChannel).toEqual({ flags: 1, chunkSize: 1600 });
    expect(caps.multifragmentUpdate).toBeUndefined();
    expect(clientMaxRequestSize(caps)).toBe(0x3f80);
  });

  it('takes optional fields as absent and records codecs, surface commands, frame acks and large pointers', () => {
    const sets = Buffer.concat([
      bytes(0x08, 0x00, 0x08, 0x00, 0x01, 0x00, 0x14, 0x00), // Pointer, length 8: no pointerCacheSize
      bytes(0x14, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00), // Virtual Channel, length 8: no VCChunkSize
      bytes(0x1a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x3f, 0x00), // Multifragment Update: MaxRequestSize = 0x3f0000
      bytes(0x1b, 0x00, 0x06, 0x00, 0x03, 0x00), // Large Pointer: 96x96 | 384x384
      bytes(0x1c, 0x00, 0x0c, 0x00, 0x52, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00), // Surface Commands: cmdFlags = 0x52
      bytes(0x1e, 0x00, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00), // Frame Acknowledge: 2 frames
      bytes(0x1d, 0x00, 0x1b, 0x00, // Bitmap Codecs, length 27
        0x01, //   bitmapCodecCount = 1
        0xb9, 0x1b, 0x8d, 0xca, 0x0f, 0x00, 0x4f, 0x15, 0x58, 0x9f, 0xae, 0x2d, 0x1a, 0x87, 0xe2, 0xd6, //   codecGUID = NSCodec
        0x01, //   codecID = 1
        0x03, 0x00, //   codecPropertiesLength = 3
        0x01, 0x01, 0x03), //   fAllowDynamicFidelity, fAllowSubsampling, colorLossLevel
      bytes(0x77, 0x00, 0x05, 0x00, 0xff), // unknown type 0x77, skipped by its length
    ]);
    const caps = summarizeClientCapabilities(decodeCapabilitySets(new ReadCursor(sets), 8));
    expect(caps.pointer).toEqual({ colorPointerCacheSize: 20, pointerCacheSize: undefined });
    expect(caps.virtualChannel).toEqual({ flags: 0, chunkSize: undefined });
    expect(caps.multifragmentUpdate).toEqual({ maxRequestSize: 0x3f0000 });
    expect(clientMaxRequestSize(caps)).toBe(0x3f0000);
    expect(caps.largePointer).toEqual({ flags: 3 });
    expect(caps.surfaceCommands).toEqual({ cmdFlags: 0x52 });
    expect(caps.frameAcknowledge).toEqual({ maxUnacknowledgedFrameCount: 2 });
    expect(caps.bitmapCodecs).toEqual({ codecs: [{ guid: CodecGuid.NSCODEC, id: 1 }] });
    expect(caps.sets.at(-1)).toEqual({ type: 0x77, data: bytes(0xff) });
  });

  it('limits the number of sets and rejects short set headers', () => {
    expectProtocolError(() => decodeCapabilitySets(new ReadCursor(Buffer.alloc(1024)), 65), 'RDP_ERR_BAD_LENGTH');
    expectProtocolError(() => decodeCapabilitySets(new ReadCursor(bytes(1, 0, 3, 0)), 1), 'RDP_ERR_BAD_LENGTH');
    expectProtocolError(() => decodeCapabilitySets(new ReadCursor(bytes(1, 0, 24, 0, 0)), 1), 'RDP_ERR_TRUNCATED');
    expectProtocolError(() => summarizeClientCapabilities([{ type: CapabilitySetType.GENERAL, data: Buffer.alloc(10) }]), 'RDP_ERR_TRUNCATED');
  });

  it('encodes Deactivate All', () => {
    expect(encodeDeactivateAll(0x103ea)).toEqual(
      bytes(
        0x0d, 0x00, // totalLength = 13
        0x16, 0x00, // pduType = TS_PROTOCOL_VERSION | PDUTYPE_DEACTIVATEALLPDU
        0xea, 0x03, // pduSource
        0xea, 0x03, 0x01, 0x00, // shareId
        0x01, 0x00, // lengthSourceDescriptor = 1
        0x00, // sourceDescriptor
      ),
    );
  });
});

describe('connection finalization', () => {
  // From IronRDP rdp.rs: CLIENT_SYNCHRONIZE_BUFFER, CONTROL_COOPERATE_BUFFER, CLIENT_FONT_LIST_BUFFER.
  const clientData = (pduType2: number, ...body: number[]): Buffer =>
    bytes(
      6 + 12 + body.length, 0x00, // totalLength
      0x17, 0x00, // pduType = DATAPDU
      0xef, 0x03, // pduSource = 1007
      0xea, 0x03, 0x01, 0x00, // shareId
      0x00, // pad1
      0x01, // streamId = STREAM_LOW
      body.length, 0x00, // uncompressedLength
      pduType2,
      0x00, 0x00, 0x00, // compressedType, compressedLength
      ...body,
    );

  const decodeData = (b: Buffer) => {
    const pdu = decodeSharePdu(b);
    if (pdu.kind !== 'data') throw new Error('not data');
    return decodeClientDataPdu(pdu.pduType2, pdu.body);
  };

  it('decodes the client Synchronize, Control and Font List PDUs', () => {
    expect(decodeData(clientData(0x1f, 0x01, 0x00, 0xea, 0x03))).toEqual({ kind: 'synchronize', messageType: 1, targetUser: 1002 });
    expect(decodeData(clientData(0x14, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00))).toEqual({
      kind: 'control',
      action: ControlAction.COOPERATE,
      grantId: 0,
      controlId: 0,
    });
    expect(decodeData(clientData(0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00))).toMatchObject({ action: ControlAction.REQUEST_CONTROL });
    expect(decodeData(clientData(0x27, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x32, 0x00))).toEqual({
      kind: 'fontList',
      numberFonts: 0,
      totalNumFonts: 0,
      listFlags: 3,
      entrySize: 0x32,
    });
    expect(decodeData(clientData(0x24))).toEqual({ kind: 'shutdownRequest' });
    expectProtocolError(() => decodeControl(bytes(0x09, 0, 0, 0, 0, 0, 0, 0)), 'RDP_ERR_BAD_VALUE');
    expectProtocolError(() => decodeFontList(bytes(0, 0, 0)), 'RDP_ERR_TRUNCATED');
  });

  it('encodes Granted Control and Font Map exactly as IronRDP expects a server to', () => {
    expect(encodeControlGrantedControl(0x103ea, 1007)).toEqual(
      bytes(
        0x1a, 0x00, 0x17, 0x00, 0xea, 0x03, // share control header: 26 bytes, DATAPDU, source 1002
        0xea, 0x03, 0x01, 0x00, 0x00, 0x02, 0x08, 0x00, 0x14, 0x00, 0x00, 0x00, // share data header: STREAM_MED, CONTROL
        0x02, 0x00, // action = CTRLACTION_GRANTED_CONTROL
        0xef, 0x03, // grantId = 1007 (user channel)
        0xea, 0x03, 0x00, 0x00, // controlId = 1002 (server channel)
      ),
    );
    expect(encodeFontMap(0x103ea)).toEqual(
      bytes(
        0x1a, 0x00, 0x17, 0x00, 0xea, 0x03, // share control header
        0xea, 0x03, 0x01, 0x00, 0x00, 0x02, 0x08, 0x00, 0x28, 0x00, 0x00, 0x00, // share data header: FONTMAP
        0x00, 0x00, // numberEntries
        0x00, 0x00, // totalNumEntries
        0x03, 0x00, // mapFlags = FONTMAP_FIRST | FONTMAP_LAST
        0x04, 0x00, // entrySize = 4
      ),
    );
  });

  it('encodes the other server data PDUs', () => {
    const body = (b: Buffer) => b.subarray(18);
    const type2 = (b: Buffer) => b[14];
    expect(body(encodeSynchronize(0x103ea, 1007))).toEqual(bytes(0x01, 0x00, 0xef, 0x03));
    expect(body(encodeControlCooperate(0x103ea))).toEqual(bytes(0x04, 0x00, 0, 0, 0, 0, 0, 0));
    expect(type2(encodeShutdownDenied(1))).toBe(PduType2.SHUTDOWN_DENIED);
    expect(encodeShutdownDenied(1)).toHaveLength(18);
    expect(body(encodeSetErrorInfo(1, 0x0000000c))).toEqual(bytes(0x0c, 0, 0, 0));
    expect(body(encodeSetKeyboardIndicators(1, { numLock: true, capsLock: true }))).toEqual(bytes(0, 0, 0x06, 0x00));
    const logon = encodeSaveSessionInfoLogon(1);
    expect(type2(logon)).toBe(PduType2.SAVE_SESSION_INFO);
    expect(body(logon)).toEqual(Buffer.concat([bytes(2, 0, 0, 0), Buffer.alloc(576)]));
    const sync = decodeSharePdu(encodeSynchronize(0x103ea, 1007));
    expect(sync).toMatchObject({ kind: 'data', pduSource: SERVER_CHANNEL_ID, streamId: StreamId.MED });
  });

  it('decodes Refresh Rect and Suppress Output', () => {
    expect(
      decodeRefreshRect(
        bytes(
          0x02, 0x00, 0x00, 0x00, // numberOfAreas = 2, pad3Octets
          0x00, 0x00, 0x00, 0x00, 0x7f, 0x07, 0x37, 0x04, // 0,0 - 1919,1079
          0x0a, 0x00, 0x0a, 0x00, 0x05, 0x00, 0x0a, 0x00, // inverted: dropped
        ),
      ),
    ).toEqual([{ left: 0, top: 0, right: 1919, bottom: 1079 }]);
    expectProtocolError(() => decodeRefreshRect(bytes(0x03, 0, 0, 0, ...zeros(16))), 'RDP_ERR_TRUNCATED');
    expect(decodeSuppressOutput(bytes(0x00, 0, 0, 0))).toEqual({ allowDisplayUpdates: false });
    expect(decodeSuppressOutput(bytes(0x01, 0, 0, 0, 0, 0, 0, 0, 0x1f, 0x03, 0x57, 0x02))).toEqual({
      allowDisplayUpdates: true,
      rect: { left: 0, top: 0, right: 799, bottom: 599 },
    });
  });
});

describe('input', () => {
  it('decodes the fast-path input PDU of IronRDP tests/pdu/input.rs', () => {
    const frame = bytes(
      0x18, // fpInputHeader: action FASTPATH, numEvents = 6, no flags
      0x2c, // length = 44
      0x20, 0x00, 0x90, 0x1a, 0x00, 0x26, 0x04, // mouse: PTRFLAGS_DOWN | BUTTON1 at 26,1062
      0x20, 0x00, 0x08, 0x1b, 0x00, 0x26, 0x04, // mouse: PTRFLAGS_MOVE to 27,1062
      0x20, 0x00, 0x10, 0x1b, 0x00, 0x26, 0x04, // mouse: BUTTON1 up at 27,1062
      0x20, 0x00, 0x08, 0x1a, 0x00, 0x27, 0x04, // mouse: move to 26,1063
      0x20, 0x00, 0x08, 0x19, 0x00, 0x27, 0x04, // mouse: move to 25,1063
      0x20, 0x00, 0x08, 0x19, 0x00, 0x28, 0x04, // mouse: move to 25,1064
    );
    expect(peekFastPathLength(frame)).toBe(44);
    expect(decodeFastPathInput(frame)).toEqual([
      { kind: 'mouse', x: 26, y: 1062, move: false, buttons: [{ index: 1, down: true }] },
      { kind: 'mouse', x: 27, y: 1062, move: true, buttons: [] },
      { kind: 'mouse', x: 27, y: 1062, move: false, buttons: [{ index: 1, down: false }] },
      { kind: 'mouse', x: 26, y: 1063, move: true, buttons: [] },
      { kind: 'mouse', x: 25, y: 1063, move: true, buttons: [] },
      { kind: 'mouse', x: 25, y: 1064, move: true, buttons: [] },
    ]);
  });

  it('decodes every fast-path event type (MS-RDPBCGR 2.2.8.1.2.2)', () => {
    const frame = bytes(
      0x00, // fpInputHeader: action FASTPATH, numEvents 0 (the count byte follows the length)
      0x21, // length = 33
      0x08, // numEvents = 8
      0x02, 0x1d, // scancode, eventFlags EXTENDED: right Ctrl (E0 1D) down
      0x05, 0x1d, // scancode, eventFlags RELEASE | EXTENDED1: Pause's E1 1D up
      0x80, 0x41, 0x00, // unicode 'A' down
      0x81, 0x3d, 0xd8, // unicode U+D83D (high surrogate) up
      0x40, 0x02, 0x80, 0x0a, 0x00, 0x0b, 0x00, // mousex: PTRXFLAGS_DOWN | BUTTON2 at 10,11
      0x66, // sync: eventFlags NUM_LOCK | CAPS_LOCK
      0xa0, 0x00, 0x18, 0xfb, 0xff, 0x03, 0x00, // relative mouse: MOVE | BUTTON1, dx -5, dy +3
      0xc0, 0x10, 0x27, 0x00, 0x00, // QoE timestamp 10000 ms
    );
    const decoded = decodeFastPathInput(frame);
    expect(decoded).toEqual<InputEvent[]>([
      { kind: 'scancode', code: 0x1d, release: false, extended: true, extended1: false },
      { kind: 'scancode', code: 0x1d, release: true, extended: false, extended1: true },
      { kind: 'unicode', codeUnit: 0x41, release: false },
      { kind: 'unicode', codeUnit: 0xd83d, release: true },
      { kind: 'mouse', x: 10, y: 11, move: false, buttons: [{ index: 5, down: true }] },
      { kind: 'sync', scrollLock: false, numLock: true, capsLock: true, kanaLock: false },
      { kind: 'relativeMouse', dx: -5, dy: 3, move: true, buttons: [{ index: 1, down: false }] },
      { kind: 'qoeTimestamp', timestampMs: 10000 },
    ]);
  });

  it('handles the wheel rotation sign (9-bit two’s complement)', () => {
    expect(wheelDelta(0x0278)).toBe(120); // PTRFLAGS_WHEEL | 0x78
    expect(wheelDelta(0x0388)).toBe(-120); // PTRFLAGS_WHEEL | WHEEL_NEGATIVE | 0x88
    expect(wheelDelta(0x03ff)).toBe(-1);
    expect(wheelDelta(0x0300)).toBe(-256);
    expect(wheelDelta(0x02ff)).toBe(255);
    const wheel = (flags: number) => decodeFastPathInput(bytes(0x04, 0x09, 0x20, flags & 0xff, flags >> 8, 5, 0, 6, 0))[0];
    expect(wheel(0x0278)).toEqual({ kind: 'mouse', x: 5, y: 6, move: false, buttons: [], wheel: { vertical: true, delta: 120 } });
    expect(wheel(0x0388)).toMatchObject({ wheel: { vertical: true, delta: -120 } });
    expect(wheel(0x0588)).toMatchObject({ wheel: { vertical: false, delta: -120 } }); // HWHEEL: left
    expect(wheel(0x0478)).toMatchObject({ wheel: { vertical: false, delta: 120 } }); // HWHEEL: right
    expect(wheel(0x9278)).toMatchObject({ buttons: [], wheel: { delta: 120 } }); // other flags ignored
  });

  it('decodes the slow-path Input Event PDU (TS_INPUT_PDU_DATA)', () => {
    const body = bytes(
      0x05, 0x00, // numEvents = 5
      0x00, 0x00, // pad2Octets
      0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, // SYNC: toggleFlags = SCROLL | NUM
      0x11, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x81, 0x1e, 0x00, 0x00, 0x00, // SCANCODE: RELEASE | EXTENDED, 0x1e
      0x12, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0xe9, 0x00, 0x00, 0x00, // UNICODE: 'é' down
      0x13, 0x00, 0x00, 0x00, 0x01, 0x80, 0x00, 0xa0, 0x64, 0x00, 0xc8, 0x00, // MOUSE: DOWN | BUTTON2 at 100,200
      0x14, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // UNUSED: skipped
    );
    expect(decodeSlowPathInput(body)).toEqual<InputEvent[]>([
      { kind: 'sync', scrollLock: true, numLock: true, capsLock: false, kanaLock: false },
      { kind: 'scancode', code: 0x1e, release: true, extended: true, extended1: false },
      { kind: 'unicode', codeUnit: 0xe9, release: false },
      { kind: 'mouse', x: 100, y: 200, move: false, buttons: [{ index: 2, down: true }] },
    ]);
    expectProtocolError(() => decodeSlowPathInput(body.subarray(0, 30)), 'RDP_ERR_TRUNCATED');
    expectProtocolError(() => decodeSlowPathInput(bytes(0xff, 0xff, 0, 0)), 'RDP_ERR_BAD_LENGTH');
  });

  it('rejects encrypted, mis-framed and unknown fast-path input', () => {
    expectProtocolError(() => decodeFastPathInput(bytes(0x84, 0x04, 0x60, 0x00)), 'RDP_ERR_UNEXPECTED'); // ENCRYPTED flag
    expectProtocolError(() => decodeFastPathInput(bytes(0x03, 0x00, 0x00, 0x04)), 'RDP_ERR_UNEXPECTED'); // TPKT, not fast-path
    expectProtocolError(() => decodeFastPathInput(bytes(0x04, 0x05, 0x60, 0x00)), 'RDP_ERR_BAD_LENGTH'); // length 5, 4 given
    expectProtocolError(() => decodeFastPathInput(bytes(0x04, 0x03, 0xe0)), 'RDP_ERR_UNEXPECTED'); // eventCode 7
    expectProtocolError(() => decodeFastPathInput(bytes(0x04, 0x04, 0x20, 0x00)), 'RDP_ERR_TRUNCATED');
    expect(peekFastPathLength(bytes(0x04))).toBeUndefined();
    expect(peekFastPathLength(bytes(0x04, 0x81))).toBeUndefined();
    expect(peekFastPathLength(bytes(0x04, 0x81, 0x02))).toBe(0x102);
    expectProtocolError(() => peekFastPathLength(bytes(0x04, 0x01)), 'RDP_ERR_BAD_LENGTH');
  });
});

/** Splits fast-path output frames back into updates, reassembling fragments (test oracle). */
function reassemble(frames: Buffer[]): { updateCode: number; fragments: number[]; data: Buffer }[] {
  const out: { updateCode: number; fragments: number[]; data: Buffer }[] = [];
  let pending: { updateCode: number; fragments: number[]; parts: Buffer[] } | undefined;
  for (const frame of frames) {
    expect(frame[0]).toBe(0);
    const length = peekFastPathLength(frame);
    expect(length).toBe(frame.length);
    expect(frame.length).toBeLessThanOrEqual(0x3fff);
    let pos = frame[1]! & 0x80 ? 3 : 2;
    while (pos < frame.length) {
      const header = frame[pos]!;
      const size = frame.readUInt16LE(pos + 1);
      const data = frame.subarray(pos + 3, pos + 3 + size);
      pos += 3 + size;
      const updateCode = header & 0x0f;
      const fragmentation = (header >> 4) & 0x3;
      expect(header >> 6).toBe(0);
      if (fragmentation === 0) out.push({ updateCode, fragments: [0], data: Buffer.from(data) });
      else if (fragmentation === 2) pending = { updateCode, fragments: [2], parts: [data] };
      else {
        expect(pending?.updateCode).toBe(updateCode);
        pending!.fragments.push(fragmentation);
        pending!.parts.push(data);
        if (fragmentation === 1) {
          out.push({ updateCode, fragments: pending!.fragments, data: Buffer.concat(pending!.parts) });
          pending = undefined;
        }
      }
    }
    expect(pos).toBe(frame.length);
  }
  expect(pending).toBeUndefined();
  return out;
}

describe('fast-path output', () => {
  const payload = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));

  it('sends exactly 16,374 bytes as one SINGLE update in one frame', () => {
    const frames = encodeFastPathUpdates([{ updateCode: FastPathUpdateCode.BITMAP, data: payload(MAX_FRAGMENT_SIZE) }], 1 << 20);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.subarray(0, 6)).toEqual(
      bytes(
        0x00, // fpOutputHeader: action FASTPATH, no flags
        0xbf, 0xfc, // length = 0x3ffc = 16380 (two-byte form)
        0x01, // updateHeader: BITMAP, FASTPATH_FRAGMENT_SINGLE, no compression
        0xf6, 0x3f, // size = 16374
      ),
    );
    expect(reassemble(frames)).toEqual([{ updateCode: 1, fragments: [0], data: payload(MAX_FRAGMENT_SIZE) }]);
  });

  it('splits one byte over into FIRST + LAST', () => {
    const frames = encodeFastPathUpdates([{ updateCode: FastPathUpdateCode.BITMAP, data: payload(MAX_FRAGMENT_SIZE + 1) }], 1 << 20);
    expect(frames).toHaveLength(2);
    expect(frames[0]![3]).toBe(0x21); // BITMAP | FIRST << 4
    expect(frames[1]).toEqual(bytes(0x00, 0x06, 0x11, 0x01, 0x00, payload(MAX_FRAGMENT_SIZE + 1).at(-1)!)); // short length, LAST
    expect(reassemble(frames)).toEqual([{ updateCode: 1, fragments: [2, 1], data: payload(MAX_FRAGMENT_SIZE + 1) }]);
  });

  it('uses NEXT fragments for big updates and packs small updates together', () => {
    const big = payload(3 * MAX_FRAGMENT_SIZE + 10);
    const frames = encodeFastPathUpdates(
      [encodePointerPosition(10, 20), HIDDEN_POINTER, { updateCode: FastPathUpdateCode.SURFCMDS, data: big }, DEFAULT_POINTER],
      1 << 20,
    );
    const updates = reassemble(frames);
    expect(updates.map((u) => [u.updateCode, u.fragments])).toEqual([
      [8, [0]],
      [5, [0]],
      [4, [2, 3, 3, 1]],
      [6, [0]],
    ]);
    expect(updates[0]!.data).toEqual(bytes(10, 0, 20, 0));
    expect(updates[2]!.data).toEqual(big);
    // Small updates share frames: position + hidden pointer, then the last fragment + default pointer.
    expect(frames).toHaveLength(5);
    expect(encodeFastPathUpdates([HIDDEN_POINTER], 100)).toEqual([bytes(0x00, 0x05, 0x05, 0x00, 0x00)]);
  });

  it("keeps every update within the client's maxRequestSize", () => {
    expect(() => encodeFastPathUpdates([{ updateCode: 1, data: payload(20000) }], 19999)).toThrow(RangeError);
    expect(encodeFastPathUpdates([{ updateCode: 1, data: payload(20000) }], 20000)).toHaveLength(2);
    expect(() => encodeFastPathUpdates([{ updateCode: 16, data: payload(1) }], 100)).toThrow(RangeError);
  });
});

describe('bitmap updates', () => {
  const rect = (x: number, y: number, w: number, h: number, compressed = false): BitmapRect =>
    bitmapRectAt(x, y, { width: w, height: h, bitsPerPixel: 32, compressed, data: Buffer.alloc(w * h * 4, 0xab) });

  it('encodes TS_UPDATE_BITMAP_DATA with inclusive destination edges', () => {
    expect(encodeBitmapUpdateData([rect(10, 20, 2, 1)])).toEqual(
      bytes(
        0x01, 0x00, // updateType = UPDATETYPE_BITMAP
        0x01, 0x00, // numberRectangles = 1
        0x0a, 0x00, 0x14, 0x00, // destLeft = 10, destTop = 20
        0x0b, 0x00, 0x14, 0x00, // destRight = 11, destBottom = 20 (inclusive)
        0x02, 0x00, 0x01, 0x00, // width = 2, height = 1
        0x20, 0x00, // bitsPerPixel = 32
        0x00, 0x00, // flags: uncompressed
        0x08, 0x00, // bitmapLength = 8
        ...new Array<number>(8).fill(0xab), // bitmapDataStream
      ),
    );
    const compressed = encodeBitmapUpdateData([rect(0, 0, 1, 1, true)]);
    expect(compressed.readUInt16LE(18)).toBe(0x0401); // BITMAP_COMPRESSION | NO_BITMAP_COMPRESSION_HDR
    const withHeader = encodeBitmapUpdateData([rect(0, 0, 1, 1, true)], { compressionHeader: true });
    expect(withHeader.subarray(18)).toEqual(
      bytes(
        0x01, 0x00, // flags = BITMAP_COMPRESSION
        0x0c, 0x00, // bitmapLength = 8 + 4
        0x00, 0x00, // cbCompFirstRowSize
        0x04, 0x00, // cbCompMainBodySize
        0x04, 0x00, // cbScanWidth
        0x04, 0x00, // cbUncompressedSize
        0xab, 0xab, 0xab, 0xab,
      ),
    );
    expect(() => encodeBitmapUpdateData([rect(0, 0, 128, 128)])).toThrow(RangeError); // 64 KiB of data
  });

  it('splits rectangles into batches within a size limit', () => {
    const rects = [rect(0, 0, 64, 64), rect(64, 0, 64, 64), rect(0, 64, 16, 16), rect(16, 64, 64, 64)];
    const limit = 4 + 2 * (18 + 16384);
    const batches = splitBitmapRects(rects, limit);
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    expect(batches.flat()).toEqual(rects);
    for (const b of batches) expect(encodeBitmapUpdateData(b).length).toBeLessThanOrEqual(limit);
    expect(() => splitBitmapRects(rects, 1000)).toThrow(RangeError);
  });
});

describe('pointer updates', () => {
  /** A w×h cursor with a diagonal of opaque colours, half-transparent edge and transparent rest. */
  function cursor(w: number, h: number, hotX = 0, hotY = 0): CursorImage {
    const data = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        if (x === y % w) data.set([x & 0xff, y & 0xff, 0x80, 0xff], i);
        else if (x === 0) data.set([0x10, 0x20, 0x30, 0x40], i);
      }
    }
    return { width: w, height: h, hotX, hotY, data };
  }

  it('encodes a 32-bpp New Pointer Update field by field', () => {
    const image: CursorImage = { width: 2, height: 2, hotX: 1, hotY: 0, data: bytes(1, 2, 3, 255, 0, 0, 0, 0, 4, 5, 6, 128, 7, 8, 9, 255) };
    const update = encodePointerImage(image, { cacheIndex: 3 });
    expect(update.updateCode).toBe(FastPathUpdateCode.POINTER);
    expect(update.data).toEqual(
      bytes(
        0x20, 0x00, // xorBpp = 32
        0x03, 0x00, // cacheIndex = 3
        0x01, 0x00, 0x00, 0x00, // hotSpot = (1, 0)
        0x02, 0x00, 0x02, 0x00, // width = 2, height = 2
        0x04, 0x00, // lengthAndMask = 2 rows × 2 bytes
        0x10, 0x00, // lengthXorMask = 2 rows × 8 bytes
        4, 5, 6, 128, 7, 8, 9, 255, // XOR, bottom row first
        1, 2, 3, 255, 0, 0, 0, 0, // XOR, top row (right pixel transparent)
        0x00, 0x00, // AND, bottom row
        0x40, 0x00, // AND, top row: second pixel transparent
      ),
    );
  });

  it('round-trips 32-bpp, large and 24-bpp pointers', () => {
    for (const [image, flags, code] of [
      [cursor(5, 3, 2, 1), 0, FastPathUpdateCode.POINTER],
      [cursor(32, 32, 31, 31), 0, FastPathUpdateCode.POINTER],
      [cursor(96, 90, 5, 5), 1, FastPathUpdateCode.POINTER],
      [cursor(150, 100, 7, 9), 3, FastPathUpdateCode.LARGE_POINTER],
    ] as const) {
      const update = encodePointerImage(image, { largePointerFlags: flags });
      expect(update.updateCode).toBe(code);
      expect(pointerShapeToImage(decodePointerShape(update))).toEqual(image);
    }
    const image = cursor(3, 2, 1, 1);
    const color = encodePointerImage(image, { colorOnly: true });
    expect(color.updateCode).toBe(FastPathUpdateCode.COLOR);
    const shape = decodePointerShape(color);
    expect(shape).toMatchObject({ xorBpp: 24, width: 3, height: 2 });
    expect(shape.xorMask).toHaveLength(2 * 10); // 3 px × 3 bytes, padded to 10
    const back = pointerShapeToImage(shape).data;
    // 24 bpp: opaque pixels keep their colour, the alpha-0x40 edge becomes transparent.
    expect(back.subarray(0, 4)).toEqual(bytes(0, 0, 0x80, 0xff));
    expect(back.subarray(12, 16)).toEqual(bytes(0, 0, 0, 0));
  });

  it('clips oversized cursors around the hotspot', () => {
    const image = cursor(100, 100, 60, 70);
    const as96 = decodePointerShape(encodePointerImage(image, { largePointerFlags: 1 }));
    expect(as96).toMatchObject({ width: 96, height: 96, hotX: 60, hotY: 70 });
    const as32 = decodePointerShape(encodePointerImage(image));
    expect(as32).toMatchObject({ width: 32, height: 32, hotX: 16, hotY: 16 });
    const clipped = pointerShapeToImage(as32);
    // The 32×32 window starts at (44, 54): its pixel (0, 0) is the source's (44, 54).
    const src = (54 * 100 + 44) * 4;
    expect(clipped.data.subarray(0, 4)).toEqual(image.data.subarray(src, src + 4));
    const small = decodePointerShape(encodePointerImage(cursor(96, 96), { largePointerFlags: 3, maxRequestSize: 0x3f80 }));
    expect(small).toMatchObject({ width: 48, height: 48 });
    expect(encodePointerImage({ width: 0, height: 0, hotX: 0, hotY: 0, data: Buffer.alloc(0) })).toBe(HIDDEN_POINTER);
    expect(() => encodePointerImage({ width: 2, height: 2, hotX: 0, hotY: 0, data: Buffer.alloc(15) })).toThrow(RangeError);
  });

  it('encodes position, cached, system pointers and their slow-path form', () => {
    expect(encodePointerPosition(0x123, 0x45)).toEqual({ updateCode: 8, data: bytes(0x23, 0x01, 0x45, 0x00) });
    expect(encodeCachedPointer(7)).toEqual({ updateCode: 10, data: bytes(7, 0) });
    expect(pointerUpdateToSlowPath(HIDDEN_POINTER)).toEqual(bytes(0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)); // SYSTEM, SYSPTR_NULL
    expect(pointerUpdateToSlowPath(DEFAULT_POINTER)).toEqual(bytes(0x01, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00)); // SYSPTR_DEFAULT
    expect(pointerUpdateToSlowPath(encodePointerPosition(1, 2))).toEqual(bytes(0x03, 0x00, 0x00, 0x00, 1, 0, 2, 0));
    const shape = encodePointerImage(cursor(4, 4));
    expect(pointerUpdateToSlowPath(shape)).toEqual(Buffer.concat([bytes(0x08, 0x00, 0x00, 0x00), shape.data]));
    expect(encodeShareData(1, 1002, PduType2.POINTER, pointerUpdateToSlowPath(HIDDEN_POINTER)).readUInt16LE(2)).toBe(0x10 | PduType.DATA);
  });

  it('rejects inconsistent pointer shapes', () => {
    const update = encodePointerImage(cursor(4, 4));
    const bad = Buffer.from(update.data);
    bad.writeUInt16LE(99, 12); // lengthAndMask
    expectProtocolError(() => decodePointerShape({ ...update, data: bad }), 'RDP_ERR_BAD_LENGTH');
    expectProtocolError(() => decodePointerShape({ ...update, data: update.data.subarray(0, 20) }));
    expectProtocolError(() => decodePointerShape(HIDDEN_POINTER), 'RDP_ERR_UNEXPECTED');
  });
});
