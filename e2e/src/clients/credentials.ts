// Credentials for the authentication tests, made by the real tools: TigerVNC's vncpasswd
// (its obfuscated password file) and openssl (a self-signed certificate for VeNCrypt X509).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check } from './process.js';

/** Writes `password` as a plain text file (qemu-vnc --password-file) and returns its path. */
export async function plainPasswordFile(dir: string, name: string, password: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/** `vncpasswd -f` (TigerVNC's -passwd format, DES-obfuscated) for `password`; returns its path. */
export async function vncPasswdFile(dir: string, name: string, password: string): Promise<string> {
  const { stdout } = await check('vncpasswd', ['-f'], { input: `${password}\n`, encoding: 'latin1' });
  const file = join(dir, name);
  await writeFile(file, Buffer.from(stdout, 'latin1'), { mode: 0o600 });
  return file;
}

export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate (P-256, valid one day) for `localhost` and 127.0.0.1, which a
 * client can also take as its CA. `name` prefixes the two files in `dir`.
 */
export async function selfSignedCert(dir: string, name: string): Promise<CertFiles> {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  await check('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=localhost`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { cert, key };
}
