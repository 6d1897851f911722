// unix-socketpair's entry point is the .node addon itself, which ESM cannot import.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const native = require('unix-socketpair') as (type?: number) => [number, number];

/** A connected pair of SOCK_STREAM unix sockets (CLOEXEC, non-blocking). */
export function socketpair(): [number, number] {
  return native();
}
