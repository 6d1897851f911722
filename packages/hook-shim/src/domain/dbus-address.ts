// D-Bus server addresses (`unix:path=…`): values escape every byte outside the set the
// D-Bus specification calls "optionally escaped" as %XX of its UTF-8 encoding.

const OPTIONALLY_ESCAPED = /^[-0-9A-Za-z_/.\\*]$/;

/** Escapes one value of a D-Bus address (`key=value`) as the D-Bus specification asks. */
export function escapeDbusAddressValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += OPTIONALLY_ESCAPED.test(ch) ? ch : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The D-Bus address of a unix socket at an absolute path: `unix:path=/…`. */
export function unixBusAddress(path: string): string {
  return `unix:path=${escapeDbusAddressValue(path)}`;
}
