import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, configFromAnnotations, type SidecarConfig } from '../src/config.js';
import { PlanError, formatPlan, serverPlan } from '../src/plan.js';

const BUS = 'unix:path=/var/run/kubevirt-hooks/vdi/bus';
const P = 'vdi-sidecar.io/';

function planOf(annotations: Record<string, string>): string[][] {
  return serverPlan(configFromAnnotations(annotations).config, { dbusAddress: BUS }).map((e) => [e.name, ...e.argv]);
}

describe('serverPlan', () => {
  it('runs VNC and RDP on loopback by default', () => {
    expect(serverPlan(DEFAULT_CONFIG, { dbusAddress: BUS })).toEqual([
      { name: 'qemu-vnc', argv: ['qemu-vnc', '--dbus-address', BUS, '--listen', '127.0.0.1:5900'] },
      { name: 'qemu-rdp', argv: ['qemu-rdp', '--dbus-address', BUS, '--listen', '127.0.0.1:3389'] },
    ]);
  });

  it('passes every server option of the annotations, with each CLI flag spelled as that CLI wants', () => {
    expect(
      planOf({
        [`${P}vnc-listen`]: '0.0.0.0',
        [`${P}vnc-port`]: '5901',
        [`${P}rdp-listen`]: '::',
        [`${P}rdp-port`]: '13389',
        [`${P}web`]: 'on',
        [`${P}web-listen`]: '::1',
        [`${P}web-port`]: '6081',
        [`${P}password-file`]: '/secrets/password',
        [`${P}tls-cert-file`]: '/secrets/tls.crt',
        [`${P}tls-key-file`]: '/secrets/tls.key',
        [`${P}insecure`]: 'on',
        [`${P}clipboard`]: 'off',
      }),
    ).toEqual([
      [
        'qemu-vnc', 'qemu-vnc', '--dbus-address', BUS, '--listen', '0.0.0.0:5901', '--http', '[::1]:6081',
        '--password-file', '/secrets/password', '--tls-cert', '/secrets/tls.crt', '--tls-key', '/secrets/tls.key', '--insecure',
      ],
      [
        'qemu-rdp', 'qemu-rdp', '--dbus-address', BUS, '--listen', '[::]:13389',
        '--password-file', '/secrets/password', '--cert', '/secrets/tls.crt', '--key', '/secrets/tls.key', '--no-clipboard', '--insecure',
      ],
    ]);
  });

  it('leaves out servers that are off; the web console alone still needs qemu-vnc, its RFB port kept on loopback', () => {
    expect(planOf({ [`${P}vnc`]: 'off', [`${P}rdp`]: 'off' })).toEqual([]);
    expect(planOf({ [`${P}vnc`]: 'off' }).map((e) => e[0])).toEqual(['qemu-rdp']);
    expect(planOf({ [`${P}vnc`]: 'off', [`${P}rdp`]: 'off', [`${P}web`]: 'on' })).toEqual([
      ['qemu-vnc', 'qemu-vnc', '--dbus-address', BUS, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:6080'],
    ]);
  });

  it('is pure: the same configuration gives the same plan, and the configuration is not changed', () => {
    const config: SidecarConfig = configFromAnnotations({ [`${P}web`]: 'on' }).config;
    const before = JSON.stringify(config);
    expect(serverPlan(config, { dbusAddress: BUS })).toEqual(serverPlan(config, { dbusAddress: BUS }));
    expect(JSON.stringify(config)).toBe(before);
  });
});

describe('formatPlan', () => {
  it('writes one line per server: name and arguments separated by tabs', () => {
    const text = formatPlan(serverPlan(DEFAULT_CONFIG, { dbusAddress: BUS }));
    expect(text).toBe(
      `qemu-vnc\tqemu-vnc\t--dbus-address\t${BUS}\t--listen\t127.0.0.1:5900\n` +
        `qemu-rdp\tqemu-rdp\t--dbus-address\t${BUS}\t--listen\t127.0.0.1:3389\n`,
    );
    expect(formatPlan([])).toBe('');
  });

  it('refuses fields a line cannot carry: tab, line break, NUL, empty, no command', () => {
    for (const bad of ['/a\tb', '/a\nb', '/a\rb', '/a\0b', '']) {
      expect(() => formatPlan([{ name: 'qemu-vnc', argv: ['qemu-vnc', '--password-file', bad] }])).toThrow(PlanError);
    }
    expect(() => formatPlan([{ name: 'qemu-vnc', argv: [] }])).toThrow(PlanError);
    // An annotation can hold such a path (only NUL is refused there); the plan refuses it.
    const config = configFromAnnotations({ [`${P}password-file`]: '/odd\tname' }).config;
    expect(() => formatPlan(serverPlan(config, { dbusAddress: BUS }))).toThrow(/cannot go on a plan line/);
  });
});
