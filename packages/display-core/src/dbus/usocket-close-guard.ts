// usocket (the unix socket with fd passing that dbus-next's bus connection uses) closes its
// native handle with uv_close() and drops the JavaScript object that owns the handle's memory
// at once. libuv finishes a close only in the loop's close phase; a garbage collection in
// between frees that memory first and the process aborts ("uv__finish_close: Assertion `0'
// failed"): seen in CI when a bus or QEMU's listener link went away. The guard keeps every
// closed handle's owner until the close phase has run — two setImmediate hops, which whatever
// phase the close happened in end after that phase's close callbacks.
import { USocket } from 'usocket';

interface WrapHolder {
  _wrap?: object | null;
}

const closing = new Set<object>();

/** Handles closed but not yet released (for tests). */
export function closingUSocketHandles(): number {
  return closing.size;
}

function keepUntilClosed(wrap: object): void {
  closing.add(wrap);
  setImmediate(() => setImmediate(() => closing.delete(wrap)));
}

/** Wraps a USocket method that may close the native handle (and then drops `_wrap`). */
function guard(name: 'destroy' | '_wrapEvent'): void {
  const proto = USocket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = proto[name];
  if (typeof original !== 'function' || (original as { closeGuarded?: boolean }).closeGuarded) return;
  const guarded = function (this: WrapHolder, ...args: unknown[]): unknown {
    const wrap = this._wrap;
    try {
      return original.apply(this, args);
    } finally {
      if (wrap && !this._wrap) keepUntilClosed(wrap);
    }
  };
  (guarded as { closeGuarded?: boolean }).closeGuarded = true;
  proto[name] = guarded;
}

guard('destroy');
guard('_wrapEvent');
