import { describe, expect, it } from 'vitest';
import { AuthRateLimiter, isLoopback, parseEndpoint, StallWatch } from '../src/index.js';

describe('parseEndpoint', () => {
  it('reads HOST:PORT, [v6]:PORT and a bare PORT (then on loopback)', () => {
    expect(parseEndpoint('0.0.0.0:5901', '--listen')).toEqual({ host: '0.0.0.0', port: 5901 });
    expect(parseEndpoint('[::1]:3389', '--listen')).toEqual({ host: '::1', port: 3389 });
    expect(parseEndpoint('5900', '--listen')).toEqual({ host: '127.0.0.1', port: 5900 });
  });

  it('names the flag and the expected form when the text is wrong', () => {
    expect(() => parseEndpoint('host:99999', '--listen')).toThrow('--listen takes HOST:PORT (e.g. 127.0.0.1:5900), not "host:99999"');
    expect(() => parseEndpoint('nonsense', '--websocket')).toThrow(/^--websocket takes HOST:PORT/);
  });
});

describe('isLoopback', () => {
  it('knows the loopback names and addresses, and nothing else', () => {
    expect(['localhost', '127.0.0.1', '127.3.2.1', '::1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.org'].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe('AuthRateLimiter', () => {
  it('blocks an address after the allowed failures within the window, and only that address', () => {
    let now = 0;
    const limiter = new AuthRateLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) limiter.fail('10.0.0.1');
    expect(limiter.blocked('10.0.0.1')).toBe(true);
    expect(limiter.blocked('10.0.0.2')).toBe(false);
    now = 60_001;
    expect(limiter.blocked('10.0.0.1')).toBe(false);
  });

  it('forgets an address after a success', () => {
    const limiter = new AuthRateLimiter(2, 60_000, () => 0);
    limiter.fail('a');
    limiter.succeed('a');
    limiter.fail('a');
    expect(limiter.blocked('a')).toBe(false);
  });
});

describe('StallWatch', () => {
  it('reports a stream whose waiting output has not shrunk for the timeout, once', () => {
    let now = 0;
    const stream = { writableLength: 1000 };
    const stalls: number[] = [];
    const watch = new StallWatch(() => stream.writableLength, 5000, (ms) => stalls.push(ms), () => now);
    watch.wrote();
    now = 3000;
    stream.writableLength = 800; // some progress
    watch.check();
    now = 7000;
    watch.check();
    expect(stalls).toEqual([]);
    now = 8000;
    watch.check();
    expect(stalls).toEqual([5000]);
    now = 20000;
    watch.check();
    expect(stalls).toEqual([5000]);
  });

  it('forgets a stream once its output is all gone, and never watches with timeout 0', () => {
    let now = 0;
    const stream = { writableLength: 10 };
    const stalls: number[] = [];
    const watch = new StallWatch(() => stream.writableLength, 1000, (ms) => stalls.push(ms), () => now);
    watch.wrote();
    stream.writableLength = 0;
    watch.check();
    now = 5000;
    stream.writableLength = 10;
    watch.check();
    expect(stalls).toEqual([]);
    const never = new StallWatch(() => 10, 0, () => stalls.push(-1), () => now);
    never.wrote();
    now = 1e9;
    never.check();
    watch.stop();
    expect(stalls).toEqual([]);
  });
});
