// Display Control dynamic channel PDUs (MS-RDPEDISP 2.2): the server states its limits
// (DISPLAYCONTROL_CAPS_PDU), the client asks for a monitor layout whenever its window or its
// monitors change (DISPLAYCONTROL_MONITOR_LAYOUT_PDU). Every PDU starts with an 8-byte
// DISPLAYCONTROL_HEADER: Type and Length (the whole PDU, header included), little-endian.
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

/** The dynamic channel's name (MS-RDPEDISP 1.3). */
export const DISPLAY_CONTROL_CHANNEL_NAME = 'Microsoft::Windows::RDS::DisplayControl';

export const DisplayControlPduType = {
  MONITOR_LAYOUT: 0x00000002,
  CAPS: 0x00000005,
} as const;

/** Monitor Flags (2.2.2.2.1): the primary monitor, whose top-left corner is at (0, 0). */
export const DISPLAYCONTROL_MONITOR_PRIMARY = 0x00000001;

const HEADER_LENGTH = 8;
/** DISPLAYCONTROL_CAPS_PDU: header + three 32-bit fields. */
const CAPS_PDU_LENGTH = HEADER_LENGTH + 12;
/** Header, MonitorLayoutSize and NumMonitors before the monitors. */
const LAYOUT_FIXED_LENGTH = HEADER_LENGTH + 8;
/** MonitorLayoutSize MUST be 40, the size of one DISPLAYCONTROL_MONITOR_LAYOUT (2.2.2.2). */
export const MONITOR_LAYOUT_SIZE = 40;
/** Monitors accepted in one layout PDU (a client has a handful; this bounds what we read). */
export const MAX_LAYOUT_MONITORS = 16;

/** Width and Height limits (2.2.2.2.1); the width MUST NOT be odd either. */
export const MIN_MONITOR_DIMENSION = 200;
export const MAX_MONITOR_DIMENSION = 8192;

export interface DisplayControlCaps {
  /** Monitors the server takes in a layout. */
  maxNumMonitors: number;
  /** The largest layout area is MaxNumMonitors x FactorA x FactorB square pixels (2.2.2.1). */
  maxMonitorAreaFactorA: number;
  maxMonitorAreaFactorB: number;
}

/** DISPLAYCONTROL_CAPS_PDU (2.2.2.1), server to client. */
export function encodeDisplayControlCaps(caps: DisplayControlCaps): Buffer {
  return new WriteCursor(CAPS_PDU_LENGTH)
    .u32le(DisplayControlPduType.CAPS)
    .u32le(CAPS_PDU_LENGTH)
    .u32le(caps.maxNumMonitors)
    .u32le(caps.maxMonitorAreaFactorA)
    .u32le(caps.maxMonitorAreaFactorB)
    .toBuffer();
}

/**
 * One DISPLAYCONTROL_MONITOR_LAYOUT (2.2.2.2.1). Fields the specification says MUST be ignored
 * when out of range are undefined then.
 */
export interface MonitorLayout {
  flags: number;
  primary: boolean;
  left: number;
  top: number;
  width: number;
  height: number;
  /** Millimetres; both undefined unless both are within 10..10000. */
  physicalWidth: number | undefined;
  physicalHeight: number | undefined;
  /** Degrees clockwise: 0, 90, 180 or 270; undefined for any other value. */
  orientation: 0 | 90 | 180 | 270 | undefined;
  /** Percent; both undefined unless desktop is 100..500 and device is 100, 140 or 180. */
  desktopScaleFactor: number | undefined;
  deviceScaleFactor: number | undefined;
}

/**
 * Decodes a DISPLAYCONTROL_MONITOR_LAYOUT_PDU (2.2.2.2), one whole DVC message. Throws
 * RdpProtocolError: RDP_ERR_TRUNCATED / RDP_ERR_BAD_LENGTH / RDP_ERR_UNEXPECTED when the PDU's
 * structure is broken (wrong type, lengths that disagree, more than `maxMonitors`), and
 * RDP_ERR_BAD_VALUE when it is well formed but asks for a layout the specification forbids
 * (a size outside 200..8192 or an odd width, not exactly one primary monitor, a primary
 * monitor not at (0, 0), no monitor at all). Such a layout MUST NOT be applied (3.1.5.2).
 */
export function decodeMonitorLayoutPdu(message: Buffer, maxMonitors = MAX_LAYOUT_MONITORS): MonitorLayout[] {
  const c = new ReadCursor(message, 'DISPLAYCONTROL_MONITOR_LAYOUT_PDU');
  const type = c.u32le();
  const length = c.u32le();
  if (type !== DisplayControlPduType.MONITOR_LAYOUT) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `display control: PDU type 0x${type.toString(16)} from the client (only monitor layouts are expected)`);
  }
  if (length !== message.length) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `display control: header Length ${length}, message of ${message.length} bytes`);
  }
  const layoutSize = c.u32le();
  const count = c.u32le();
  if (layoutSize !== MONITOR_LAYOUT_SIZE) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `display control: MonitorLayoutSize ${layoutSize}, must be ${MONITOR_LAYOUT_SIZE}`);
  }
  if (count > maxMonitors) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `display control: ${count} monitors, at most ${maxMonitors} accepted`);
  }
  if (length !== LAYOUT_FIXED_LENGTH + count * MONITOR_LAYOUT_SIZE) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `display control: ${count} monitors need ${LAYOUT_FIXED_LENGTH + count * MONITOR_LAYOUT_SIZE} bytes, the PDU has ${length}`);
  }
  const monitors: MonitorLayout[] = [];
  for (let i = 0; i < count; i++) monitors.push(readMonitor(c.sub(MONITOR_LAYOUT_SIZE, `display control monitor ${i}`), i));
  if (monitors.length === 0) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', 'display control: a layout without monitors');
  const primaries = monitors.filter((m) => m.primary);
  if (primaries.length !== 1) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `display control: ${primaries.length} primary monitors, exactly one is required`);
  }
  const primary = primaries[0]!;
  if (primary.left !== 0 || primary.top !== 0) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `display control: the primary monitor is at (${primary.left}, ${primary.top}), must be at (0, 0)`);
  }
  return monitors;
}

function readMonitor(c: ReadCursor, index: number): MonitorLayout {
  const flags = c.u32le();
  const left = c.bytes(4).readInt32LE(0);
  const top = c.bytes(4).readInt32LE(0);
  const width = c.u32le();
  const height = c.u32le();
  const physicalWidth = c.u32le();
  const physicalHeight = c.u32le();
  const orientation = c.u32le();
  const desktopScaleFactor = c.u32le();
  const deviceScaleFactor = c.u32le();
  if (width < MIN_MONITOR_DIMENSION || width > MAX_MONITOR_DIMENSION || width % 2 !== 0) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `display control: monitor ${index} width ${width}, must be even and within ${MIN_MONITOR_DIMENSION}..${MAX_MONITOR_DIMENSION}`);
  }
  if (height < MIN_MONITOR_DIMENSION || height > MAX_MONITOR_DIMENSION) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `display control: monitor ${index} height ${height}, must be within ${MIN_MONITOR_DIMENSION}..${MAX_MONITOR_DIMENSION}`);
  }
  const physicalOk = inRange(physicalWidth, 10, 10_000) && inRange(physicalHeight, 10, 10_000);
  const scaleOk = inRange(desktopScaleFactor, 100, 500) && [100, 140, 180].includes(deviceScaleFactor);
  return {
    flags,
    primary: (flags & DISPLAYCONTROL_MONITOR_PRIMARY) !== 0,
    left,
    top,
    width,
    height,
    physicalWidth: physicalOk ? physicalWidth : undefined,
    physicalHeight: physicalOk ? physicalHeight : undefined,
    orientation: orientation === 0 || orientation === 90 || orientation === 180 || orientation === 270 ? orientation : undefined,
    desktopScaleFactor: scaleOk ? desktopScaleFactor : undefined,
    deviceScaleFactor: scaleOk ? deviceScaleFactor : undefined,
  };
}

function inRange(v: number, min: number, max: number): boolean {
  return v >= min && v <= max;
}
