// Test-only RemoteFX decoder (MS-RDPRFX 3.1.8.2 decoding and 2.2.2 messages; MS-RDPBCGR 2.2.9.2
// surface commands), written from the specifications to check the encoder end to end. Decodes
// into a BGRX surface. Its inverse DWT and colour conversion follow the spec's decoder (and what
// FreeRDP does: floor rounding in the inverse ICT), so measured errors are what a client shows.
import { rlgrDecode, type RlgrMode } from '../src/codec/remotefx/rlgr.js';

const LL3 = 4032;
const BANDS: [offset: number, size: number, quantIdx: number][] = [
  [0, 1024, 8], // HL1
  [1024, 1024, 7], // LH1
  [2048, 1024, 9], // HH1
  [3072, 256, 5], // HL2
  [3328, 256, 4], // LH2
  [3584, 256, 6], // HH2
  [3840, 64, 2], // HL3
  [3904, 64, 1], // LH3
  [3968, 64, 3], // HH3
  [4032, 64, 0], // LL3
];

export interface DecodedRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FrameMarker {
  action: number;
  frameId: number;
}

export interface SurfaceBitsInfo {
  cmdType: number;
  destLeft: number;
  destTop: number;
  destRight: number;
  destBottom: number;
  bpp: number;
  codecId: number;
  width: number;
  height: number;
}

/** Reads the 16-bit quant nibbles of a TS_RFX_CODEC_QUANT. */
function readQuant(b: Buffer, p: number): number[] {
  const q: number[] = [];
  for (let i = 0; i < 5; i++) q.push(b[p + i] & 0x0f, b[p + i] >> 4);
  return q;
}

/** Inverse of one 1-D lifting pass: low L[0..n), high H[0..n) → x[0..2n). */
function inverse1d(L: Int32Array, H: Int32Array, n: number, x: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const hPrev = i === 0 ? H[0] : H[i - 1];
    x[2 * i] = L[i] - ((hPrev + H[i] + 1) >> 1);
  }
  for (let i = 0; i < n; i++) {
    const next = i < n - 1 ? x[2 * i + 2] : x[2 * i];
    x[2 * i + 1] = (H[i] << 1) + ((x[2 * i] + next) >> 1);
  }
}

/** Inverse of one DWT level on the bands at buf[off…] (HL, LH, HH, LL of half×half). */
function inverseLevel(buf: Int16Array, off: number, half: number): void {
  const w = half * 2;
  const band = half * half;
  const hl = off;
  const lh = off + band;
  const hh = off + 2 * band;
  const ll = off + 3 * band;
  const lowRows = new Int32Array(half * w);
  const highRows = new Int32Array(half * w);
  const L = new Int32Array(half);
  const H = new Int32Array(half);
  const x = new Int32Array(w);
  for (let y = 0; y < half; y++) {
    for (let i = 0; i < half; i++) {
      L[i] = buf[ll + y * half + i];
      H[i] = buf[hl + y * half + i];
    }
    inverse1d(L, H, half, x);
    lowRows.set(x, y * w);
    for (let i = 0; i < half; i++) {
      L[i] = buf[lh + y * half + i];
      H[i] = buf[hh + y * half + i];
    }
    inverse1d(L, H, half, x);
    highRows.set(x, y * w);
  }
  for (let col = 0; col < w; col++) {
    for (let i = 0; i < half; i++) {
      L[i] = lowRows[i * w + col];
      H[i] = highRows[i * w + col];
    }
    inverse1d(L, H, half, x);
    for (let r = 0; r < w; r++) buf[off + r * w + col] = x[r];
  }
}

/** The decoder's inverse DWT (3 levels) of a 4096-value component, in place. */
export function inverseDwt(buf: Int16Array): Int16Array {
  inverseLevel(buf, 3840, 8);
  inverseLevel(buf, 3072, 16);
  inverseLevel(buf, 0, 32);
  return buf;
}

/** RLGR → LL3 differential decode → dequantize → inverse DWT. */
export function decodeComponent(mode: RlgrMode, data: Uint8Array, quant: readonly number[]): Int16Array {
  const c = rlgrDecode(mode, data, new Int16Array(4096));
  for (let i = LL3 + 1; i < 4096; i++) c[i] = c[i] + c[i - 1];
  for (const [offset, size, qi] of BANDS) {
    const shift = quant[qi] - 1;
    for (let i = offset; i < offset + size; i++) c[i] = c[i] << shift;
  }
  return inverseDwt(c);
}

const clip8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
const K_CR_R = Math.round(1.402525 * 65536);
const K_CR_G = Math.round(0.714401 * 65536);
const K_CB_G = Math.round(0.34373 * 65536);
const K_CB_B = Math.round(1.769905 * 65536);

/** Inverse ICT of one pixel (11.5 fixed point in) → [r, g, b]. */
export function yCbCrToRgb(y: number, cb: number, cr: number): [number, number, number] {
  const yy = (y + 4096) * 65536;
  return [
    clip8(Math.floor((yy + cr * K_CR_R) / 2097152)),
    clip8(Math.floor((yy - cb * K_CB_G - cr * K_CR_G) / 2097152)),
    clip8(Math.floor((yy + cb * K_CB_B) / 2097152)),
  ];
}

/** A RemoteFX client: header state, and the surface it paints. */
export class RemoteFxTestDecoder {
  surface: Buffer;
  entropy: RlgrMode | undefined;
  imageMode = false;
  channel: { width: number; height: number } | undefined;
  headers = new Set<number>();
  frames: { frameIdx: number; rects: DecodedRect[]; tiles: { xIdx: number; yIdx: number; quantIdx: number[] }[] }[] = [];
  markers: FrameMarker[] = [];
  surfaceBits: SurfaceBitsInfo[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.surface = Buffer.alloc(width * height * 4);
  }

  /** Decodes the body of a SURFCMDS fast-path update. */
  decodeSurfaceCommands(data: Buffer): void {
    let p = 0;
    while (p < data.length) {
      const cmdType = data.readUInt16LE(p);
      if (cmdType === 0x0004) {
        this.markers.push({ action: data.readUInt16LE(p + 2), frameId: data.readUInt32LE(p + 4) });
        p += 8;
      } else if (cmdType === 0x0006 || cmdType === 0x0001) {
        const info: SurfaceBitsInfo = {
          cmdType,
          destLeft: data.readUInt16LE(p + 2),
          destTop: data.readUInt16LE(p + 4),
          destRight: data.readUInt16LE(p + 6),
          destBottom: data.readUInt16LE(p + 8),
          bpp: data[p + 10],
          codecId: data[p + 13],
          width: data.readUInt16LE(p + 14),
          height: data.readUInt16LE(p + 16),
        };
        const flags = data[p + 11];
        const len = data.readUInt32LE(p + 18);
        const start = p + 22 + (flags & 0x01 ? 24 : 0);
        if (start + len > data.length) throw new Error('bitmapDataLength beyond the update');
        this.surfaceBits.push(info);
        this.decodeMessages(data.subarray(start, start + len), info.destLeft, info.destTop);
        p = start + len;
      } else {
        throw new Error(`unknown surface command 0x${cmdType.toString(16)}`);
      }
    }
  }

  /** Decodes RemoteFX messages (blocks) painting at (left, top). */
  decodeMessages(b: Buffer, left = 0, top = 0): void {
    let p = 0;
    let frame: RemoteFxTestDecoder['frames'][number] | undefined;
    while (p < b.length) {
      const type = b.readUInt16LE(p);
      const len = b.readUInt32LE(p + 2);
      if (len < 6 || p + len > b.length) throw new Error(`block 0x${type.toString(16)} has length ${len}`);
      const blk = b.subarray(p, p + len);
      if (type >= 0xccc3) {
        if (blk[6] !== 1) throw new Error('codecId must be 1');
        if (blk[7] !== (type === 0xccc3 ? 0xff : 0)) throw new Error(`bad channelId for block 0x${type.toString(16)}`);
      }
      if (type > 0xccc3 && this.headers.size !== 4) throw new Error('frame data before the header messages');
      switch (type) {
        case 0xccc0:
          if (blk.readUInt32LE(6) !== 0xcaccacca || blk.readUInt16LE(10) !== 0x0100) throw new Error('bad TS_RFX_SYNC');
          this.headers.add(type);
          break;
        case 0xccc1:
          if (blk[6] !== 1 || blk[7] !== 1 || blk.readUInt16LE(8) !== 0x0100) throw new Error('bad TS_RFX_CODEC_VERSIONS');
          this.headers.add(type);
          break;
        case 0xccc2:
          if (blk[6] !== 1 || blk[7] !== 0) throw new Error('bad TS_RFX_CHANNELS');
          this.channel = { width: blk.readUInt16LE(8), height: blk.readUInt16LE(10) };
          this.headers.add(type);
          break;
        case 0xccc3: {
          if (blk[8] !== 0 || blk.readUInt16LE(9) !== 0x40) throw new Error('bad TS_RFX_CONTEXT');
          const props = blk.readUInt16LE(11);
          const et = (props >> 9) & 0xf;
          if (et !== 1 && et !== 4) throw new Error(`entropy ${et}`);
          if (((props >> 3) & 3) !== 1 || ((props >> 5) & 0xf) !== 1 || ((props >> 13) & 3) !== 1) throw new Error('bad properties');
          this.entropy = et === 1 ? 'rlgr1' : 'rlgr3';
          this.imageMode = (props & 7) === 0x02;
          this.headers.add(type);
          break;
        }
        case 0xccc4:
          if (frame) throw new Error('FRAME_BEGIN inside a frame');
          frame = { frameIdx: blk.readUInt32LE(8), rects: [], tiles: [] };
          break;
        case 0xccc6: {
          if (!frame) throw new Error('REGION outside a frame');
          const n = blk.readUInt16LE(9);
          for (let i = 0; i < n; i++) {
            const o = 11 + 8 * i;
            frame.rects.push({ x: blk.readUInt16LE(o), y: blk.readUInt16LE(o + 2), width: blk.readUInt16LE(o + 4), height: blk.readUInt16LE(o + 6) });
          }
          const o = 11 + 8 * n;
          if (blk.readUInt16LE(o) !== 0xcac1 || blk.readUInt16LE(o + 2) !== 1) throw new Error('bad region tail');
          if (o + 4 !== len) throw new Error('region length mismatch');
          break;
        }
        case 0xccc7:
          if (!frame) throw new Error('TILESET outside a frame');
          this.decodeTileset(blk, frame, left, top);
          break;
        case 0xccc5:
          if (!frame) throw new Error('FRAME_END outside a frame');
          this.frames.push(frame);
          frame = undefined;
          break;
        default:
          throw new Error(`unknown block 0x${type.toString(16)}`);
      }
      p += len;
    }
    if (frame) throw new Error('frame not ended');
  }

  private decodeTileset(blk: Buffer, frame: RemoteFxTestDecoder['frames'][number], left: number, top: number): void {
    if (!this.entropy) throw new Error('no context');
    if (blk.readUInt16LE(8) !== 0xcac2 || blk.readUInt16LE(10) !== 0) throw new Error('bad tileset subtype/idx');
    const props = blk.readUInt16LE(12);
    const et = (props >> 10) & 0xf;
    if ((props & 1) !== 1 || (et === 1 ? 'rlgr1' : 'rlgr3') !== this.entropy) throw new Error(`tileset properties 0x${props.toString(16)}`);
    const numQuant = blk[14];
    if (blk[15] !== 0x40) throw new Error('tileSize');
    const numTiles = blk.readUInt16LE(16);
    const tilesDataSize = blk.readUInt32LE(18);
    const quants: number[][] = [];
    let p = 22;
    for (let i = 0; i < numQuant; i++, p += 5) quants.push(readQuant(blk, p));
    if (p + tilesDataSize !== blk.length) throw new Error('tilesDataSize mismatch');
    for (let t = 0; t < numTiles; t++) {
      if (blk.readUInt16LE(p) !== 0xcac3) throw new Error('not a tile');
      const tlen = blk.readUInt32LE(p + 2);
      const qi = [blk[p + 6], blk[p + 7], blk[p + 8]];
      const xIdx = blk.readUInt16LE(p + 9);
      const yIdx = blk.readUInt16LE(p + 11);
      const lens = [blk.readUInt16LE(p + 13), blk.readUInt16LE(p + 15), blk.readUInt16LE(p + 17)];
      if (19 + lens[0] + lens[1] + lens[2] !== tlen) throw new Error('tile length mismatch');
      let d = p + 19;
      const comps = [0, 1, 2].map((c) => {
        const q = quants[qi[c]];
        if (!q) throw new Error('quantIdx out of range');
        const data = blk.subarray(d, d + lens[c]);
        d += lens[c];
        return decodeComponent(this.entropy as RlgrMode, data, q);
      });
      frame.tiles.push({ xIdx, yIdx, quantIdx: qi });
      this.paintTile(comps[0], comps[1], comps[2], left + xIdx * 64, top + yIdx * 64, frame.rects, left, top);
      p += tlen;
    }
  }

  private paintTile(Y: Int16Array, Cb: Int16Array, Cr: Int16Array, tx: number, ty: number, rects: DecodedRect[], left: number, top: number): void {
    for (const r of rects) {
      const x0 = Math.max(tx, left + r.x);
      const y0 = Math.max(ty, top + r.y);
      const x1 = Math.min(tx + 64, left + r.x + r.width, this.width);
      const y1 = Math.min(ty + 64, top + r.y + r.height, this.height);
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y - ty) * 64 + (x - tx);
          const [red, green, blue] = yCbCrToRgb(Y[i], Cb[i], Cr[i]);
          const o = (y * this.width + x) * 4;
          this.surface[o] = blue;
          this.surface[o + 1] = green;
          this.surface[o + 2] = red;
          this.surface[o + 3] = 0;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The worked example of MS-RDPRFX section 4.2 (one 64×64 tile, RLGR3, quant 6,6,6,6,7,7,8,8,8,9),
// as FreeRDP's TestFreeRDPCodecRemoteFX.c and IronRDP's rlgr/dwt tests carry it: the header
// messages (4.2.2), the frame messages with the tile (4.2.3, 4.2.4.1), SHA-256 digests of the
// tile's RLGR-decoded Y/Cb/Cr coefficients (4.2.4.2, Int16 little-endian; IronRDP's
// Y/CB/CR_DATA_DECODED), of the Y component dequantized (IronRDP's ENCODED_DWT) and after the
// inverse DWT (IronRDP's DECODED_DWT), and the decoded image (4.2.4.4, R,G,B a pixel, deflated).
export const SPEC_SAMPLE = {
  header: Buffer.from('wMwMAAAAyqzMygABw8wNAAAAAf8AQAAoqMHMCgAAAAEBAAHCzAwAAAABAEAAQAA=', 'base64'),
  frame: Buffer.from(
    [
      'xMwOAAAAAQAAAAAAAQDGzBcAAAABAM0BAAAAAABAAEAAwcoBAMfMPgsAAAEAwsoAAFFQAUABACMLAABmZneImMPKIwsAAAAAAAAA',
      'AACuA88DkwPAAQEVSJnHQaESaBHcIil07/0gkuBOqGk7/UGDvyhTDB/iVAx3fKMFfDDQnOgJORpd/+IBIhOAkIfSn/39UAkNJKCP',
      'q/48BITGnN74gMMiUK9MKn/+4FypUooGfT0JA2Wjr9JhH3IEUI0+Fko///1BQockNwYXLlYFnByzhGr/+0OLo3oyQyjhH1BU/Mql',
      '3/8IBEgVYdl2Q/gqB+ll98aJLUChwzWN9e31ka4vzAHOA0jAjWP0/VAgLQybsI0TwIoJUhsCbkI70BNOhAEmiGoEhDQqpQC6VEhY',
      '6lQCtB2n+keC7Hp3/QCSZmIEppv/9oDAaQHCPpAUIC/8QJZZWAyxE2ggLrX13//4/FaIYCRTtUFGX/jxft5KCJfgVQOP5XVhA/Lh',
      'kAGijogEmAWTa//qwGChiARJv/f/jLRZkIAwZFP/9cRI2trLgDhhV7KvAOh7RubYAgOKBhgUMoPQiu68gbQoxH/5oWkAkcVR//4/',
      '6fFwMCQQp8sfiiST7YMANiDRUOfYrVggCSKA0MpdGtfxYHUq8tf4wDJFhgBDAf6A90KBdIRMoWBMyxRYAU0YoapHDhEaQH1BAuMw',
      'zTOBNAZGg6JHHASqIBKii4HEnKAuBjL4hoUB6HD5Rglqv+D1pMh459KXC7w8l//VQJSywRgYER9DwRjDg3+aMcSOcFba9hfe0QIN',
      'QiET3Do8QJ70AUPqDEZzonsMgP/krS4JtGOwjFRZ+qx2NhAF8JiIg0IAIHHMwamXPloNBFCSIyANChxX1/8Q8gMPWBulEfjxtBLb',
      'GkhWH+PHUOkWtLywQJPqtVsv/FAKb8wl4AarXyT+i8tCQ35pAiXHOABu5YCopDBEFY/pDNOmwhQ0Sv4DfwalkQJU8aGhU78R8o+D',
      'Z4AJCBI//USRwoMwUAcCgk0xNAZBeW/wzAN5ACwFJOyNKRWvRMjrT+H98UFIgQiv/lFIzuf5tgowgxHwDDvSpiQk7yX6Wj6SPnkO',
      'NWHIqhwumid///B9MFu8kf/+QyQoZqdwmShuKxgr1KF3O5af9+u+HwQ0dYQxQkxlqglQoMRRMdMmOhv0bkpOFyWEeH0sP0YYyl/5',
      '5Tgv2HGUlOLMoxWw2qnLWOQYd5OKUcYjxE5t2RQem428y53EGAX1qSn4bSk4x0TlOs26YZhKVwKWQgLZNxHeLdQ//mHnM9eJSt2w',
      'NEf03K2qyZ1+bUvM3BeJV/27N3VHWuwsbjwVklRkLKueqyvdPGagj0dekxo3FvSJIwAAsDNW+hQe/0h6fg8QH/SRyBBWhP8I7LSs',
      'Dg//rcXgGi+CBJ+Rwg7+SDZ5AUIU//4w8AgY8YFFmmDBefAUEhDO6jFa//wgE4IvyQIfgcsA4RDStL6H/7AeJ4G3BAY8wgT2Bg4o',
      'vEC/Eh6G1Gp/GBuWhUwWgN8spY2Go0qKtBuhOKnV///qBiDSlR70L7ISDmF4ShdSXeQlH/7Asx///+wCgoCQQYjeSCxCUgsvQ35Q',
      'ePJneEE0PcgPZ6HrIf7AHyJgQWwAkktgENANATUFDoeioF0fo69/8b6PzaUAHBBAFXaBBe/uAGCEAJlASoIX6fzEf//9BIAGBtyv',
      'p36UdXQBAOCRAIV/jtYLICEwymKOBwTpRUBfR0owFUHL3//8v8O0RmoBQNCnNBgkHCpF/qgFCGH9qIBxASWcwUcXNwJ6Ff/zAUV/',
      '1oBgg2f4nS/03YwwAVFCvEN6a5+EHgBIweC34H6Z8krpQAKBwwAkOsVSD5HIaCVAmaQlGgTQopHd65MAIUkki0B1OBSh/T+IJb8y',
      'AOMZ/Ln4b4HAAbOTIAkIJYThNNQbSIgRoBVZ1weBgTuhQC4vSHAJxHZJDy5QLkYZpBaiG4SiiVj8Tz9AkEyjATIJAoCckRMsut5d',
      'mfL//z1aH6kCkI/zCL0B+NAqlUEMQAogxNTMaw/wgLFdKD0IwvgxAkmIFCjt6IY7AJ+VBjcVpFnIgLYQ8OW4GABWHP+VIQ5/K8UI',
      'WRDhRjGN7OChmbsh//4wENAF4whQ/PMOAI1ojgemgDRC7R+IAPCKIa73+4Aohg///4LqR5WR4AQBRAwp/w4z6MBUBCP8gVvwPAcQ',
      'cDDYIW/v3kYJQ/pf/w1yMN0A2+RIJJcIRrFJxE2AEmD/pKb/9owAQAUCtA/wPvyEOIGUi/5J78AQSYgoohwqi2TUhtf////rkWsR',
      'EABpTL+0HNgABxaAYAocgkIngkPJCmQgWl9Ov4w4gjYCB3J5ByO0u1df6ATdOekHlb4EK92OItwULGGjqc1Pgl2gRN/0lv/1K//+',
      'ARnSop5DpX/wTEwrPDPiVf8EBiksDSJdfJO6GK/5MqbDmUZ54wamOIuSIkvbGzYgsGwgzjdC4WbUSTRCi/qcEpncBof6RvgvBKnY',
      'ggemMA/A3zXokPD//6jg1wJgGsMgKKIxKTzrBKXdSA6CpLZWIgZX4NoQJzEOEXf+AmAWSIGMDQUXf8u7fiUqQf2Kf8k2fOCYfpLv',
      'fgYDEz4gOr9Mww8ugHS/OTzwprLpP0FVHyz10n6Mrk6qYTy8P8THNtwjyLhS4oqAGAAAskaiVg0SlKq9AQf/+jQMX/gMElCv1tGJ',
      'QKT/4M7ESSWdwf9+YCRdzBDAvloS08P+LUB8KJ5xAdJuhgvI8ptFCEwEUn7yftnMCxwggK6v/rBtI/JB4y4gEUt0id3/qDijlYIV',
      '8NDV8ZKO7sAmgelH/+4NIDQxOu9AsilHGX8EJ/GQhQmGfULiVF1f6A7QLKoWvwSn+KJGCwh6eekoYnwz9AsUgvph68H/TKQRfwNo',
      'RMEfgTpsd5UCK1OA5RAekOj9H6ZACxP/Tk1/UuivmsGADwoUAjzACRPn3MAaKKDkg44DiNWvGr2RALdOut/428wCQ8QUKj/IDQkc',
      'RPQBPMooVoCmhQDqPo/rn/xuB8TgMHigHm9UeFH/VkoBRwJMITv7kArMHdJH//xwGCLAuS/pf5HTZi+ALCSn+oRRq2tyAKszBM9D',
      '/xdRhAwBUBCPkDRBRISOCBkESFCEOD0CUvl80tAfE0KgIUHEAgI9Ccj9YH01T3//+Zdq2ADDgwAJUEuQiseUTUfBYjIoJAlSLi4c',
      'lkSgCcjOZKkcGQ5SPj4Zk6A2JiIImgDdZjqT1YnRQAbUqCJzez0/4wSU/////wxWd6zgxAYfuKWA/WgcMhYD3nEqPRQZvsKI2SSS',
      'X8WQCoXCP4cDqCYXxAaGEod2CkgW7ZaT7Bswc+gaP/9NzkDzDFFLhJ5nKxVAGqD8EA/YgTWH/5gPQAC6wHHiABgos4LMgGqgQ/8t',
      '1gSKaP////wa8xoqBsABQAwwwdDXT8t0HwfTtA2ImOran84rPFWzQBT////q25uS2GgIC0EJJkCM8bCamMCAi/A95+wZaCEDKX/h',
      'bUwPAdFRARpQKlkngMFuM/GA4UkI6Rf///+AWhAQNl7K+DoAHrAGhAHzBxtKwB4hQ46lVXfHZXzC314MQiDSSGHIHGX4/kyIcR+C',
      'UIGjVAkTKFL14ILDBn/6LM/49H///QFJpLjeYoT+7WUfPDyyUHYwWwPACKZkkMjNFG5pRnrGHIfXSHtJBS1ef8tn8NkNHp5Tt2Sl',
      'pRA5BhE/samm6E1Hd9pDdolFCXDCOA8Jb+ctgjUH/mQYLrgEQlSAQxJsmlXJCqB5R1JlKv9QEclO/lswpOgwY/8hEhvcHAFBUR//',
      '+sPjVfFm4tV4XvpN8mEBJhWp+dkyQZA2Tq7jCxZWjG5CXdge/h1AOlCfCRTrbkh6kYh7fY9yQjmwHGUYI4tgMADFzAgAAAABAA==',
    ].join(''),
    'base64',
  ),
  sha256: {
    yCoefficients: '6131a15df67d78085544898efd0782c5d88f7d6cde4867e3a4c1f2d181ce15b0',
    cbCoefficients: '5e84827dfdaefa86f5939b1260472d20bbc355ec1b73c692ccdb23d7ef26a0cd',
    crCoefficients: '6326e1ecadac6948919ae1dd634fc13b5ff30eecfcfd31cd7f55de397ee6ad07',
    yDequantized: 'b5e024560daee07c28913b0b3589e5dee579e2441be6c39e68cc6909f2c0690c',
    yInverseDwt: '137a7e234e4aad8377bb03fdd6435cfa7ba927f3aa0316590ac5337819868df5',
  },
  imageRgbDeflated: [
  'eNrll2V0ldcWrtMCLZwCcVcCCcECAYK7BidYkWKlnJ4WqFCltLhDgLi7QYQIcSPu7rqzPdlun9u63w6Vc+X3HeOOy3jGHuHf8841',
  '51zrc44YnRPJdYnmL0wcd44YdY7gzo7ksr8Tf4/OjuDOmWBWhMAhQuwUxncOHZkVynEKG3UK4zqGcx3CuPahXLsQrm3wqEPQ8KyA',
  'AUf/EXt/rm3AsFVgv53fkNMLjq0vx8J/1NJ/1Npv1Mp31PLFqOXzUQsfjvmzEbNnwybPBo2fDRg/HTB5MmjyeNDk0ZDxw0HjB4NG',
  '9wcN7w8Y3huYeXdgxp1+Pbf7Z9zqm3Gzb8aN3r9xiebNjeXPixMsSBDPieb9SRRvdpT+l8UlkoU/J5LvzBLBcw4fnRXBdYrgOUXw',
  '9YRx2TiOoaP2IVyHYK5jMNc+aNQukGMXwLUL4Nn78+z9uLb+HJuAYRv2159r7cdlI1i9j/CcY/58xMxn2NRnyPTZkOnTIZMnQyaP',
  'hyYiDBk/GDK6P2R4b5D1/5M7AzNv98+81a+P8Bdz4wXzEwTuSfpf1ziBa6zAhSXmL6IFrixRwrlRvLlRoy5RXDbXrCi+U5TQKVI4',
  'K1LgHM6dEzrszEYIYQ9CaBs2ZhfCtwsadggQOPlJ7QPENkHsfzn2gYN2ARzbAB4bwcaPa+3LtXrJtXzJngXH4sX7FCOmz4ZNnw6b',
  'PBk2eTxs/GjY+OGI0YMRw/tDevN7gxNBBiciDLAR/mZ+smhRstDjlWBhkmBugnBu/J+4xumZGyuaG8Mido0RucQIXaKFLlGC2VEi',
  '52ixczT7KzRNFNtGj1vEjBvHjJlEq0yjUNtQuWUY3yxCaB8isgsW2waxiYbtg0ftgnh2AXw2gq3//5rC4sWoOXsWPhyzZyMTEUZM',
  'Ho8YP+IYP+QY3h+ecZdtpCGjB+xZDBnqIwzOvP0PC1PGlqSIlqcK3F8J5yWJ3FgS3yN2SxC7xY+5xY25xY67xElmx0tdYsbnRold',
  'osdmx0isEuCZycA2iXP0efG3dyMeX7vhc+1332vXbl4POPYwwzm8d3ICbRQJ2QXL7MIG7UKEdsEC+0C+HUsAC2/iLHg2fjxrX57V',
  'S57lC67581EzH47psxGTpxyTJ6Mmj0eNH3EN74+89584jmHDe8Mz7w7NvP0PS1JFKzLGl6cKF6eIFrwSr3gz7po0Pi95bOGrsUXJ',
  '4sWJooWJY/MSJAv0f/CNUlSm6cjseOycb2LST6flJ8zBrunE0cnghCE4bQvOWxBfmICjhmDPDHKXFew1+/kPN1yjBj+KA/bBfMtQ',
  'qV2w0CZEaBUitAkS2AYKbAL4ExPBs/LlW77kWbARXoyaPueY+oyaPuOaPOUaP+Ya6Y9gyPQJ1/DhsCHrf/+vCH+xPJW/Lke+PE3k',
  'kSpelDK+LU82J1k6L0W6OE2y9LXYM1mwJFm84JXUJUXtlI7se5pc8OVecNQIvTgdu2BKnLdVf+lIfe5MfuWKfzsP+d5Zd9VWe8lJ',
  '88UccMwZHHYEeyzBtplZ5085BnJNwtV2YSKrMLF5+JhViNg2UGQbyLcO5FoH8Kz8+JZ+PAtfrvnLUbMXLFyzFzwTH56RPgLH+MGI',
  '5QvhzIdDM9kID9mJGJ557x9WZMlW5KjdMxQL38jnp8s356jmpUoWpo4vTh1jEy1NES9OGVv4etwlWRbw9Vmw4SP8mBX/BxPsh3no',
  'j3PRn121P7th3y/Af3HHbyxBb7rDtxfA1xfCPy2iv15AXpyPnFmo+dQdeBmBHYa3f771YbJmTpDUOlxoGyK0DxLZBvFtgrjWgTzL',
  'AIGlP9/irwjmvjxzX4HpC57RxCmYP+Fa+PANH48YPppAP9TDf3O2YuzTsvEDxZL9ReL9RQLvPKX7m3H3dPHiVNHitDH3dIl72tii',
  'FJF5NpBvNdIctEBP22Hfz8YfzEceLYKeekD3l0I3l6H3PYlnK7Hnq9GXa7Cnq/AHntgNT/RnT/TKcvTiUuyMB/7pEuDtghxaOSmR',
  'dgjnOYQIHIPY6ebbBI9aBfEsA4X/RPDjWvjzLQOEpr58w+dcs+c86+cCs2c8w6ccwyccw8ecPyP8xbo85Yoc1ZJs9ZIs5eIs+apM',
  'lfsbyeI34x5shIxx9yypR7p8XoZySUo9WD+FOGiDn5uF/eiGPlpMBK2Cw1fBwWsRvw1YwCYieAsRto2I3IGHbMcCtuE+W4kHm/E/',
  'NuI/rke/Ww1f8QTnnd9dvmASpXIOG7cLVVhGCM1C1PopDuJbhwisgoVWQSKrQKG1v76X2FOwYJvKX2T2UmjynG/sIzDyERizc/14',
  'wPARf/rjEaP73GkPhSybciVrcyQrs6UrsyWrssaXZUrd38iWZEiWZYwvyZa658qXZ2hdclCfmw+QAwaKzxyIC67oz4vgJ55M3BY0',
  'dSP6aiua6IXH7ybi9pJJB6iUQ3jSITTuEBFxkA7eT/nsIe96IXc3a+6sgX9Y+P2zNMswtUuoyjVY4hpeaxGksfcV2LGzHC6wCRVb',
  'h0hsg8fsAkXsBWfqM2jtx3cIkZr7iT/x4c98LjJ6ITF5Nmr2uHvmI/HUZ8PG94STH8lZNuRJ1+bKVuVM8FbmmS1bliVfniXzzJIu',
  'fStZkitZnqmenYfVnNuGH5muveCMfjcP/WMx+tSTjN2CZO4gcw6gmd54xhEy/RiVfZLJP028PYtknifSTtOvT5LRR/FAb9R3D+Kz',
  'HdyYbZuoNomC3II0s6OzLgcZrIu4YxmFWURAZpECC3a0g8esA8U2/iJrf7aX2DeJ2CZQZOEnMn0hMn0mM30qMHgoNPgdtnnQNeOZ',
  'xuAFf8Z96dQHmnX58rX5ijV5itV5ilW5ipUsOYqVbxUr3sqX50g8ckWeWapZBQS9ZRJ13AH72hX6fRF6zwN/tgKL2Yzk7mPKTyEl',
  'J7Gi02TBebrsIqj+iqy4DJd+R5RcYor/TWSdQ5JPYtFHiZADo4HfTk2iXCKHzKN1u2OvfvV6xucJH50MsV0eFD4zFJgEay3YKfAX',
  'WfmJ9ClCxpwiZeb+o1Z+QhtfiVOgzCWyox29WqELMrirsbwTs+7GYsuHzZ88GVxfqFhXoFhboFiTr1j9njx9HBY2yPJsuWeq7pug',
  't2DHB9hFJ+SHefBtD/TpSjxwA5a0Cys4QlWew6ov4lVfE5XfEHU/EE2/kE3XqaYbRP11rOZXvOQqmXMFyfyKSfk0ICbRNFY3K1Jt',
  'HQW+r5hzrcD1arbD1ylzvox1+SLMenPkVcfoJusAYBqqsY6AHGIw2whg7I+Y+GtM/eUGd8HV5pgm/E47SLsWs2PZLwZrfp80w4c/',
  '4/nQxmLlhiKFPkWhPgXLukIly/pC1ZoczcoM3dK3TM6LP8CJj3XfO8O/L0AeeqJ+67HI7XjaQbz4JF59kWj5nmj5mWi5jrbdgjof',
  'UL2PwcAzsvupru0JXn8fVNyEK/8AJWe8UocdImUOceP2r0ShXXZPmpzvVM/9rWThTznzvkt3uZJqeen11DOvTbyjj3iFX9kQ8nBt',
  'oN+qkFvbgi4cDNhxN2fdgfu2GbyH0c13V9wy3nrHbun9dZP9cCO/kU0lyo0lyg3FyvVFinVF+hTrCuV6CuQbc9RbM+CZxRJQEIze',
  '3gf/PBu57Y49W42FbsWS9mHZn+Kl54iGK2T3daL3NtH3iBx4Tg76E6JYpteP4MTgQyFEbwDZ/hJ03gd1vxqE0a6vtE4J2OGyxIRB',
  'j8jeVcHta3wb1z+tWX2/3POPMo8fSxb9XGD3S+bcq6kuV5LnXIp3+0+84/FAm1/ztxdrbv+Qvnfz7+YHnzpsfWC364GZ5YOnn7xE',
  'LJ6PbylTbS5VTqRQbChWrC+Sry+UrSuQrs2XrC5UryxGD+YOg+BtTHUk9tsc7P4S3Hc9FrMLzTiKFZzGyy8SrT9RQ/dJjg/BC2T4',
  '4YAfQ0oSQNklmhMNxpNIQTzGiaH7Q/NKU42jNQ4JEpto8Lj7YiZ/eyZ3f9rw/uSB/bG9u8K6tge3rg9o8PSpWf6gYtn1kqXf5ntc',
  'ebvk8hv3G0Ubv0v0uJ574NMwp8+iF3gHuNwqvHguzH7SS4Hxc63dY+22ctXWd6otZcpNpfqD2Fis2FQk26A/BeXKQtncEjQg4gUZ',
  'tBIv+R3PvY+G7kbCtyJJ+9HsE1jJv4naq0TXLYLrg4tDcFkcI00C0lRK9Zoo+pwcDgVQISnPRsWpQBT/RVaHdbTaNVoyOVQrUHv3',
  'qI6XC74o5V0s4l7M5ZzOHD6W0rc/vmtHePtW/5aNzxo23Ktdd7ti9R8lK57W7Xhcuf1CzMKLKQvPJCw6GOSa0BYyIB0pHAGroiCD',
  'F907KlR/RVBtKlVtKVFsLZJvKlKvL4I8C8YsS9GBmwdR351o4hEwVITF7dMl7oLTD6O5Z/CKb8nmm3j/E0wUiCniMPgN0GUDbR4D',
  'v4HyTuBD/gxoIZEKVJEHtGmmCahFotoqcfxYTotG+32P6l6b+HrL2O9NY783iK/Wib4s4Z3NGvn09bB3zOCeyL5dYd07A9q2vmja',
  '+Kh63Z2y1Vdzllx47XYixm1/yNyY6muARG92wZNe8Gc+5ntVqXZUqrZXqLeWq7e8U7MHsbVUvrlEtbFEu7icWVFKwXsNwJNDRNIZ',
  'uvo5WXEffnMQzTuDl10mGn4lu+8znBAwnkIr3+BwNoUUAbSSUmejzd+QHF+aagRkB6DrG4X1FrFa+wSVSawmuqdQqn02rA4ckL0c',
  'kPsPyAN7Zc+6pXcbxq69E3xbIPhPFv/zDO6Z9NGT8QOHQrt3PW/afK9qzU8Fy/6dtvB0/LyjoXP3BMyaE1po7s9M8+83fNm/u0bl',
  'Va3eUaneXqHZWq5hD2LrOwWbYnOpelWx+mpsATjtgF/zgGO98fTzDLcUyz9OvPuKqv+N6rxDDT8lOS9Inj8pSyDhXAKrxKlWXJ5P',
  '8O4y/JckUU9j/YBqeto6bBWtdIlXfhJJjiOJQk2SUJ0kVCWJNClibbpAk8RVRfXJ/VskD+ultyplv1ZIfyiXfJMlOBc/cjigc+eD',
  '+rW/lnh+lbnk88QFp8Lnfur3r2mB1IwgkZGvjGV3jXpXtXpnlWZ7pWZbhXZzhXYjyzvNxhL10iqm7OY3zEVX5LonHLYPS/2MbI9B',
  '6+4yFZfojpvk0ENc9BJThKFQIikNA6PPKUEMKs6ilM2AbAK6OkpTxcCdgOrakzs2K1FhF6dcn8JXImlibda4NleiK5BCRTK4ZFyX',
  'J9ZmcNWvhpRxvaqwDrVfg+JOheyHTMHnscPeAV07HzVuuP5u1Tc5y/792v10jO36AK9/+SMzA+TG/mqWPTWa3TUar2rNzirt9irt',
  'pipobTWy7p1uQ7F6USMAp12YK4t1f6yG/b2w18fR8rto3xtQdQUM3iOFz1BlAKaIIuTJuCYHQyoopB4g7Yy2i4KKADOO0lKaFgBq',
  '+JNIzfwUhW0Kcqt+kAbF49pSGVStQpveo0BqZHC5FCob15UKoRwuktqu8a2Q/5IpvBA1tD+w2+tp85ablWt/KPT8Os3jXKKRc9DD',
  'T3w1M/11JgEwy95azZ4a7a4a7c5q7Y5q7dZqzaZq9ZZy3eoK5ExaI3nCQfeNB3bbk/TbSGacAVU/0Pwi0PIT6LoKRPcAGsRAcbTm',
  'DcAqKayFwToB3ssgPAoeAaSSpMYBxc3mjlsnqF1T5RavkEphP07UqJAmNdqqwTo1WIcW79DgLRq8UUs2QnTjGJY3qItrUj0pkX+f',
  'KT6fyPMOG9j1onPT3bq1v5R4fv3W/szrKaY+UmN/lZG/2nCCfbXavbXa3TU6rxrdzhrdjmrVjmqZV7lueR0ZEuhLfeGm+WUtdW8p',
  '8PUEuV+AspO6kbzm9uCc1sTMrqzUvtIq3rtBWQVM1wFQCpgWttqsM0mJaFIMiDFAjpyvhlxTlM6pcqNkBIA+GG5HiAEIH9Digzqi',
  'HyL7YKoHpbt1RKsaredDmd2a0BrlnXzZpSzJ2dSxI9GjuwL6Nz5sXnO9fPmlHJdT8UsnB+KWgUoTf8V0XxnLgXrdvnrd3npoTz20',
  'qx7aWaPdXqnaUoktrwejX+4AF+aD72x5Tw8nxN6/UNHiWg7mFwCXXM3cfNw1F5n9Vjsnl3DJB1aRo1uLoajBcRwf1rHmQEoDMUHx',
  'AQAOr1R2rzS2r7SnqjUAjJE4j6QEGMmFiRGYHILJQYTqQ+guNdYgg8pGta+71QF10PUi7PNM1fEk8f54vldI35onLauuV3t+VzBr',
  'bcS9Gf6QaYDC2F9i6CdmOdgAHWiE9jfC+xrhvY2IVw20vVy3s1K1u1oGDjkmh/l554vd6sDCatyjQrOxWL2yXMXey2vfalblQivy',
  '0aWF6sXF44sLZItzFU5pOqN44rsGHYyPIiQHoTn9MqFxonJRNmyWiCXy5QBggNEBWkHRYoziohQHoUYQqh+muxRotUiTI4ILhHix',
  'nOnUAYmCGRrHWxpVjyN6V9yrc79U4Hr5rblNYK+5L9s8MmN/sUkAj+VQE3RQ7w/tbdTtbtB51cM76pBN7xSb38k2d+PLGqjFDWBL',
  'lZyd6w1VlGcxtKxYt6sUXZ2Pr8xHPPO17rmQ21t4cTG2uEi7JFfrkalxTENmpCpudioAEN8a6FycgtlnyCeliFl3ABgAcEBDNCMj',
  'GQFO81CKC9P9EN0GU3yEHtfR4xpaIqO7xHQZFysa1OZLqU4tLc7n+NyrWx9W4GUWi08O0BkFqIwC5UaBEpYjzbB3E+uv29ug3VWv',
  '8WqCvVrxTdW6XY3UpkrNzkY2DrSjWrc6V7kwkf2c5B2rkF5pkKysFHk3yi51an7sgP9ow4/VYY4Z4y5ZyoVvoQ25+IK3StsMeGmu',
  'emM27vpa6/hGtrEAooAOvP/HkAzQMEBMAhFGC2C6T8c0waQMZZRamqOg2gR45gDi1wk9bdbca1UGt0tfsyMGkZKbtddOVgCbWJlx',
  'oNYwSDszWM+RFvhQM3SgSbevQbe7XrurVr+IdnXqdrBzUUMtDBuxutsy+XKZwa0aw6Bu9/Shc7Wyn1tU3o3SrzrVtwfhMCH6VoW3',
  'EUDAgDAe8CpBjXNHlr5Ru6VRHtm65VmIS7raNQ0J6aAAjU3Ys/IQDZQUPUYyQgJwMXoMpVQ6UqaiByRkpQBPG4DCW1VPK6Q/54g+',
  'Tx05Gdd5vkLyfGi8MKgbPG8ntrxRGgVqjII0hhMcbYUPN0MHmyZaqB7ybkQ/bSK2l0ttfqozOJ7+wamcj74t/+Rei4F/q3Eyd0Oh',
  '+FKT7EYHcrlLfWcIChHgiXI0G4LrUHyEoLX6/kZKZIxzjnZeBlicic7L0s7OUtokE41iCMUgRt9AKAMUFJCRhIRtIRIMk0BCAlTD',
  'jIyRVVwkp1+d2CoPqB6/VyD+NU1wOWb0cED30VulmztFoQtjoSVxiFOEjpX/m6Ot0OEWyLsJPtgE729E9jVAR9qJBQ9aPz6UNfls',
  '4b9+bJh6p/Uj3+4PY3rm5I7trZb+2KW8OwDfHIH8hcgrOZ6nxatwvIsgBRSlYEg1PtEkNLgxrHJNp+dnoIuytcuzuNOSUZ8umCZx',
  'ABAayCggpiguTnFQaoQCKpyWj8Pto3DpgCa9UxFZI7lRwL+SOnImuu9ASMNZvzrPpw1bbr3dZxCutQrAzANh02CtSZDGOFDNcqwN',
  'mmghdgpQ7yacHQHvHsLi8wqDz4qn/tgy6ffWD326P4gamvZmeGWl8mSb6saw+hEP8hNjiUqsEMbrcLKHZkZpSkITaoZhW4QADA0o',
  'mgT2mePzs5Qrs2GXQnReDuacAdumaKPZZQmkFMOl6D6MGITQEZqBEYI3Kq/qV+V1ypOapYEloi9Th45Fd23za1p2v37OtZyv10Rl',
  'TA8G1gG4YbjSNExtEaozC9aYBKpYjrfDx9gWaoEONyOHmrDDveSBespgb/q0bxs/udU95VHPlJChKa94VnnijfXaC126B6OwrxCN',
  'kBBv1Hg5ijcRZB9Nc2hKzBYfMAQAWv140rUS0iFTviQHWZKPWb9CXTPVzm90Dqnw3BTCLgn5o0U6Co1IQSbNsGtKReFdCmWOWJI2',
  'IH7SJPiykHc4aWTfTzU3t6ZnOofr/hUBpoUgRhEqqzClWaTCPFxtHqo1DWaLr2Q52YF82gYfaWVPATnchO3rgtiZnXymYsrVho/u',
  'dn4cMDw1jj81a9ztncqrFbnUj70QEOHjRJKCzNeRdTjRTlIDrD9D8wGlAgwFgIxB2TZ/0Yc5ZGrcMxGrVDkXpeekS2anaWalYa5v',
  '0IWZiM1reGo85JyM763UXmlR3WgYutlYebu29nxJ0+a37XOSJVPDgXEkYD/WDEMlZhG4eQRqHgFbRmqsoxSWESrzUI1psMo4UMHy',
  'WSdyoh0+2qZju+hwM+bdg1hcb5v8Ze1H19s+eto3JWJ06mvRv/JkC6o1ezvRK0P4cxERKSXTVGQpTLaSRA9JDVP0MEOPAFoIaCnb',
  '+volD+aWc9gL2jET31fLrnwVA4in/ahVss4+BZqdhjin6ZxT1TbxWpskpdUreGaczjhBa5YAzOMpi3jCMk5nHSefGcpYhCsMYsGC',
  'yPHzuZlGYahZhNYqSmERoTILU5uEKI2C5Cxnu9BTnfCxdp1+EbWgx/oxg8/KJ33X9PH93ikBw5Pj+VMzxqeXKN3rdQd78G85hM8Y',
  'GS0ns7RkFUp2U8QARXEoeoimBwA9QJMDFCEiiAQpuiCdXFxI2LxRhA5N3Fs0pR8LQD/rJqxfI1avUYsU3CZZ55CodEzWznqNOCSj',
  'tomoZQJuEkd+EklPCmVc44hvyzPbGs8AkduPOW8/CSGMwyDLSKV5BDsCKuMQhWGQjOV0B8L6H++EDrdCxzrJTdniD76onfRz2+SH',
  'fR8GjXyQIJycJf24VGNbr93aQ30xQt4XkyEyKk1Dl+GgDYA2GrThZCfD9ABQi4MCFTjZN7CpULK4ECzIVrtlyDhq7ft7FzDMxHyw',
  '4JXj6nstY4eLJc6vZWax4KNozDAGs46Xbc3ifVPZkNkXppVdkimXYuKdgL+G5m0xCIGsYymLKNQkXGMapvnv+n/WxvojJ7uRQy3a',
  'k73MvGc9H15u/vB65weP+w2CRw2SxAbZig/LoGl1Gs8ecGKE/l1E+krpJDXI0oJiGJTBVAWCV6BoBQ7V0VQLAJU4drIFWp2lW1UE',
  'z89BKRKjmff+AFAIzWhR9vICUgBEAPQD0ARI9l03StOVKHhEMn4A3KSpywR6AlOfQCXHUcGJ9q7/TAsBVmEqkzDt9FDYOFT33/N7',
  'thP/rAs70Y0c78LODALr71s+/KZl0vWuyY8GJgdzpySJP0gfM8gd/7hMOrsJ3tuH/SikHo/T0XImUcGkqpg3KipThb/V4XkIlodT',
  'uRQY1AGbQo3bW2jBW+SHVoimYZohaNaeYV8+OppREkBCAyEAHADa2bg00Qco9tYop8gaCtyjyKck8huu/QpVnIEkR1CJ18PS10Zh',
  'lGWE1ixcYxymMQ3VWoTozII0JgEqls+7qdPdOOt/rAM53Ap/sL/sw29bplzv/vjh4LQg7vTEsU8yJdOKZeY1ulnt1I5B6rKAuiOm',
  'gyVMqISJGGeiJGSMBE9SEmk6NgiVKycfj+BuOboNZahDOlo6rmbYhQp0NIAYRssw7BUhZRghw3AYpp8CDSQoQpgYAFoBzn4dNNBo',
  'GYb9hiOXcN1nsPKYZvwAply5MVlqFckuH8giQmMerrQI01qGwOZBOtMADcu/+6izHfC5buREP746cmjq8bJpl1um/9Zp9LDPJGjU',
  'NGncNFNmWwUb1uss2/G5XdCePvT8EPYLB7/JJR7xCB8h6TtGBkmpMAUdLSXjx4gzzeSifHhOAW6WBQOSrTv7bGaXvBIAOUPLGFrI',
  '7iqG6WWYVoquoKhchPTBqCcY0YwxWhyUkXgliaVRaBAB+aIaHyB6bRCETg1DzaNQC30EtUW41iIUMgvWmQZpWC4NkOdbNV92oZ9x',
  'aMfL5YYX3hl+3WL2a4fVw27r4FGbJInZa6F9sWpGmWx2DWJaq5jfpNvUBh3rhi72IT8OotdHybsi5oGYYZvquYj04xPLSqilhahH',
  'Ef1pDQoBDg3GwJ+I2VuOpkdouoemWxi6hiaKKCyDwaMB+ZxgfoHIP3Csk33aMcwooNoZooXGG5O6WieFyhxi5WbRhHkUYhmltYjQ',
  'mYfpzNgRCNGwHO2GTnVovupFvuGD6QdfGZ8vY/0d7/Y6Ph42fDZiE851zoLsU3lmb0ZdS5XmRWOOFSqXOtWCFtX6Fs3+Vt2pXvw/',
  'HOabEeqHEfLnEfi7LtacXFaIzMkDCRwRDoZpZhgAPQwzRNGDNN1J0000XcXQJTSZQRFxNOnPkHcp+hJOnSOx0zS6l4F/BtpYRP4Q',
  'E5zzLs6ZEcbYRLH1R8wjIfNIdgq0JqH/8GU3/VUvfnkAPpA/bH04w+7LWoOTpTY3Gs2vd0+5PTw/duyDx12LUgWzk4fn5Ygt03lm',
  '+XLzQqlFscTxndytUrW2Bd3fD471kKc7sTO96v01ELv2PQsgyyygRjsZMEhTrHAHzbC0UUwLRdfRdDlNF9J0Nk0l0FQgTT2kqWs0',
  'cZnBzuLIdkS1UytZpRK6KYUuYGTKpFBgGQtbRkH6skfozCJ07Ao1ClWzg2zCBgnX/ruH/K6H+pUP1j6om322yOHrIuffOuY+7J/z',
  'rM/ep3vW446FsVLnoB6PFJVT7JBl7MjMWK5NmsA0S2ZUoJhRrrKrUC2sUq+o1m6qgXY2aLdXIR5FhEc+urcSgolyGtTSVA1NV7NQ',
  'dCVJV2B4Hk2/pelUmoqnqECKfESR10nyCoV/TqGfYtrtkGyzWrRUxp1Ncu1qOrf9K46xiMYtoxGraB3bPGz9LaNhq1jMPAp+73+x',
  'j/iiAz09BiZvDZ+5N9HjesvkoxUGhxsm/afW9WGj2+3GuY875vr2ffxjg6VPm2MEzzJc6BA1aBDMmZQonpqlnJY5/q8MvmWOZE6h',
  'akkptK4CX16CL8zDb3WOE3QGxapS+XrofIrKI6lcCEqk6USKiqSoAJJ8SJLXCeIbgjhPoMcJeD+q3KYbW6PgLRwbcgCdNr9mvpwW',
  'Q5tH0lYxmE2c1ipGaxGlNQ3XGoWyi5SVZ89Cd64b/XKYPlCpNlj4xP1S+ZSd6Qbbilbcr/5of4nZ51WLvmsyPJnj/GOL8VeV1tcq',
  '7W+1W9/qs3nQZfSSM8lncEqoeEoEb3LUyJQknkEyxzFPuboUXVWCzMml3o0XEkwcSSVSxCuKSqbpJJKKx8loBA0kSD+SXfLkfYK4',
  'RhBXcPw8hh/Dkb04tAWWr9aKPFQcN3mvk3LAYGmSyDoBzEuAnOIgqxh9F7EjYBquM2Y7n/UP07Gc6oAvjBIePs0fLfKduSvMYEW0',
  'wapg87N5h1MGPJL420tUV0bAzxziygD+RQ9+pEa3PVcx+3mvyS+tBpdrP7zD+eDhkIFP38fhPIPQYecs9YoiaF0JZJfL3raPSRBE',
  'UiEkHkaRITQdRJAvEfwJit/DiJsE8RtJ/kQQX+P4OQw7imK7UXgTplsByRarBW7qwTnqjlmSxjmTw4FTPGIRi1rEoOzjwTwSMYuA',
  'TcOh9+bvOSkAX/SDGTtDDFzv2F/KXxPHOSsCh/rpfb2IVzN8th35zwA434Wd6sS2NIHDrYx3G7yrEdndAjYVgZk3hgy+qpxyb/CD',
  'ez0fPetfVYatKUM9y8DndXxSdw0j7uL4XQK7h6M3UfQ6hl/DiV8w/CqKXaaoyzj2BYadwtBDKLILgTfC2pWQarFG7KbkOEl7HbXN',
  'xpGFl6dHM7bxuGUcbhmDW0RhFpHsKxoxC4dNw/7hXD9+agDbm9731Qg4NoId7aWOtoPPesDhJu2eRmRrI7GzAdtbj3zWptnRjB1t',
  'BBuqia1VpFclveEdtK2ZXPmW+uT6iMGVhhm3uvc3gw1VhHslSOa8wuSnYPg7FPmWQL+BoS816nMIcoGkLmL4WQQ5wTCnUeQQCu9F',
  '4e2Ibj2i9dSx8rJ5Kv4seb+VqNNGV2dw6HWOWQJpHk9axlOWsYRlNOuP6T8EwlGzUORvjrdp2VfZ0R78NAfsa9Xta9Ltrdcd66RO',
  'dNEHW8mdjYRXA76rDvduQrY34Hvq6Y01+GY2QiW5tlS3phzaUEetqaVcYgWOPgMrC1HXYmJ+MdTa/ylOnBoY2qWQs1N5TqvaJ5Gu',
  'Vap2aCFvXHdAodnOYHsgeAsMrUd0K2GNB6xaoJXNVYudlUP28g5LTfM0uGaaYTq7OXErPZhVDLuCcItI3CICMw/HzEP/4VwPeaqL',
  'ZF/ORzvYyjPsx/vhDsS7Fd3Pfos14XsbyV315M5aanstubWW2FxLbKrD2QgbqvCNVeTmanpVkXZTBba+ilxbw6ysQJaXqdxL1Jw+',
  '53fDqzi8LXLpbqlwi1KyRavcolRslMrXk8qNIrkH0K7Wwh6Qzh3WzIeVLpB8lnbMQc2zU/ZYyxssOdXTi8tWfxyC2USzoDbswoxG',
  'WX/LKNYftwjHLUL/4bNu/Hg3frQLP9ZJHG8nj7VjR9r1/vua8b1NxJ73/nXk9rq//GvxjdV6/w2VxIZKck0ZvKESW1uBryzHV5QB',
  'z2LwZfG9zE7rnC6brsHV/JH1vT1LeaOr5JINPPEKiWiFRrxcJFyAiN0lsnlq5Xz1+By50EnCtZcN2Sn67CSt1qIai7HyyZez/Ywi',
  'KatY1CYGtovRWccg+vpP+OvrH4aZhbKwjYQeZ1+e3ciRHvRT9kOsAzvejhxpgw+2YvtaiD1N5O5G0quB3KH3J7bWEVv+y399Bb6u',
  'HF9Xga2rRFe9Q5YXw56l9MoysKOEutOwMKbsw4Jqp/42j87epd097n3d81v6XCSji8Uj84XDLooBZy7fSSGZK+U6CAftOF3WonYb',
  'WYutqN6KU2mmLjGwT5RZxwKLONQ6DnKI07ApLPT+mLl+BDCzcMw0DDUJRVjO9OAXeqn/9IKzXRRb/MNtmHcrtr8F39NM7m4ivRrJ',
  'nQ3Ejnpy29/+Nf+TP1v5tRXYqnfoilLUs5RYXso4VyFzi6nDmdnhtR9VdDl3jazIKTKprnOsaXMe6F80OrRkuGfBeI9TT4/duNBN',
  'LpjT0erYVWM/XPVhW5WJoHKaoMzg3rtvpscgJtG0VRxiHQvbxrLLH7GIZu9cvb9ZBGoajpqEIUYhEMvFPvJ0N3GsEzvcjh9sww+0',
  '4vrKtxC7m0mvJnZ+yR0NxPZ64r/8ib/915bja8rx1eX4qnf4ynf48jLMowRdVox5FhMLS8D5ylH/pvs1PQua+hdnFpvmllkWVtrW',
  '1bvWvJs1VG/ZWG891Oc80muTXzqjvnRye7lBeoP35YKsyfHANIGclQA7xMM2saw/YhWDWrL7X++PmkWhppGoaQTCfgsbhmhZPuvB',
  '2S+vwx3YoQn//a3EXr084dVM7GwidjQS2xuIbfUT8nUT/f/ev5LtnD/938uveId7lrJdpPMsRD0LSOdcsDgX7CsSX3rXOjer5nLJ',
  '709KdyWXmRe+m9ZcbjBYvb640elN3YbQkiMn05+uSK2e/BaYJ4NZCcA6hrSNI+wTcNt4zCYWtY5F/3d/E70/bBiqYznciRzqQL07',
  'sIPt+IE2Yl+rvvi7/pTHtzfi2xrwP/1r8c21+Hv/9RP+fxdfL1+GrSiBVhWpVxQgy3Mp9gk0Ox9xySXccoBbHpiXDxxzgXk2cHqD',
  'risEJ5vUW8qI+XmUSTqwSqMc0giH17RDMrB9RVi9gqySMKsE2jqe+Msfs4zB/vSfKL5JuN7fKBRiOcJWvgPz1svj+9uIva3E7hbc',
  'qxnf3vSn/NZ6PVvqcL1/zT/+a/X+xJ/FL9M3j2cJ4lkELy/AluVR7nn4vDx0Xi42P4eYn0vOz6XmZyPzM1S2r5HwtoErbZIf64S3',
  'Gkas00m7NNwxFXN8jTskk3bJuE0yYpOI2SSQNqx/HGatX/7/J/9wmI3AcrQdP9xOeLcT+uK3EXtaiV0t+I5mfFsjtpWlAdPLT/hv',
  '/qv++uavJNZWEKsn/CeKjy8vxZaV4MuKiKWF5NICakk+4Z6HLcpFF+TAC3KQBW/Redm4Wza1JBs1ecXc7OYdLxabp5CO6ZhTGuqU',
  'Aju+RhxeofZJqF0iZpeAsc8GPXG4NXt//R/84b/5v+Y/Pxubl00syoPtc5HZ7MMsTzc9jXRIQx1Tkf8n/BdkYwuyMOcM3Jrt9nR0',
  'zhudUzpsn4r8f+7/PwDPL8EM',
  ].join(''),
};
