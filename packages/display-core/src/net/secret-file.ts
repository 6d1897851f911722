// Passwords come from files (mounted secrets), never from the command line or environment.
import { readFileSync } from 'node:fs';

/** The file's text without its final newline; throws a one-line Error when unreadable or empty. */
export function readSecretFile(file: string, what = 'password file'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the ${what}: ${(err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new Error(`the ${what} ${file} is empty`);
  return secret;
}
