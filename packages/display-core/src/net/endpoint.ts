// HOST:PORT arguments and the loopback rule (servers bind to 127.0.0.1 unless told otherwise).
import { isIP } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
}

/** Parses `HOST:PORT`, `[v6]:PORT` or `PORT` (then on 127.0.0.1). */
export function parseEndpoint(text: string, flag: string): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} takes HOST:PORT (e.g. 127.0.0.1:5900), not "${text}"`);
  }
  const host = m[1] || m[2] || '127.0.0.1'; // a bare PORT matches with both groups empty
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
