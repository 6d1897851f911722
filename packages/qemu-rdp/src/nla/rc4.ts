// RC4 stream cipher (the "Arcfour" algorithm; test vectors in RFC 6229), for NTLM key exchange and
// sealing (MS-NLMP 3.4.3, 3.4.4, 6 "RC4K"/"RC4"). OpenSSL 3 no longer offers it by default.

/** One RC4 keystream: successive `update` calls continue it, as NTLM's sealing handles require. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1–256 bytes');
    const s = this.s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
  }

  /** `data` XOR the next data.length keystream bytes (encryption and decryption alike). */
  update(data: Uint8Array): Buffer {
    const s = this.s;
    const out = Buffer.alloc(data.length);
    let { i, j } = this;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }
}

/** RC4K(key, data) of MS-NLMP 6: a fresh keystream used once. */
export function rc4Once(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).update(data);
}
