// usocket frees a closed handle's memory if a garbage collection comes before libuv's close
// phase, and the process aborts (uv__finish_close). Without the guard this loop aborted within
// a tenth of a second on this machine; with it, every handle is kept until its close is done.
import { closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closingUSocketHandles } from '../src/dbus/usocket-close-guard.js';
import { socketpair } from '../src/dbus/socketpair.js';
import { collectGarbage, USocket } from './peer-helpers.js';

describe('usocket close guard', () => {
  it("keeps a destroyed socket's handle until libuv has closed it, through garbage collections", async () => {
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const [ours, theirs] = socketpair();
        new USocket({ fd: ours }).destroy();
        closeSync(theirs);
        collectGarbage({ type: 'minor' });
      }
      // This round's, and the previous round's until their second hop.
      expect(closingUSocketHandles()).toBeGreaterThanOrEqual(50);
      expect(closingUSocketHandles()).toBeLessThanOrEqual(100);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
    expect(closingUSocketHandles()).toBe(0);
  });
});
