// What the command-line programs (qemu-display, qemu-vnc, qemu-rdp) share when they read their
// options: bad usage as its own error (each CLI exits 2 for it, pointing at --help) and the checks
// of option values that raise it. Pure: the exit itself stays in each CLI.
import { parseEndpoint, type Endpoint } from './net/endpoint.js';
import { readSecretFile } from './net/secret-file.js';

/** The command line is wrong: exit code 2, with a pointer to --help. */
export class UsageError extends Error {}

/** `HOST:PORT` of option `flag`. */
export function endpointArg(text: string, flag: string): Endpoint {
  try {
    return parseEndpoint(text, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A whole number ≥ 0 of option `flag`; `unit` names what it counts in the message ("seconds"). */
export function wholeNumberArg(text: string | undefined, flag: string, unit?: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} takes a whole number${unit ? ` of ${unit}` : ''}, not "${text}"`);
  return n;
}

/** The password in `file` (a bad file is bad usage). */
export function passwordFileArg(file: string): string {
  try {
    return readSecretFile(file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
