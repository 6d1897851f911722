// Processes and directories a test started, killed and removed if the test process exits
// without cleaning up (a crashed worker must not leave QEMUs behind on a 2-core machine).
import { rmSync } from 'node:fs';

export const livePids = new Set<number>();
export const liveDirs = new Set<string>();

process.once('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});
