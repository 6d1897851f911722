import type { Rig } from './rig.js';
import { waitFor } from './wait.js';

/**
 * The line the guest's tty1 shell last read (what was typed, as the guest assembled it), once
 * it equals `expected` or after 15 s — then whatever it last was, for the caller's expect() to
 * show the difference.
 */
export async function typedLine(rig: Rig, expected: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        last = (await rig.guest.check('vdi-typed')).replace(/\n$/, '');
        return last === expected ? last : undefined;
      },
      { message: `the guest shell to read ${JSON.stringify(expected)}`, timeoutMs: 15_000, intervalMs: 250 },
    );
  } catch {
    return last;
  }
}
