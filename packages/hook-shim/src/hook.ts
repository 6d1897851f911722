// What the hook does when virt-launcher defines the domain, apart from any transport: shared
// by the gRPC server and the stock sidecar-shim's script mode (`hook-shim onDefineDomain`).
import { configFromVmi, ConfigError, type SidecarConfig } from './config.js';
import { DomainXmlError, mutateDomainWithReport } from './domain/index.js';
import { parseVmi, VmiError, type VmiSummary } from './vmi.js';

export interface DefineDomainOutcome {
  /** The domain XML to hand back to virt-launcher. */
  readonly domainXml: string;
  readonly config: SidecarConfig;
  readonly vmi: VmiSummary;
  /** What the rewrite changed, one line each. */
  readonly changes: readonly string[];
  /** Configuration, network and domain warnings, one line each. */
  readonly warnings: readonly string[];
}

/** Input the hook refuses: malformed domain XML, an unusable VMI, a bad annotation. */
export type HookInputError = DomainXmlError | VmiError | ConfigError;

export function isHookInputError(err: unknown): err is HookInputError {
  return err instanceof DomainXmlError || err instanceof VmiError || err instanceof ConfigError;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes bytes from the wire; a domain that is not UTF-8 is malformed. */
export function decodeDomainXml(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new DomainXmlError('DOMAIN_XML_MALFORMED', 'malformed domain XML: not UTF-8');
  }
}

export function decodeVmiJson(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new VmiError('the VMI JSON is not UTF-8');
  }
}

/**
 * OnDefineDomain: reads the configuration from the VMI's annotations and rewrites the domain
 * so QEMU's display, audio and clipboard are on the D-Bus socket at `busPath` (as the compute
 * container sees it).
 * @throws HookInputError for input the hook cannot use.
 */
export function onDefineDomain(domainXml: string, vmiJson: string, busPath: string): DefineDomainOutcome {
  const vmi = parseVmi(vmiJson);
  const { config, warnings } = configFromVmi(vmi);
  const mutation = mutateDomainWithReport(domainXml, {
    busPath,
    audio: config.audio,
    clipboard: config.clipboard,
    tablet: config.tablet,
    keepKubevirtVnc: config.keepKubevirtVnc,
  });
  return {
    domainXml: mutation.xml,
    config,
    vmi,
    changes: mutation.changes,
    warnings: [...warnings, ...mutation.warnings],
  };
}
