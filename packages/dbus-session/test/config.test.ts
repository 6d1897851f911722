import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOW_UIDS, generateConfig } from '../src/index.js';

describe('generateConfig', () => {
  it('listens on the socket with EXTERNAL auth only', () => {
    const xml = generateConfig({ socketPath: '/run/vdi/bus' });
    expect(xml).toContain('<listen>unix:path=/run/vdi/bus</listen>');
    expect(xml.match(/<auth>/g)).toEqual(['<auth>']);
    expect(xml).toContain('<auth>EXTERNAL</auth>');
    expect(xml.startsWith('<!DOCTYPE busconfig')).toBe(true);
    expect(xml.trimEnd().endsWith('</busconfig>')).toBe(true);
  });

  it('allows QEMU uid 107 by default and the own uid when given', () => {
    expect(DEFAULT_ALLOW_UIDS).toEqual([107]);
    const xml = generateConfig({ socketPath: '/b', ownUid: 1000 });
    expect(xml).toContain('<allow user="1000"/>');
    expect(xml).toContain('<allow user="107"/>');
  });

  it("allows any uid with '*'", () => {
    const xml = generateConfig({ socketPath: '/b', ownUid: 0, allowUids: '*' });
    expect(xml.match(/<allow user="[^"]*"\/>/g)).toEqual(['<allow user="*"/>']);
  });

  it('lists each allowed uid once', () => {
    const xml = generateConfig({ socketPath: '/b', ownUid: 0, allowUids: [0, 107, 107, 5] });
    expect(xml.match(/<allow user="\d+"\/>/g)).toEqual(['<allow user="0"/>', '<allow user="107"/>', '<allow user="5"/>']);
  });

  it('lets everyone connected own names and exchange every message type', () => {
    const xml = generateConfig({ socketPath: '/b' });
    expect(xml).toContain('<allow own="*"/>');
    for (const type of ['method_call', 'method_return', 'error', 'signal']) {
      expect(xml).toContain(`<allow send_type="${type}"/>`);
      expect(xml).toContain(`<allow receive_type="${type}"/>`);
    }
    expect(xml).not.toContain('<deny');
  });

  it('sets message and connection limits', () => {
    const xml = generateConfig({ socketPath: '/b' });
    const limit = (name: string) => Number(new RegExp(`<limit name="${name}">(\\d+)</limit>`).exec(xml)?.[1]);
    // A 3840x2160 32-bit frame must fit in one message.
    expect(limit('max_message_size')).toBeGreaterThanOrEqual(3840 * 2160 * 4);
    expect(limit('max_incoming_bytes')).toBeGreaterThanOrEqual(limit('max_message_size'));
    expect(limit('max_completed_connections')).toBeGreaterThan(0);
    expect(limit('max_message_unix_fds')).toBeGreaterThan(0);
  });

  it('is pure', () => {
    expect(generateConfig({ socketPath: '/x/y', allowUids: [1, 2] })).toBe(
      generateConfig({ socketPath: '/x/y', allowUids: [1, 2] }),
    );
  });

  it('escapes XML in the path', () => {
    expect(generateConfig({ socketPath: '/tmp/a&b<c>' })).toContain('<listen>unix:path=/tmp/a&amp;b&lt;c&gt;</listen>');
  });

  it('rejects relative paths, address metacharacters and bad uids', () => {
    expect(() => generateConfig({ socketPath: 'bus' })).toThrow(/absolute/);
    expect(() => generateConfig({ socketPath: '/a,b' })).toThrow(/must not contain/);
    expect(() => generateConfig({ socketPath: '/a=b' })).toThrow(/must not contain/);
    expect(() => generateConfig({ socketPath: '/a b' })).toThrow(/must not contain/);
    expect(() => generateConfig({ socketPath: '/b', allowUids: [-1] })).toThrow(RangeError);
    expect(() => generateConfig({ socketPath: '/b', allowUids: [1.5] })).toThrow(RangeError);
  });
});
