import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createServer, connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../src/server/self-signed.js';

describe('createSelfSignedCertificate', () => {
  it('makes a certificate that OpenSSL parses, with the name, validity and key asked for', () => {
    const now = new Date('2026-11-27T12:00:00Z');
    const c = createSelfSignedCertificate('vm-1.example', 30, now);
    const x = new X509Certificate(c.certPem);
    expect(x.subject).toBe('CN=vm-1.example');
    expect(x.issuer).toBe('CN=vm-1.example');
    expect(new Date(x.validFrom).getTime()).toBe(now.getTime() - 3600_000);
    expect(new Date(x.validTo).getTime()).toBe(now.getTime() + 30 * 86400_000);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(c.keyPem))).toBe(true);
    expect(c.fingerprint256).toBe(x.fingerprint256);
    expect(c.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('uses GeneralizedTime for dates from 2050 on', () => {
    const c = createSelfSignedCertificate('late', 1, new Date('2060-01-01T00:00:00Z'));
    expect(new Date(new X509Certificate(c.certPem).validTo).toISOString()).toBe('2060-01-02T00:00:00.000Z');
  });

  it('serves TLS that a client completes and pins by fingerprint', async () => {
    const c = createSelfSignedCertificate('localhost');
    const server = createServer({ cert: c.certPem, key: c.keyPem }, (s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const got = await new Promise<{ text: string; fp: string }>((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
        const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolve({ text, fp }));
      });
      s.on('error', reject);
    });
    server.close();
    expect(got).toEqual({ text: 'hello', fp: c.fingerprint256 });
  });
});
