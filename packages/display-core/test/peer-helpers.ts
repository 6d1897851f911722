// What the tests that put a usocket on the far end of a socketpair share. usocket's destroy
// aborts the process when a garbage collection comes before libuv's close phase, so its close
// guard is installed here, and `collectGarbage` lets a test bring that collection on at once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import '../src/dbus/usocket-close-guard.js';

export { USocket } from 'usocket';

setFlagsFromString('--expose-gc');
export const collectGarbage = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;

/** Waits until `check` holds, for at most 5 s of wall time. */
export async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !check() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}
