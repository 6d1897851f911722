// MD4 message digest (RFC 1320), needed by NTOWFv2 (MS-NLMP 3.3.2) because OpenSSL 3 no longer
// offers it through node:crypto. Only ever used on short inputs (a password in UTF-16LE).

const ROUND2_CONSTANT = 0x5a827999;
const ROUND3_CONSTANT = 0x6ed9eba1;
/** RFC 1320 3.4: the order in which rounds 2 and 3 take the block's words. */
const ROUND2_WORD_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ROUND3_WORD_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const ROUND1_SHIFTS = [3, 7, 11, 19];
const ROUND2_SHIFTS = [3, 5, 9, 13];
const ROUND3_SHIFTS = [3, 9, 11, 15];

function rotl(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

/** The 16-byte MD4 digest of `message`. */
export function md4(message: Uint8Array): Buffer {
  // RFC 1320 3.1–3.2: a 1 bit, zeros up to 56 mod 64, then the bit length as 64-bit little-endian.
  const paddedLength = (((message.length + 8) >> 6) + 1) << 6;
  const padded = Buffer.alloc(paddedLength);
  padded.set(message, 0);
  padded[message.length] = 0x80;
  const bitLength = BigInt(message.length) * 8n;
  padded.writeBigUInt64LE(bitLength, paddedLength - 8);

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  for (let block = 0; block < paddedLength; block += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(block + i * 4);
    let [a, b, c, d] = state as [number, number, number, number];
    // Each round: 16 steps, the four registers rotating roles (a, b, c, d) → (d, a, b, c).
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + x[i]!) >>> 0, ROUND1_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    for (let i = 0; i < 16; i++) {
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[ROUND2_WORD_ORDER[i]!]! + ROUND2_CONSTANT) >>> 0, ROUND2_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + x[ROUND3_WORD_ORDER[i]!]! + ROUND3_CONSTANT) >>> 0, ROUND3_SHIFTS[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
    state[0] = (state[0]! + a) >>> 0;
    state[1] = (state[1]! + b) >>> 0;
    state[2] = (state[2]! + c) >>> 0;
    state[3] = (state[3]! + d) >>> 0;
  }
  const digest = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) digest.writeUInt32LE(state[i]!, i * 4);
  return digest;
}
