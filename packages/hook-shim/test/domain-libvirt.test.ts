// libvirt's own judgement of the rewritten domains: its RelaxNG schema (virt-xml-validate,
// from libvirt-clients + libxml2-utils) and its parser and validation (virsh's built-in test
// driver). Skipped only where the binaries are missing; CI installs them.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mutateDomain, type DomainMutationOptions } from '../src/domain/index.js';
import { BUS_PATH, fixture } from './helpers.js';

function have(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'hook-shim-libvirt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeTemp(xml: string): string {
  const file = join(dir, `domain-${counter++}.xml`);
  writeFileSync(file, xml);
  return file;
}

/** virt-xml-validate's complaints, without file names and line numbers (insertions move lines). */
function schemaErrors(xml: string): string[] {
  const file = writeTemp(xml);
  const result = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
  const lines = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .map((l) => l.split(file).join('FILE').replace(/^FILE:\d+:/, 'FILE:').trim())
    .filter((l) => l !== '' && l !== 'FILE validates');
  if (result.status === 0) expect(lines).toEqual([]);
  return lines.sort();
}

const KUBEVIRT = fixture('kubevirt-domain.xml');
// KubeVirt writes empty <bios>, <baseBoard> and <chassis>, which libvirt's schema rejects (and
// libvirt itself accepts); without them the fixture validates, so nothing can hide behind them.
const KUBEVIRT_CLEAN = KUBEVIRT.replace(/\t\t<(bios|baseBoard|chassis)><\/\1>\n/g, '');
const COMPACT = fixture('kubevirt-domain-compact.xml');

const OPTION_SETS: [string, DomainMutationOptions][] = [
  ['defaults', { busPath: BUS_PATH }],
  ['without VNC', { busPath: BUS_PATH, keepKubevirtVnc: false }],
  ['without audio, clipboard, tablet', { busPath: BUS_PATH, audio: false, clipboard: false, tablet: false }],
];

describe.skipIf(!have('virt-xml-validate'))('virt-xml-validate', () => {
  it('the KubeVirt fixture has the errors KubeVirt domains have, the clean variant none', () => {
    expect(schemaErrors(KUBEVIRT).join('\n')).toMatch(/sysinfo/);
    expect(schemaErrors(KUBEVIRT_CLEAN)).toEqual([]);
    expect(schemaErrors(COMPACT)).toEqual([]);
  });

  it.each(OPTION_SETS)('the rewrite adds no error (%s)', (_name, opts) => {
    expect(schemaErrors(mutateDomain(KUBEVIRT, opts))).toEqual(schemaErrors(KUBEVIRT));
    expect(schemaErrors(mutateDomain(KUBEVIRT_CLEAN, opts))).toEqual([]);
    expect(schemaErrors(mutateDomain(COMPACT, opts))).toEqual([]);
  });

  it('would notice a broken display element', () => {
    const broken = mutateDomain(KUBEVIRT_CLEAN, { busPath: BUS_PATH }).replace('<gl enable="no"/>', '<gl enable="maybe"/>');
    expect(schemaErrors(broken)).not.toEqual([]);
  });
});

describe.skipIf(!have('virsh'))("libvirt's parser (virsh, test driver)", () => {
  function define(xml: string): { ok: boolean; output: string } {
    const result = spawnSync('virsh', ['-c', 'test:///default', 'define', writeTemp(xml)], { encoding: 'utf8' });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
  }

  it.each(OPTION_SETS)('defines the rewritten domain (%s)', (_name, opts) => {
    for (const input of [KUBEVIRT, COMPACT]) {
      const result = define(mutateDomain(input, opts));
      expect(result.output).toMatch(/defined from/);
      expect(result.ok).toBe(true);
    }
  });

  it('refuses a USB tablet while KubeVirt has USB disabled — why the rewrite turns the controller on', () => {
    const tabletOnly = KUBEVIRT.replace('\t\t<video>', '\t\t<input type="tablet" bus="usb"/>\n\t\t<video>');
    expect(define(tabletOnly)).toMatchObject({ ok: false, output: expect.stringMatching(/USB/) });
  });
});
