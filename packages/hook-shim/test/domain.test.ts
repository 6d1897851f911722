import { describe, expect, it } from 'vitest';
import { DomainXmlError, escapeDbusAddressValue, mutateDomain, mutateDomainWithReport, type DomainMutationOptions } from '../src/domain/index.js';
import { BUS_ADDRESS, BUS_PATH, children, devices, fixture, lineDiff, parseXml } from './helpers.js';

const OPTS: DomainMutationOptions = { busPath: BUS_PATH };
const KUBEVIRT = fixture('kubevirt-domain.xml');
const COMPACT = fixture('kubevirt-domain-compact.xml');

const ALL_OPTION_SETS: DomainMutationOptions[] = [];
for (const audio of [true, false]) {
  for (const clipboard of [true, false]) {
    for (const tablet of [true, false]) {
      for (const keepKubevirtVnc of [true, false]) ALL_OPTION_SETS.push({ busPath: BUS_PATH, audio, clipboard, tablet, keepKubevirtVnc });
    }
  }
}

function byType(xml: string, name: string, type: string) {
  return devices(xml).filter((d) => d.localName === name && d.getAttribute('type') === type);
}

describe('mutateDomain on a KubeVirt domain', () => {
  const out = mutateDomain(KUBEVIRT, OPTS);

  it('adds the D-Bus display with GL off and an audio backend', () => {
    const [graphics] = byType(out, 'graphics', 'dbus');
    expect(graphics.getAttribute('address')).toBe(BUS_ADDRESS);
    const [gl] = children(graphics, 'gl');
    expect(gl.getAttribute('enable')).toBe('no');
    const [audioRef] = children(graphics, 'audio');
    const id = audioRef.getAttribute('id');
    expect(id).toBe('1');
    const audios = byType(out, 'audio', 'dbus');
    expect(audios).toHaveLength(1);
    expect(audios[0].getAttribute('id')).toBe(id);
  });

  it("keeps KubeVirt's VNC display", () => {
    const [vnc] = byType(out, 'graphics', 'vnc');
    expect(children(vnc, 'listen')[0].getAttribute('socket')).toMatch(/\/virt-vnc$/);
  });

  it('adds a USB tablet and turns the disabled USB controller on', () => {
    expect(byType(out, 'input', 'tablet').map((i) => i.getAttribute('bus'))).toEqual(['usb']);
    expect(byType(out, 'controller', 'usb').map((c) => c.getAttribute('model'))).toEqual(['qemu-xhci']);
  });

  it('adds a qemu-vdagent channel with clipboard sharing', () => {
    const [channel] = byType(out, 'channel', 'qemu-vdagent');
    const [source] = children(channel, 'source');
    expect(children(source, 'clipboard')[0].getAttribute('copypaste')).toBe('yes');
    const [target] = children(channel, 'target');
    expect([target.getAttribute('type'), target.getAttribute('name')]).toEqual(['virtio', 'com.redhat.spice.0']);
  });

  it('changes nothing else: the input lines survive in order, with exactly these lines added', () => {
    const diff = lineDiff(KUBEVIRT, out);
    expect(diff.removed).toEqual(['\t\t<controller type="usb" index="0" model="none"></controller>']);
    expect(diff.added).toEqual([
      '\t\t<channel type="qemu-vdagent">',
      '\t\t\t<source>',
      '\t\t\t\t<clipboard copypaste="yes"/>',
      '\t\t\t</source>',
      '\t\t\t<target type="virtio" name="com.redhat.spice.0"/>',
      '\t\t</channel>',
      '\t\t<controller type="usb" index="0" model="qemu-xhci"></controller>',
      '\t\t<input type="tablet" bus="usb"/>',
      '\t\t<audio id="1" type="dbus"/>',
      `\t\t<graphics type="dbus" address="${BUS_ADDRESS}">`,
      '\t\t\t<gl enable="no"/>',
      '\t\t\t<audio id="1"/>',
      '\t\t</graphics>',
    ]);
  });

  it('keeps the qemu namespace declaration and <qemu:commandline> as written', () => {
    expect(out.startsWith('<domain type="kvm" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">\n')).toBe(true);
    const block = (xml: string) => xml.slice(xml.indexOf('\t<qemu:commandline>'), xml.indexOf('</qemu:commandline>'));
    expect(block(out)).toBe(block(KUBEVIRT));
    expect(out).toContain('value="&quot;kept&quot; &amp; &lt;untouched&gt;"');
  });

  it('reports each change', () => {
    const { changes, warnings } = mutateDomainWithReport(KUBEVIRT, OPTS);
    expect(warnings).toEqual([]);
    expect(changes).toHaveLength(5);
    expect(changes.join('\n')).toMatch(/graphics type='dbus'/);
  });

  it.each(ALL_OPTION_SETS.map((o) => [JSON.stringify({ ...o, busPath: undefined }), o] as const))('is idempotent with %s', (_name, opts) => {
    for (const input of [KUBEVIRT, COMPACT]) {
      const once = mutateDomain(input, opts);
      const twice = mutateDomainWithReport(once, opts);
      expect(twice.xml).toBe(once);
      expect(twice.changes).toEqual([]);
    }
  });
});

describe('mutateDomain options', () => {
  it('removes the VNC display when asked, with its indentation', () => {
    const out = mutateDomain(KUBEVIRT, { ...OPTS, keepKubevirtVnc: false });
    expect(byType(out, 'graphics', 'vnc')).toEqual([]);
    expect(byType(out, 'graphics', 'dbus')).toHaveLength(1);
    expect(out).not.toContain('virt-vnc');
    expect(lineDiff(KUBEVIRT, out).removed).toContain('\t\t<graphics type="vnc">');
    // Without a graphics element to follow, the D-Bus display goes where libvirt writes it: before <video>.
    expect(out).toMatch(/<graphics type="dbus"[^]*<\/graphics>\n\t\t<audio id="1" type="dbus"\/>\n\t\t<video>/);
  });

  it('removes the VNC display right after another graphics element that the D-Bus display follows', () => {
    const input = KUBEVIRT.replace('\t\t<graphics type="vnc">', '\t\t<graphics type="spice" autoport="yes"></graphics>\n\t\t<graphics type="vnc">');
    const out = mutateDomain(input, { ...OPTS, keepKubevirtVnc: false });
    expect(out).toContain(
      `<graphics type="spice" autoport="yes"></graphics>\n\t\t<graphics type="dbus" address="${BUS_ADDRESS}">\n\t\t\t<gl enable="no"/>\n\t\t\t<audio id="1"/>\n\t\t</graphics>\n\t\t<memballoon`,
    );
    // Exactly the VNC element and the USB controller's old line went (the diff may pair the
    // VNC element's "</graphics>" with the D-Bus display's).
    expect(out).not.toContain('virt-vnc');
    expect(lineDiff(input, out).removed.slice(0, 3)).toEqual([
      '\t\t<controller type="usb" index="0" model="none"></controller>',
      '\t\t<graphics type="vnc">',
      '\t\t\t<listen type="socket" socket="/var/run/kubevirt-private/5d307ca9-b3ef-428c-8861-06e72d69f223/virt-vnc"></listen>',
    ]);
    expect(mutateDomain(out, { ...OPTS, keepKubevirtVnc: false })).toBe(out);
  });

  it('adds no audio when audio is off', () => {
    const out = mutateDomain(KUBEVIRT, { ...OPTS, audio: false });
    expect(devices(out).filter((d) => d.localName === 'audio')).toEqual([]);
    const [graphics] = byType(out, 'graphics', 'dbus');
    expect(children(graphics).map((c) => c.localName)).toEqual(['gl']);
  });

  it('adds no channel when the clipboard is off', () => {
    const out = mutateDomain(KUBEVIRT, { ...OPTS, clipboard: false });
    expect(byType(out, 'channel', 'qemu-vdagent')).toEqual([]);
  });

  it('adds no tablet, and leaves USB off, when the tablet is off', () => {
    const out = mutateDomain(KUBEVIRT, { ...OPTS, tablet: false });
    expect(devices(out).filter((d) => d.localName === 'input')).toEqual([]);
    expect(byType(out, 'controller', 'usb')[0].getAttribute('model')).toBe('none');
  });
});

describe('mutateDomain on other shapes', () => {
  it('adds no tablet when the domain has an absolute pointer, and the next free audio id', () => {
    const { xml, changes, warnings } = mutateDomainWithReport(COMPACT, OPTS);
    expect(warnings).toEqual([
      "the domain's sound device uses its first audio backend (<audio id='1' type='none'>), not the D-Bus one (id 2): guest sound will not reach the sidecar",
    ]);
    expect(devices(xml).filter((d) => d.localName === 'input')).toHaveLength(1);
    expect(changes.join('\n')).not.toMatch(/tablet|controller/);
    // The compact document gets compact insertions.
    expect(xml).toContain(`<graphics type="dbus" address="${BUS_ADDRESS}"><gl enable="no"/><audio id="2"/></graphics>`);
    expect(xml).toContain('<audio id="1" type="none"></audio><audio id="2" type="dbus"/>');
    expect(xml.includes('\n')).toBe(false);
    // Everything else is a substring-for-substring copy of the input.
    const stripped = xml
      .replace(/<graphics type="dbus"[^]*?<\/graphics>/, '')
      .replace('<audio id="2" type="dbus"/>', '')
      .replace(/<channel type="qemu-vdagent">[^]*?<\/channel>/, '');
    expect(stripped).toBe(COMPACT);
  });

  it('reuses an existing D-Bus audio backend', () => {
    const input = COMPACT.replace('<audio id="1" type="none"></audio>', '<audio id="7" type="dbus"></audio>');
    const out = mutateDomain(input, OPTS);
    expect(out).toContain('<audio id="7"/></graphics>');
    expect(devices(out).filter((d) => d.localName === 'audio')).toHaveLength(1);
  });

  it('skips the highest audio ids, whatever their order', () => {
    const input = COMPACT.replace('<audio id="1" type="none"></audio>', '<audio id="3" type="none"/><audio id="1" type="none"/>');
    expect(mutateDomain(input, OPTS)).toContain('<audio id="4" type="dbus"/>');
  });

  it('leaves an existing D-Bus display on another bus alone, with a warning', () => {
    const input = KUBEVIRT.replace('\t\t<memballoon', '\t\t<graphics type="dbus" address="unix:path=/elsewhere"></graphics>\n\t\t<memballoon');
    const { xml, warnings } = mutateDomainWithReport(input, OPTS);
    expect(byType(xml, 'graphics', 'dbus').map((g) => g.getAttribute('address'))).toEqual(['unix:path=/elsewhere']);
    expect(devices(xml).filter((d) => d.localName === 'audio')).toEqual([]);
    expect(warnings.join('\n')).toMatch(/already has a D-Bus display \(address unix:path=\/elsewhere\)/);
  });

  it('adds no clipboard channel when another channel has its port, with a warning', () => {
    const input = KUBEVIRT.replace(
      '\t\t<controller type="usb"',
      '\t\t<channel type="spicevmc">\n\t\t\t<target type="virtio" name="com.redhat.spice.0"></target>\n\t\t</channel>\n\t\t<controller type="usb"',
    );
    const { xml, warnings } = mutateDomainWithReport(input, OPTS);
    expect(byType(xml, 'channel', 'qemu-vdagent')).toEqual([]);
    expect(warnings.join('\n')).toMatch(/spicevmc.*com\.redhat\.spice\.0/);
  });

  it('ignores markup inside comments and CDATA', () => {
    const input = KUBEVIRT.replace(
      '\t\t<rng ',
      '\t\t<!-- <graphics type="dbus"/> </devices> -->\n\t\t<rng ',
    ).replace('<qemu:arg value="-set"></qemu:arg>', '<qemu:arg value="-set"></qemu:arg><![CDATA[</devices><x>]]>');
    const out = mutateDomain(input, OPTS);
    expect(byType(out, 'graphics', 'dbus')).toHaveLength(1);
    expect(lineDiff(input, out).added).toHaveLength(13);
    expect(mutateDomain(out, OPTS)).toBe(out);
  });

  it('keeps quoting, spacing and entities of untouched elements byte for byte', () => {
    const input =
      "<?xml version='1.0' encoding='UTF-8'?>\n<!-- made by hand -->\n<domain type='qemu'>\n  <name>a&amp;b</name>\n  <devices>\n    <disk  type = 'file' device=\"disk\" >\n      <source file='/x y/&apos;z&apos;.img'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n";
    const out = mutateDomain(input, OPTS);
    const diff = lineDiff(input, out);
    expect(diff.removed).toEqual([]);
    expect(diff.added[0]).toBe("    <channel type=\"qemu-vdagent\">");
    expect(diff.added).toContain('      <gl enable="no"/>');
  });

  it('keeps CRLF line ends', () => {
    const input = KUBEVIRT.replace(/\n/g, '\r\n');
    const out = mutateDomain(input, OPTS);
    expect(out.replace(/\r\n/g, '')).not.toContain('\n');
    expect(out).toContain('\r\n\t\t<graphics type="dbus"');
    expect(mutateDomain(out, OPTS)).toBe(out);
  });

  it('fills an empty or self-closing <devices>, and creates a missing one', () => {
    for (const input of [
      '<domain type="kvm">\n\t<name>x</name>\n\t<devices></devices>\n</domain>',
      '<domain type="kvm">\n\t<name>x</name>\n\t<devices>\n\t</devices>\n</domain>',
      '<domain type="kvm">\n\t<name>x</name>\n\t<devices/>\n</domain>',
      '<domain type="kvm">\n\t<name>x</name>\n</domain>',
    ]) {
      const out = mutateDomain(input, OPTS);
      expect(out).toBe(
        [
          '<domain type="kvm">',
          '\t<name>x</name>',
          '\t<devices>',
          '\t\t<channel type="qemu-vdagent">',
          '\t\t\t<source>',
          '\t\t\t\t<clipboard copypaste="yes"/>',
          '\t\t\t</source>',
          '\t\t\t<target type="virtio" name="com.redhat.spice.0"/>',
          '\t\t</channel>',
          '\t\t<input type="tablet" bus="usb"/>',
          `\t\t<graphics type="dbus" address="${BUS_ADDRESS}">`,
          '\t\t\t<gl enable="no"/>',
          '\t\t\t<audio id="1"/>',
          '\t\t</graphics>',
          '\t\t<audio id="1" type="dbus"/>',
          '\t</devices>',
          '</domain>',
        ].join('\n'),
      );
      expect(mutateDomain(out, OPTS)).toBe(out);
    }
  });

  it('escapes the bus path as a D-Bus address value', () => {
    expect(escapeDbusAddressValue('/run/a b/ü=,;')).toBe('/run/a%20b/%c3%bc%3d%2c%3b');
    const out = mutateDomain(KUBEVIRT, { busPath: '/run/my bus/"x"' });
    expect(byType(out, 'graphics', 'dbus')[0].getAttribute('address')).toBe('unix:path=/run/my%20bus/%22x%22');
  });

  it('refuses a relative bus path', () => {
    expect(() => mutateDomain(KUBEVIRT, { busPath: 'run/bus' })).toThrow(RangeError);
  });
});

describe('mutateDomain errors', () => {
  const cases: [string, string, RegExp][] = [
    ['empty', '', /^malformed domain XML: .*root element/],
    ['not XML', 'this is not xml', /^malformed domain XML: /],
    ['mismatched tags', '<domain type="kvm">\n<devices>\n</domain>', /^malformed domain XML: .*mismatch.*\(line \d+, column \d+\)|^malformed domain XML: .*devices/],
    ['unclosed', '<domain type="kvm"><devices>', /^malformed domain XML: .*unclosed/],
    ['duplicate attribute', '<domain type="kvm" type="qemu"/>', /^malformed domain XML: .*redefined/],
    ['unknown entity', '<domain type="kvm"><name>&nbsp;</name></domain>', /^malformed domain XML: .*entity/],
    ['undeclared prefix', '<domain type="kvm"><qemu:commandline/></domain>', /^malformed domain XML: /],
  ];
  it.each(cases)('%s → DOMAIN_XML_MALFORMED', (_name, input, message) => {
    let caught: unknown;
    try {
      mutateDomain(input, OPTS);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainXmlError);
    const err = caught as DomainXmlError;
    expect(err.code).toBe('DOMAIN_XML_MALFORMED');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });

  it('another root element → DOMAIN_XML_NOT_A_DOMAIN', () => {
    expect(() => mutateDomain('<network><name>x</name></network>', OPTS)).toThrow(
      expect.objectContaining({ code: 'DOMAIN_XML_NOT_A_DOMAIN', message: 'not a libvirt domain: the root element is <network>, expected <domain>' }),
    );
  });

  it('the output parses as XML', () => {
    expect(() => parseXml(mutateDomain(KUBEVIRT, OPTS))).not.toThrow();
  });
});
