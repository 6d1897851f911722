// Generated domains: random device sets, formatting (tabs, spaces, one line, CRLF), comments and
// quoting. For each: the output parses, a second pass changes nothing, and — where the rewrite
// only inserts — the input is a subsequence of the output (nothing of it was altered).
import { describe, expect, it } from 'vitest';
import { mutateDomainWithReport } from '../src/domain/index.js';
import { BUS_PATH, devices, parseXml } from './helpers.js';

/** Deterministic PRNG (mulberry32), so a failure names a reproducible seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEVICE_SNIPPETS = [
  (q: string) => `<disk type=${q}file${q} device=${q}disk${q}><source file=${q}/d.img${q}/><target dev=${q}vda${q} bus=${q}virtio${q}/></disk>`,
  (q: string) => `<interface type=${q}ethernet${q}><model type=${q}virtio${q}></model></interface>`,
  (q: string) => `<controller type=${q}virtio-serial${q} index=${q}0${q}></controller>`,
  (q: string) => `<controller type=${q}usb${q} index=${q}0${q} model=${q}qemu-xhci${q}/>`,
  (q: string) => `<channel type=${q}unix${q}><target type=${q}virtio${q} name=${q}org.qemu.guest_agent.0${q}/></channel>`,
  (q: string) => `<video><model type=${q}vga${q} heads=${q}1${q} vram=${q}16384${q}/></video>`,
  (q: string) => `<graphics type=${q}vnc${q}><listen type=${q}socket${q} socket=${q}/run/vnc${q}/></graphics>`,
  (q: string) => `<input type=${q}tablet${q} bus=${q}virtio${q}/>`,
  (q: string) => `<input type=${q}keyboard${q} bus=${q}usb${q}/>`,
  (q: string) => `<sound model=${q}ich9${q}/>`,
  (q: string) => `<audio id=${q}1${q} type=${q}none${q}/>`,
  (q: string) => `<audio id=${q}3${q} type=${q}spice${q}/>`,
  (q: string) => `<serial type=${q}pty${q}><target port=${q}0${q}/></serial>`,
  (q: string) => `<console type=${q}pty${q}><target type=${q}serial${q} port=${q}0${q}/></console>`,
  (q: string) => `<memballoon model=${q}virtio${q}><stats period=${q}10${q}/></memballoon>`,
  (q: string) => `<rng model=${q}virtio${q}><backend model=${q}random${q}>/dev/urandom</backend></rng>`,
  () => '<!-- a comment with <graphics type="dbus"/> and </devices> in it -->',
];

function generate(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const q = pick(['"', "'"]);
  const style = pick(['tab', 'space2', 'space4', 'compact']);
  const nl = style === 'compact' ? '' : pick(['\n', '\r\n']);
  const unit = style === 'tab' ? '\t' : style === 'space2' ? '  ' : style === 'space4' ? '    ' : '';
  const line = (depth: number, text: string) => `${nl}${unit.repeat(depth)}${text}`;
  const count = Math.floor(random() * 8);
  const deviceLines = Array.from({ length: count }, () => line(2, pick(DEVICE_SNIPPETS)(q))).join('');
  const devicesPart = pick(['full', 'full', 'full', 'empty', 'self-closing', 'none']);
  const devicesXml =
    devicesPart === 'none'
      ? ''
      : devicesPart === 'self-closing'
        ? line(1, '<devices/>')
        : devicesPart === 'empty'
          ? line(1, '<devices>') + line(1, '</devices>')
          : line(1, '<devices>') + deviceLines + line(1, '</devices>');
  return (
    `<domain type=${q}kvm${q} xmlns:qemu=${q}http://libvirt.org/schemas/domain/qemu/1.0${q}>` +
    line(1, `<name>gen_${Math.floor(random() * 1e6)}</name>`) +
    devicesXml +
    line(1, `<qemu:commandline><qemu:arg value=${q}-set${q}/></qemu:commandline>`) +
    `${nl}</domain>${nl}`
  );
}

function isSubsequence(needle: string, haystack: string): boolean {
  let i = 0;
  for (let j = 0; j < haystack.length && i < needle.length; j++) if (haystack[j] === needle[i]) i++;
  return i === needle.length;
}

describe('mutateDomain on generated domains', () => {
  it('parses, is idempotent, and only inserts', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const input = generate(random);
      const opts = {
        busPath: BUS_PATH,
        audio: random() < 0.8,
        clipboard: random() < 0.8,
        tablet: random() < 0.8,
        keepKubevirtVnc: random() < 0.7,
      };
      const context = `seed ${seed}: ${JSON.stringify(input)} with ${JSON.stringify(opts)}`;
      const once = mutateDomainWithReport(input, opts);
      expect(() => parseXml(once.xml), context).not.toThrow();
      expect(mutateDomainWithReport(once.xml, opts).xml, context).toBe(once.xml);
      const graphics = devices(once.xml).filter((d) => d.localName === 'graphics' && d.getAttribute('type') === 'dbus');
      expect(graphics, context).toHaveLength(1);
      if (opts.keepKubevirtVnc) expect(isSubsequence(input, once.xml), context).toBe(true);
      // Line ends are the document's own.
      if (input.includes('\r\n')) expect(once.xml.replace(/\r\n/g, ''), context).not.toContain('\n');
    }
  });
});
