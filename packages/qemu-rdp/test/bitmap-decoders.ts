// Test-only decoders of RDP bitmap data, written from the specifications to round-trip the encoders:
// uncompressed (MS-RDPBCGR 2.2.9.1.1.3.1.2.2), interleaved RLE (MS-RDPBCGR 2.2.9.1.1.3.1.2.4 and
// the decoder pseudo-code of 3.1.9) and planar (MS-RDPEGDI 2.2.2.5.1 and 3.1.9). Strict: they
// throw on anything a lenient client might let pass (overruns, leftovers, unfilled pixels).

/** Decoded pixels, top-down: 16-bit values at 15/16 bpp, 0xRRGGBB at 24/32 bpp. */
export type Pixels = Uint32Array;

function bytesOf(bpp: number): number {
  if (bpp === 15 || bpp === 16) return 2;
  if (bpp === 24) return 3;
  if (bpp === 32) return 4;
  throw new Error(`bad bpp ${bpp}`);
}

/** Bottom-up rows of `width` values → top-down. */
function flip(bottomUp: Uint32Array, width: number, height: number): Pixels {
  const out = new Uint32Array(width * height);
  for (let r = 0; r < height; r++) out.set(bottomUp.subarray(r * width, (r + 1) * width), (height - 1 - r) * width);
  return out;
}

/** Uncompressed: bottom-up rows, each padded to a multiple of 4 bytes. */
export function decodeUncompressed(data: Uint8Array, width: number, height: number, bpp: number): Pixels {
  const bytes = bytesOf(bpp);
  const rowBytes = Math.ceil((width * bytes) / 4) * 4;
  if (data.length !== rowBytes * height) throw new Error(`uncompressed: ${data.length} bytes, expected ${rowBytes * height}`);
  const out = new Uint32Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const i = r * rowBytes + c * bytes;
      const v = bytes === 2 ? data[i] | (data[i + 1] << 8) : data[i] | (data[i + 1] << 8) | (data[i + 2] << 16);
      out[(height - 1 - r) * width + c] = v;
    }
  }
  return out;
}

export const ORDER_NAMES: Record<number, string> = {
  0x0: 'REGULAR_BG_RUN',
  0x1: 'REGULAR_FG_RUN',
  0x2: 'REGULAR_FGBG_IMAGE',
  0x3: 'REGULAR_COLOR_RUN',
  0x4: 'REGULAR_COLOR_IMAGE',
  0xc: 'LITE_SET_FG_FG_RUN',
  0xd: 'LITE_SET_FG_FGBG_IMAGE',
  0xe: 'LITE_DITHERED_RUN',
  0xf0: 'MEGA_MEGA_BG_RUN',
  0xf1: 'MEGA_MEGA_FG_RUN',
  0xf2: 'MEGA_MEGA_FGBG_IMAGE',
  0xf3: 'MEGA_MEGA_COLOR_RUN',
  0xf4: 'MEGA_MEGA_COLOR_IMAGE',
  0xf6: 'MEGA_MEGA_SET_FG_RUN',
  0xf7: 'MEGA_MEGA_SET_FGBG_IMAGE',
  0xf8: 'MEGA_MEGA_DITHERED_RUN',
  0xf9: 'SPECIAL_FGBG_1',
  0xfa: 'SPECIAL_FGBG_2',
  0xfd: 'SPECIAL_WHITE',
  0xfe: 'SPECIAL_BLACK',
};

export interface InterleavedResult {
  pixels: Pixels;
  /** How many times each order was used. */
  orders: Record<string, number>;
}

export interface InterleavedOptions {
  /** The decoder's initial fgPel and SPECIAL_WHITE value (the spec's white; FreeRDP uses 0xFFFF at 15 bpp). */
  white?: number;
}

/** Interleaved RLE, decoded as MS-RDPBCGR 3.1.9's RleDecompress does, rowDelta = width pixels. */
export function decodeInterleaved(
  data: Uint8Array,
  width: number,
  height: number,
  bpp: number,
  options: InterleavedOptions = {},
): InterleavedResult {
  const bytes = bytesOf(bpp);
  if (bytes === 4) throw new Error('interleaved RLE has no 32 bpp');
  const white = options.white ?? (bpp === 15 ? 0x7fff : bpp === 16 ? 0xffff : 0xffffff);
  const n = width * height;
  const dst = new Uint32Array(n);
  const orders: Record<string, number> = {};
  let src = 0;
  let d = 0;
  let fgPel = white;
  let insertFgPel = false;
  let firstLine = true;

  const need = (k: number): void => {
    if (src + k > data.length) throw new Error(`interleaved: truncated at ${src} (+${k})`);
  };
  const u8 = (): number => {
    need(1);
    return data[src++];
  };
  const pixel = (): number => {
    need(bytes);
    const v = bytes === 2 ? data[src] | (data[src + 1] << 8) : data[src] | (data[src + 1] << 8) | (data[src + 2] << 16);
    src += bytes;
    return v;
  };
  const room = (k: number): void => {
    if (d + k > n) throw new Error(`interleaved: ${k} pixels at ${d} overrun ${n}`);
  };
  const above = (): number => (firstLine ? 0 : dst[d - width]);
  const fgbg = (mask: number, count: number): void => {
    room(count);
    for (let b = 0; b < count; b++) {
      const set = (mask >> b) & 1;
      if (firstLine) dst[d] = set ? fgPel : 0;
      else dst[d] = set ? dst[d - width] ^ fgPel : dst[d - width];
      d++;
    }
  };

  while (src < data.length) {
    if (firstLine && d >= width) {
      firstLine = false;
      insertFgPel = false;
    }
    const hdr = u8();
    let code: number;
    if ((hdr & 0xc0) !== 0xc0) code = hdr >> 5;
    else if ((hdr & 0xf0) === 0xf0) code = hdr;
    else code = hdr >> 4;
    const name = ORDER_NAMES[code];
    if (!name) throw new Error(`interleaved: bad order header 0x${hdr.toString(16)} at ${src - 1}`);
    orders[name] = (orders[name] ?? 0) + 1;

    let run = 0;
    const mega = (): number => {
      const lo = u8();
      return lo | (u8() << 8);
    };
    switch (code) {
      case 0x0:
      case 0x1:
      case 0x3:
      case 0x4:
        run = hdr & 0x1f;
        if (run === 0) run = u8() + 32;
        break;
      case 0x2:
        run = hdr & 0x1f;
        run = run === 0 ? u8() + 1 : run * 8;
        break;
      case 0xc:
      case 0xe:
        run = hdr & 0x0f;
        if (run === 0) run = u8() + 16;
        break;
      case 0xd:
        run = hdr & 0x0f;
        run = run === 0 ? u8() + 1 : run * 8;
        break;
      case 0xf0:
      case 0xf1:
      case 0xf2:
      case 0xf3:
      case 0xf4:
      case 0xf6:
      case 0xf7:
      case 0xf8:
        run = mega();
        if (run === 0) throw new Error('interleaved: MEGA_MEGA run of 0');
        break;
      default:
        break;
    }

    if (code === 0x0 || code === 0xf0) {
      room(run);
      if (insertFgPel) {
        dst[d] = above() ^ fgPel;
        d++;
        run--;
      }
      for (; run > 0; run--, d++) dst[d] = above();
      insertFgPel = true;
      continue;
    }
    insertFgPel = false;

    switch (code) {
      case 0x1:
      case 0xf1:
      case 0xc:
      case 0xf6:
        if (code === 0xc || code === 0xf6) fgPel = pixel();
        room(run);
        for (; run > 0; run--, d++) dst[d] = above() ^ fgPel;
        break;
      case 0xe:
      case 0xf8: {
        const a = pixel();
        const b = pixel();
        room(run * 2);
        for (; run > 0; run--) {
          dst[d++] = a;
          dst[d++] = b;
        }
        break;
      }
      case 0x3:
      case 0xf3: {
        const p = pixel();
        room(run);
        for (; run > 0; run--) dst[d++] = p;
        break;
      }
      case 0x2:
      case 0xf2:
      case 0xd:
      case 0xf7:
        if (code === 0xd || code === 0xf7) fgPel = pixel();
        while (run > 0) {
          const count = Math.min(run, 8);
          fgbg(u8(), count);
          run -= count;
        }
        break;
      case 0x4:
      case 0xf4:
        room(run);
        for (; run > 0; run--) dst[d++] = pixel();
        break;
      case 0xf9:
        fgbg(0x03, 8);
        break;
      case 0xfa:
        fgbg(0x05, 8);
        break;
      case 0xfd:
        room(1);
        dst[d++] = white;
        break;
      case 0xfe:
        room(1);
        dst[d++] = 0;
        break;
      default:
        throw new Error(`interleaved: unhandled order 0x${code.toString(16)}`);
    }
  }
  if (d !== n) throw new Error(`interleaved: decoded ${d} of ${n} pixels`);
  return { pixels: flip(dst, width, height), orders };
}

export interface PlanarResult {
  /** 0xRRGGBB, top-down. */
  pixels: Pixels;
  /** The alpha plane, top-down, when the stream has one. */
  alpha?: Uint8Array;
  formatHeader: number;
  rle: boolean;
}

/** Planar (RDP6_BITMAP_STREAM) with the ARGB plane definition, as carried by bitmap updates (bottom-up). */
export function decodePlanar(data: Uint8Array, width: number, height: number): PlanarResult {
  if (data.length < 1) throw new Error('planar: empty');
  const header = data[0];
  const cll = header & 0x07;
  const cs = (header & 0x08) !== 0;
  const rle = (header & 0x10) !== 0;
  const hasAlpha = (header & 0x20) === 0;
  if ((header & 0xc0) !== 0) throw new Error(`planar: reserved header bits in 0x${header.toString(16)}`);
  if (cll !== 0 || cs) throw new Error('planar: only the ARGB plane definition is decoded here');
  const n = width * height;
  const planeCount = hasAlpha ? 4 : 3;
  const planes: Uint8Array[] = [];
  let pos = 1;
  for (let p = 0; p < planeCount; p++) {
    if (rle) {
      const plane = new Uint8Array(n);
      pos = decodeRlePlane(data, pos, plane, width, height);
      planes.push(plane);
    } else {
      if (pos + n > data.length) throw new Error('planar: raw plane truncated');
      planes.push(data.subarray(pos, pos + n));
      pos += n;
    }
  }
  if (!rle) {
    if (pos + 1 !== data.length) throw new Error(`planar: raw planes need exactly one pad byte, ${data.length - pos} left`);
  } else if (pos !== data.length) {
    throw new Error(`planar: ${data.length - pos} bytes left after the planes`);
  }
  const [a, r, g, b] = hasAlpha ? planes : [undefined, ...planes];
  const bottomUp = new Uint32Array(n);
  for (let i = 0; i < n; i++) bottomUp[i] = (r![i] << 16) | (g![i] << 8) | b![i];
  let alpha: Uint8Array | undefined;
  if (a) {
    alpha = new Uint8Array(n);
    for (let row = 0; row < height; row++) alpha.set(a.subarray(row * width, (row + 1) * width), (height - 1 - row) * width);
  }
  return { pixels: flip(bottomUp, width, height), alpha, formatHeader: header, rle };
}

/** RDP6_RLE_SEGMENTS for one plane: first row absolute, later rows sign-magnitude deltas. */
function decodeRlePlane(data: Uint8Array, pos: number, plane: Uint8Array, width: number, height: number): number {
  for (let row = 0; row < height; row++) {
    let x = 0;
    let value = 0; // the last raw value (absolute in row 0, a signed delta after)
    while (x < width) {
      if (pos >= data.length) throw new Error(`planar: RLE truncated in row ${row}`);
      const control = data[pos++];
      let run = control & 0x0f;
      let raw = control >> 4;
      if (run === 1) {
        run = raw + 16;
        raw = 0;
      } else if (run === 2) {
        run = raw + 32;
        raw = 0;
      }
      if (x + raw + run > width) throw new Error(`planar: segment crosses the end of row ${row}`);
      if (pos + raw > data.length) throw new Error('planar: raw bytes truncated');
      const emit = (v: number): void => {
        const i = row * width + x;
        plane[i] = row === 0 ? v : (plane[i - width] + v) & 0xff;
        x++;
      };
      for (let k = 0; k < raw; k++) {
        const t = data[pos++];
        value = row === 0 ? t : t & 1 ? -((t >> 1) + 1) : t >> 1;
        emit(value);
      }
      for (let k = 0; k < run; k++) emit(value);
    }
  }
  return pos;
}
