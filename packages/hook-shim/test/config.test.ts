import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, ConfigError, DEFAULT_CONFIG, configFromAnnotations, configFromVmi, podNetworkWarnings } from '../src/config.js';
import { VmiError, parseVmi, type VmiSummary } from '../src/vmi.js';
import { fixture } from './helpers.js';

const P = 'vdi-sidecar.io/';

function configError(annotations: Record<string, string>): ConfigError {
  try {
    configFromAnnotations(annotations);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(annotations)}`);
}

describe('configFromAnnotations', () => {
  it('gives safe defaults without annotations: VNC and RDP on loopback, web off', () => {
    const cases: (Record<string, string> | undefined)[] = [undefined, {}, { 'kubevirt.io/latest-observed-api-version': 'v1' }];
    for (const annotations of cases) {
      const { config, warnings } = configFromAnnotations(annotations);
      expect(config).toEqual(DEFAULT_CONFIG);
      expect(warnings).toEqual([]);
    }
    expect(DEFAULT_CONFIG.vnc).toEqual({ enabled: true, listen: '127.0.0.1', port: 5900 });
    expect(DEFAULT_CONFIG.rdp).toEqual({ enabled: true, listen: '127.0.0.1', port: 3389 });
    expect(DEFAULT_CONFIG.web.enabled).toBe(false);
    expect([DEFAULT_CONFIG.clipboard, DEFAULT_CONFIG.audio, DEFAULT_CONFIG.tablet, DEFAULT_CONFIG.keepKubevirtVnc]).toEqual([true, true, true, true]);
  });

  it('reads every annotation', () => {
    const { config, warnings } = configFromAnnotations({
      [`${P}vnc`]: 'off',
      [`${P}rdp-listen`]: '0.0.0.0',
      [`${P}rdp-port`]: '13389',
      [`${P}web`]: 'true',
      [`${P}web-listen`]: '[::1]',
      [`${P}web-port`]: ' 8080 ',
      [`${P}vnc-listen`]: '10.0.0.1',
      [`${P}vnc-port`]: '5901',
      [`${P}password-file`]: '/etc/vdi/password',
      [`${P}tls-cert-file`]: '/etc/vdi/tls.crt',
      [`${P}tls-key-file`]: '/etc/vdi/tls.key',
      [`${P}insecure`]: 'False',
      [`${P}clipboard`]: 'OFF',
      [`${P}audio`]: 'false',
      [`${P}tablet`]: 'off',
      [`${P}keep-kubevirt-vnc`]: 'off',
    });
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      vnc: { enabled: false, listen: '10.0.0.1', port: 5901 },
      rdp: { enabled: true, listen: '0.0.0.0', port: 13389 },
      web: { enabled: true, listen: '::1', port: 8080 },
      passwordFile: '/etc/vdi/password',
      tlsCertFile: '/etc/vdi/tls.crt',
      tlsKeyFile: '/etc/vdi/tls.key',
      insecure: false,
      clipboard: false,
      audio: false,
      tablet: false,
      keepKubevirtVnc: false,
    });
  });

  it('documents every annotation in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const { key } of ANNOTATIONS) expect(readme).toContain(`\`${P}${key}\``);
  });

  const invalid: [string, string, RegExp][] = [
    ['clipboard', 'yes please', /annotation vdi-sidecar\.io\/clipboard: "yes please" is not a switch; it accepts "on" or "off"/],
    ['vnc', '1', /vdi-sidecar\.io\/vnc: "1" is not a switch/],
    ['vnc-port', '0', /vdi-sidecar\.io\/vnc-port: "0" is not a port; it accepts a port number from 1 to 65535/],
    ['rdp-port', '65536', /vdi-sidecar\.io\/rdp-port: "65536" is not a port/],
    ['web-port', '80a', /vdi-sidecar\.io\/web-port: "80a" is not a port/],
    ['vnc-port', '', /vdi-sidecar\.io\/vnc-port: "" is not a port/],
    ['vnc-listen', 'localhost', /vdi-sidecar\.io\/vnc-listen: "localhost" is not an IP address; it accepts an IPv4 or IPv6 address/],
    ['rdp-listen', '127.0.0.1:3389', /vdi-sidecar\.io\/rdp-listen: "127\.0\.0\.1:3389" is not an IP address/],
    ['password-file', 'secret.txt', /vdi-sidecar\.io\/password-file: "secret\.txt" is not an absolute path/],
  ];
  it.each(invalid)('refuses %s=%j, naming the annotation and what it accepts', (key, value, message) => {
    const err = configError({ [`${P}${key}`]: value });
    expect(err.annotation).toBe(`${P}${key}`);
    expect(err.code).toBe('ANNOTATION_INVALID');
    expect(err.message).toMatch(message);
  });

  it('refuses a certificate without its key', () => {
    const err = configError({ [`${P}tls-cert-file`]: '/tls.crt' });
    expect(err.annotation).toBe(`${P}tls-key-file`);
    expect(err.message).toMatch(/tls-key-file is missing: .*tls-cert-file is set/);
  });

  it('refuses listening beyond loopback without a password, unless insecure', () => {
    const err = configError({ [`${P}vnc-listen`]: '0.0.0.0' });
    expect(err.annotation).toBe(`${P}vnc-listen`);
    expect(err.message).toMatch(/0\.0\.0\.0 is beyond loopback.*password-file.*insecure: "on"/);
    expect(configFromAnnotations({ [`${P}vnc-listen`]: '0.0.0.0', [`${P}insecure`]: 'on' }).config.vnc.listen).toBe('0.0.0.0');
    expect(configFromAnnotations({ [`${P}rdp-listen`]: '::', [`${P}password-file`]: '/p' }).config.rdp.listen).toBe('::');
    // A server that is off may say anything about its address.
    expect(configFromAnnotations({ [`${P}web-listen`]: '0.0.0.0' }).config.web.listen).toBe('0.0.0.0');
    expect(configFromAnnotations({ [`${P}vnc-listen`]: '127.0.0.2' }).config.vnc.listen).toBe('127.0.0.2');
  });

  it('refuses two servers on one port', () => {
    const err = configError({ [`${P}vnc-port`]: '3389' });
    expect(err.annotation).toBe(`${P}rdp-port`);
    expect(err.message).toMatch(/port 3389 is also the VNC server's \(vdi-sidecar\.io\/vnc-port\)/);
    expect(configError({ [`${P}web`]: 'on', [`${P}web-port`]: '5900' }).annotation).toBe(`${P}web-port`);
    expect(
      configError({ [`${P}web`]: 'on', [`${P}web-port`]: '5900', [`${P}web-listen`]: '0.0.0.0', [`${P}insecure`]: 'on' }).annotation,
    ).toBe(`${P}web-port`);
    // Off, or on distinct addresses: no clash.
    expect(() => configFromAnnotations({ [`${P}vnc-port`]: '3389', [`${P}rdp`]: 'off' })).not.toThrow();
    expect(() => configFromAnnotations({ [`${P}vnc-port`]: '3389', [`${P}vnc-listen`]: '127.0.0.2' })).not.toThrow();
  });

  it('warns about unknown vdi-sidecar.io annotations and ignores others', () => {
    const { warnings } = configFromAnnotations({ [`${P}clipbaord`]: 'off', 'example.com/clipboard': 'x' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^unknown annotation vdi-sidecar\.io\/clipbaord ignored \(known: vnc, vnc-listen/);
  });

  it('warns when every server is off', () => {
    expect(configFromAnnotations({ [`${P}vnc`]: 'off', [`${P}rdp`]: 'off' }).warnings).toEqual([
      'every server is off (vnc, rdp and web): nothing will serve the display',
    ]);
  });
});

function vmi(spec: object, annotations: Record<string, string> = {}): VmiSummary {
  return parseVmi(JSON.stringify({ metadata: { name: 'v', namespace: 'ns', annotations }, spec }));
}

const POD_NETWORK = [{ name: 'default', pod: {} }];

describe('podNetworkWarnings', () => {
  it('warns when a masquerade pod interface lists no ports, naming the fix', () => {
    const v = vmi({ domain: { devices: { interfaces: [{ name: 'default', masquerade: {} }] } }, networks: POD_NETWORK });
    const warnings = podNetworkWarnings(v, DEFAULT_CONFIG);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/interface "default" binds the pod network with masquerade and lists no ports/);
    expect(warnings[0]).toMatch(/VNC on 5900, RDP on 3389\) are unreachable/);
    expect(warnings[0]).toMatch(/Fix: list the ports the guest serves in spec\.domain\.devices\.interfaces \(name: default\)\.ports/);
  });

  it('is quiet when the interface lists ports, or binds otherwise', () => {
    const withPorts = vmi({
      domain: { devices: { interfaces: [{ name: 'default', masquerade: {}, ports: [{ name: 'ssh', port: 22 }, { port: 5900, protocol: 'UDP' }] }] } },
      networks: POD_NETWORK,
    });
    expect(podNetworkWarnings(withPorts, DEFAULT_CONFIG)).toEqual([]);
    const bridge = vmi({ domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } }, networks: POD_NETWORK });
    expect(podNetworkWarnings(bridge, DEFAULT_CONFIG)).toEqual([]);
    const multus = vmi({
      domain: { devices: { interfaces: [{ name: 'blue', masquerade: {} }] } },
      networks: [{ name: 'blue', multus: { networkName: 'blue-net' } }],
    });
    expect(podNetworkWarnings(multus, DEFAULT_CONFIG)).toEqual([]);
  });

  it('warns when a listed port is one of the servers', () => {
    const v = vmi({
      domain: { devices: { interfaces: [{ name: 'default', masquerade: {}, ports: [{ port: 22 }, { port: 3389 }] }] } },
      networks: POD_NETWORK,
    });
    const warnings = podNetworkWarnings(v, DEFAULT_CONFIG);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/lists port 3389, so KubeVirt forwards it to the guest: the sidecar's RDP server .* vdi-sidecar\.io\/rdp-port$/);
  });

  it('configFromVmi combines annotation and network warnings', () => {
    const v = vmi({ domain: { devices: { interfaces: [{ name: 'default', masquerade: {} }] } }, networks: POD_NETWORK }, { [`${P}rdp`]: 'off' });
    const { config, warnings } = configFromVmi(v);
    expect(config.rdp.enabled).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/servers \(VNC on 5900\)/);
  });
});

describe('parseVmi', () => {
  it('reads a KubeVirt VMI', () => {
    const v = parseVmi(fixture('vmi.json'));
    expect(v.name).toBe('vmi-fedora');
    expect(v.namespace).toBe('default');
    expect(v.annotations[`${P}web`]).toBe('on');
    expect(v.interfaces).toEqual([{ name: 'default', masquerade: true, ports: [] }]);
    expect(v.podNetworks).toEqual(['default']);
  });

  it.each([
    ['', /the VMI JSON is empty/],
    ['{', /the VMI is not valid JSON/],
    ['[]', /the VMI JSON is not an object/],
    ['{"metadata":{"annotations":{"a":1}}}', /metadata\.annotations\["a"\] is not a string/],
    ['{"spec":{"domain":{"devices":{"interfaces":{}}}}}', /spec\.domain\.devices\.interfaces is not an array/],
    ['{"spec":{"domain":{"devices":{"interfaces":[{"name":"d","ports":[{"port":"22"}]}]}}}}', /interfaces\[0\]\.ports\[0\] has no numeric port/],
  ])('refuses %j', (json, message) => {
    expect(() => parseVmi(json)).toThrow(VmiError);
    expect(() => parseVmi(json)).toThrow(message);
  });

  it('takes a VMI without metadata or spec', () => {
    expect(parseVmi('{}')).toEqual({ name: '', namespace: '', annotations: {}, interfaces: [], podNetworks: [] });
  });
});
