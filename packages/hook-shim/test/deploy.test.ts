// The manifests in deploy/ (KubeVirt CR patches, the example VM, its password ConfigMap and
// Services): every file parses as YAML and validates against the Kubernetes and KubeVirt API
// schemas; the example VM's vdi-sidecar.io/ annotations pass the hook's own parser on the VMI
// KubeVirt would make from it; and the files agree with each other (password path, ports, labels).
//
// The schemas are generated from the API types of @kubevirt-ui-ext/kubevirt-api (TypeScript made
// from KubeVirt's and Kubernetes' OpenAPI documents) with ts-json-schema-generator, with
// additionalProperties false: a misspelt field is an error, as it is for `kubectl apply` with
// server-side field validation.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromVmi, type SidecarConfig } from '../src/config.js';
import { parseVmi } from '../src/vmi.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const SIDECAR_IMAGE_PLACEHOLDER = 'ghcr.io/vdi-sidecar/vdi-sidecar:latest';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: Json | undefined, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what} is not an object`);
  return v;
}
function arr(v: Json | undefined, what: string): Json[] {
  if (!Array.isArray(v)) throw new Error(`${what} is not a list`);
  return v;
}
function str(v: Json | undefined, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}
const clone = <T extends Json>(v: T): T => structuredClone(v);
/** The object at a dotted path, e.g. at(vm, 'spec.template.metadata'). */
function at(root: Json, path: string): Obj {
  let v: Json | undefined = root;
  for (const key of path.split('.')) v = obj(v, path)[key];
  return obj(v, path);
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** apiVersion + kind → the generated API type that describes it. */
const KINDS: Record<string, { module: 'kubevirt' | 'kubernetes'; type: string }> = {
  'kubevirt.io/v1 VirtualMachine': { module: 'kubevirt', type: 'V1VirtualMachine' },
  'kubevirt.io/v1 VirtualMachineInstance': { module: 'kubevirt', type: 'V1VirtualMachineInstance' },
  'kubevirt.io/v1 KubeVirt': { module: 'kubevirt', type: 'V1KubeVirt' },
  'v1 Service': { module: 'kubernetes', type: 'IoK8sApiCoreV1Service' },
  'v1 ConfigMap': { module: 'kubernetes', type: 'IoK8sApiCoreV1ConfigMap' },
};

/**
 * Fields that are IntOrString in the OpenAPI documents, which the generated types flatten to
 * string: definition → property. Each must exist (checked), so a renamed type cannot silently
 * drop the fix.
 */
const INT_OR_STRING: Record<string, string[]> = { IoK8sApiCoreV1ServicePort: ['targetPort'] };

interface SchemaObject {
  properties?: Record<string, unknown>;
  required?: string[];
}

/**
 * The generated types rename a few fields (`configuration` is `_configuration`, `VSOCKCID` is
 * `vSOCKCID`, …); their FromJSON functions, in the bundle, read each field by its JSON name:
 * `tsName: exists(json, "jsonName") ? … : undefined`. Returns tsName → jsonName where they differ.
 */
function jsonNamesOf(bundle: string): Map<string, string> {
  const renames = new Map<string, string>();
  let fields = 0;
  for (const m of bundle.matchAll(/([A-Za-z_$][\w$]*):[A-Za-z_$][\w$]*\([A-Za-z_$][\w$]*,"([^"]+)"\)\?/g)) {
    fields++;
    const [, tsName, jsonName] = m;
    if (tsName === jsonName) continue;
    const known = renames.get(tsName);
    if (known !== undefined && known !== jsonName) throw new Error(`field ${tsName} stands for both ${known} and ${jsonName}`);
    renames.set(tsName, jsonName);
  }
  // The bundle's shape is what this relies on: thousands of fields, or it has changed.
  if (fields < 1000) throw new Error(`found only ${fields} fields in the API bundle: its format has changed`);
  return renames;
}

function renameProperties(definition: SchemaObject, jsonNames: Map<string, string>): void {
  if (!definition.properties) return;
  definition.properties = Object.fromEntries(Object.entries(definition.properties).map(([k, v]) => [jsonNames.get(k) ?? k, v]));
  if (definition.required) definition.required = definition.required.map((k) => jsonNames.get(k) ?? k);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

class ManifestValidator {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor() {
    const require = createRequire(import.meta.url);
    const ajv = new Ajv({ allErrors: true, strict: false });
    const patched = new Set<string>();
    const byModule = new Map<string, string[]>();
    for (const { module, type } of Object.values(KINDS)) byModule.set(module, [...(byModule.get(module) ?? []), type]);
    for (const [module, types] of byModule) {
      // The package's exports point at the bundles; the declarations sit beside them.
      const bundle = require.resolve(`@kubevirt-ui-ext/kubevirt-api/${module}`);
      const path = join(dirname(bundle), 'index.d.ts');
      const jsonNames = jsonNamesOf(readFileSync(bundle, 'utf8'));
      const generator = createGenerator({ path, expose: 'all', jsDoc: 'none', skipTypeCheck: true, additionalProperties: false, topRef: true });
      for (const type of types) {
        const schema = generator.createSchema(type) as { definitions: Record<string, SchemaObject> };
        for (const definition of Object.values(schema.definitions)) renameProperties(definition, jsonNames);
        for (const [definition, props] of Object.entries(INT_OR_STRING)) {
          const properties = schema.definitions[definition]?.properties;
          if (!properties) continue;
          for (const prop of props) {
            if (!(prop in properties)) throw new Error(`${definition}.${prop} is gone from the generated schema`);
            properties[prop] = { anyOf: [{ type: 'integer', minimum: 1, maximum: 65535 }, { type: 'string', minLength: 1 }] };
          }
          patched.add(definition);
        }
        this.validators.set(type, ajv.compile(schema));
      }
    }
    for (const definition of Object.keys(INT_OR_STRING)) {
      if (!patched.has(definition)) throw new Error(`${definition} is gone from the generated schemas`);
    }
  }

  /** Problems of one API object, as "path: message" lines; empty when it is valid. */
  check(object: Json): string[] {
    if (!isObj(object)) return ['the document is not an object'];
    const key = `${String(object.apiVersion)} ${String(object.kind)}`;
    const entry = KINDS[key];
    if (!entry) return [`unknown apiVersion/kind "${key}" (known: ${Object.keys(KINDS).join(', ')})`];
    const errors: string[] = [];
    const name = isObj(object.metadata) ? object.metadata.name : undefined;
    if (typeof name !== 'string' || !DNS1123_LABEL.test(name) || name.length > 63) {
      errors.push(`metadata.name: ${JSON.stringify(name)} is not a DNS-1123 label`);
    }
    const validate = this.validators.get(entry.type)!;
    if (!validate(object)) {
      for (const e of validate.errors ?? []) {
        const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : '';
        errors.push(`${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`);
      }
    }
    return errors;
  }
}

// ---------------------------------------------------------------------------------------------
// Files

interface ManifestFile {
  /** Relative to deploy/. */
  readonly name: string;
  readonly docs: Json[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function parseYaml(text: string, name: string): Json[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${name}: not YAML documents`);
  const out: Json[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${name}: ${problems.map((p) => p.message).join('; ')}`);
    const value = doc.toJS() as Json;
    if (value !== null) out.push(value);
  }
  return out;
}

const isMergePatch = (name: string) => name.endsWith('.merge-patch.yaml');
const isJsonPatch = (name: string) => name.endsWith('.json-patch.yaml');

// ---------------------------------------------------------------------------------------------
// What kubectl and KubeVirt do with them

/** RFC 7386 JSON merge patch (`kubectl patch --type merge`). */
function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/** RFC 6902 JSON patch, the "add" operation (`kubectl patch --type json`); throws as the API server would refuse. */
function jsonPatch(target: Json, ops: Json): Json {
  const out = clone(target);
  for (const [i, o] of arr(ops, 'the JSON patch').entries()) {
    const op = obj(o, `operation ${i}`);
    if (op.op !== 'add') throw new Error(`operation ${i}: only "add" is supported here, got ${JSON.stringify(op.op)}`);
    const tokens = str(op.path, `operation ${i} path`).split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop()!;
    let parent: Json = out;
    for (const t of tokens) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(t)] : isObj(parent) ? parent[t] : undefined;
      if (next === undefined) throw new Error(`operation ${i}: ${String(op.path)}: no ${t}`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(clone(op.value as Json));
      else parent.splice(Number(last), 0, clone(op.value as Json));
    } else if (isObj(parent)) parent[last] = clone(op.value as Json);
    else throw new Error(`operation ${i}: ${String(op.path)}: parent is not a container`);
  }
  return out;
}

/** The VMI KubeVirt's VM controller makes from a VM (SetupVMIFromVM in pkg/virt-controller/watch/vm). */
function vmiFromVm(vm: Obj): Obj {
  const metadata = obj(vm.metadata, 'VM metadata');
  const template = at(vm, 'spec.template');
  const templateMeta = isObj(template.metadata) ? clone(template.metadata) : {};
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      ...templateMeta,
      name: metadata.name ?? null,
      namespace: metadata.namespace ?? 'default',
      ownerReferences: [
        { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: metadata.name ?? null, uid: '00000000-0000-0000-0000-000000000000', controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: clone(obj(template.spec, 'VM spec.template.spec')),
  };
}

/** The fields of one hooks.kubevirt.io/hookSidecars entry (pkg/hooks HookSidecar). */
const HOOK_SIDECAR_FIELDS: Record<string, readonly string[] | null> = {
  image: null,
  imagePullPolicy: null,
  command: null,
  args: null,
  configMap: ['name', 'key', 'hookPath'],
  pvc: ['name', 'volumePath', 'sharedComputePath'],
};

function hookSidecars(annotations: Obj): Obj[] {
  const text = str(annotations['hooks.kubevirt.io/hookSidecars'], 'hooks.kubevirt.io/hookSidecars');
  const list = arr(JSON.parse(text) as Json, 'hooks.kubevirt.io/hookSidecars');
  return list.map((entry, i) => {
    const e = obj(entry, `hookSidecars[${i}]`);
    for (const [k, v] of Object.entries(e)) {
      if (!(k in HOOK_SIDECAR_FIELDS)) throw new Error(`hookSidecars[${i}]: KubeVirt has no field "${k}" (it has ${Object.keys(HOOK_SIDECAR_FIELDS).join(', ')})`);
      const sub = HOOK_SIDECAR_FIELDS[k];
      if (sub) for (const sk of Object.keys(obj(v, `hookSidecars[${i}].${k}`))) if (!sub.includes(sk)) throw new Error(`hookSidecars[${i}].${k}: no field "${sk}"`);
    }
    return e;
  });
}

/** Kubernetes quantity → bytes or cores (the suffixes used here). */
function quantity(q: Json | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${JSON.stringify(q)}`);
  const factor: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  return Number(m[1]) * (m[2] ? factor[m[2]] : 1);
}

/** A KubeVirt CR as `kubectl apply`-ed from KubeVirt's release manifest, before any patch. */
const KUBEVIRT_CR: Obj = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'KubeVirt',
  metadata: { name: 'kubevirt', namespace: 'kubevirt' },
  spec: {
    certificateRotateStrategy: {},
    configuration: { developerConfiguration: {} },
    customizeComponents: {},
    imagePullPolicy: 'IfNotPresent',
    workloadUpdateStrategy: {},
  },
};

// ---------------------------------------------------------------------------------------------

describe('deploy/', () => {
  let validator: ManifestValidator;
  let files: ManifestFile[];
  const objects = () => files.filter((f) => !isMergePatch(f.name) && !isJsonPatch(f.name)).flatMap((f) => f.docs.map((d) => obj(d, f.name)));
  const ofKind = (kind: string) => objects().filter((o) => o.kind === kind);
  const theVm = () => {
    const vms = ofKind('VirtualMachine');
    expect(vms).toHaveLength(1);
    return vms[0];
  };

  beforeAll(() => {
    validator = new ManifestValidator();
    files = yamlFiles(DEPLOY).map((path) => {
      const name = relative(DEPLOY, path);
      return { name, docs: parseYaml(readFileSync(path, 'utf8'), name) };
    });
  }, 120_000);

  it('has the patches, the VM, its password ConfigMap and the Services, each file parsing as YAML', () => {
    expect(files.map((f) => f.name)).toEqual([
      'kubevirt/sidecar-gate.json-patch.yaml',
      'kubevirt/sidecar.merge-patch.yaml',
      'vm/password-configmap.yaml',
      'vm/services.yaml',
      'vm/vm.yaml',
    ]);
    for (const f of files) expect(f.docs.length, f.name).toBeGreaterThan(0);
    expect(objects().map((o) => `${String(o.kind)}/${String(at(o, 'metadata').name)}`).sort()).toEqual([
      'ConfigMap/vdi-demo-password',
      'Service/vdi-demo-console',
      'Service/vdi-demo-console-nodeport',
      'VirtualMachine/vdi-demo',
    ]);
  });

  it('every object validates against the Kubernetes and KubeVirt API schemas', () => {
    for (const f of files) {
      if (isMergePatch(f.name) || isJsonPatch(f.name)) continue;
      for (const doc of f.docs) expect(validator.check(doc), f.name).toEqual([]);
    }
  });

  it('the validator rejects broken manifests', () => {
    const vm = theVm();
    const service = ofKind('Service')[0];
    const broken: [string, Obj][] = [];
    const add = (what: string, base: Obj, edit: (o: Obj) => void) => {
      const o = clone(base);
      edit(o);
      broken.push([what, o]);
    };
    const iface = (o: Obj) => obj(arr(at(o, 'spec.template.spec.domain.devices').interfaces, 'interfaces')[0], 'interface');
    add('misspelt field', vm, (o) => {
      const i = iface(o);
      i.prots = i.ports;
      delete i.ports;
    });
    add('port as a string', vm, (o) => {
      iface(o).ports = [{ port: '22' }];
    });
    add('annotation that is not a string', vm, (o) => {
      at(o, 'spec.template.metadata').annotations = { 'vdi-sidecar.io/vnc': true };
    });
    add('no spec.template', vm, (o) => {
      delete at(o, 'spec').template;
    });
    add('unknown kind', vm, (o) => {
      o.kind = 'VirtualMachines';
    });
    add('bad name', vm, (o) => {
      at(o, 'metadata').name = 'VDI_demo';
    });
    add('targetPort object', service, (o) => {
      obj(arr(at(o, 'spec').ports, 'ports')[0], 'port').targetPort = { port: 5900 };
    });
    add('service port as text', service, (o) => {
      obj(arr(at(o, 'spec').ports, 'ports')[0], 'port').port = '5900';
    });
    add('selector list', service, (o) => {
      at(o, 'spec').selector = ['kubevirt.io/domain=vdi-demo'];
    });
    for (const [what, o] of broken) expect(validator.check(o), what).not.toEqual([]);
    // The IntOrString fix takes a name as well as a number.
    const named = clone(service);
    obj(arr(at(named, 'spec').ports, 'ports')[0], 'port').targetPort = 'vnc';
    expect(validator.check(named)).toEqual([]);
  });

  it('the merge patch turns the Sidecar gate on and sizes the sidecars, giving a valid KubeVirt CR', () => {
    const [patch] = files.find((f) => isMergePatch(f.name))!.docs;
    const patched = obj(mergePatch(KUBEVIRT_CR, patch), 'patched CR');
    expect(validator.check(patched)).toEqual([]);
    const configuration = at(patched, 'spec.configuration');
    expect(at(configuration, 'developerConfiguration').featureGates).toEqual(['Sidecar']);
    const support = arr(configuration.supportContainerResources, 'supportContainerResources').map((s) => obj(s, 'entry'));
    // SupportContainerType "sidecar" (kubevirt.io/api/core/v1: SideCar) is what hook sidecars get.
    const sidecar = support.filter((s) => s.type === 'sidecar');
    expect(sidecar).toHaveLength(1);
    const resources = obj(sidecar[0].resources, 'resources');
    const requests = obj(resources.requests, 'requests');
    const limits = obj(resources.limits, 'limits');
    // The whole sidecar's target is <= 192 MiB resident at idle; KubeVirt's default limit for
    // Guaranteed-QoS VMs is 64M.
    expect(quantity(requests.memory)).toBeGreaterThanOrEqual(192 * 2 ** 20);
    expect(quantity(limits.memory)).toBeGreaterThan(quantity(requests.memory));
    expect(quantity(limits.cpu)).toBeGreaterThan(0.2);
    expect(quantity(limits.cpu)).toBeGreaterThanOrEqual(quantity(requests.cpu));
  });

  it('the JSON patch appends the Sidecar gate to a CR that lists gates, and fails on one that lists none', () => {
    const [patch] = files.find((f) => isJsonPatch(f.name))!.docs;
    const withGates = mergePatch(KUBEVIRT_CR, { spec: { configuration: { developerConfiguration: { featureGates: ['LiveMigration', 'Snapshot'] } } } });
    const patched = obj(jsonPatch(withGates, patch), 'patched CR');
    expect(validator.check(patched)).toEqual([]);
    expect(at(patched, 'spec.configuration.developerConfiguration').featureGates).toEqual(['LiveMigration', 'Snapshot', 'Sidecar']);
    expect(() => jsonPatch(KUBEVIRT_CR, patch)).toThrow(/no featureGates/);
  });

  describe('the example VM', () => {
    const vmi = () => vmiFromVm(theVm());
    const annotations = () => at(vmi(), 'metadata.annotations');
    const config = (): SidecarConfig => configFromVmi(parseVmi(JSON.stringify(vmi()))).config;

    it('makes a VMI that validates against the KubeVirt schema', () => {
      expect(validator.check(vmi())).toEqual([]);
    });

    it("has vdi-sidecar.io/ annotations the hook's parser accepts, without warnings", () => {
      const result = configFromVmi(parseVmi(JSON.stringify(vmi())));
      expect(result.warnings).toEqual([]);
      for (const kind of ['vnc', 'rdp', 'web'] as const) {
        expect(result.config[kind], kind).toMatchObject({ enabled: true, listen: '0.0.0.0' });
      }
      expect(result.config.passwordFile).not.toBeNull();
      expect(result.config.insecure).toBe(false);
    });

    it('names the sidecar image by the placeholder, without command or args, and mounts the password file', () => {
      const sidecars = hookSidecars(annotations());
      expect(sidecars).toHaveLength(1);
      const [sidecar] = sidecars;
      expect(sidecar.image).toBe(SIDECAR_IMAGE_PLACEHOLDER);
      expect(sidecar.command).toBeUndefined();
      expect(sidecar.args).toBeUndefined();
      const configMap = obj(sidecar.configMap, 'configMap');
      expect(configMap.hookPath).toBe(config().passwordFile);
      const source = ofKind('ConfigMap').find((c) => at(c, 'metadata').name === configMap.name);
      expect(source, `ConfigMap ${String(configMap.name)} in deploy/`).toBeDefined();
      expect(obj(source!.data, 'data')[str(configMap.key, 'key')]).toEqual(expect.any(String));
    });

    it('lists the guest ports on its masquerade interface, none of them a server port', () => {
      const interfaces = arr(at(vmi(), 'spec.domain.devices').interfaces, 'interfaces').map((i) => obj(i, 'interface'));
      const masquerade = interfaces.filter((i) => isObj(i.masquerade));
      expect(masquerade).toHaveLength(1);
      const guestPorts = arr(masquerade[0].ports, 'ports').map((p) => obj(p, 'port').port);
      expect(guestPorts.length).toBeGreaterThan(0);
      const c = config();
      for (const port of [c.vnc.port, c.rdp.port, c.web.port]) expect(guestPorts).not.toContain(port);
    });

    it('the Services select its pod and reach exactly the servers it turns on', () => {
      const labels = at(vmi(), 'metadata.labels'); // KubeVirt copies them to the pod
      const c = config();
      const serverPorts = { vnc: c.vnc.port, rdp: c.rdp.port, web: c.web.port };
      const services = ofKind('Service');
      expect(services.map((s) => at(s, 'spec').type).sort()).toEqual(['ClusterIP', 'NodePort']);
      for (const s of services) {
        const spec = at(s, 'spec');
        const selector = at(spec, 'selector');
        expect(Object.keys(selector).length).toBeGreaterThan(0);
        for (const [k, v] of Object.entries(selector)) expect(labels[k], `${String(at(s, 'metadata').name)} selector ${k}`).toBe(v);
        const ports = Object.fromEntries(arr(spec.ports, 'ports').map((p) => [str(obj(p, 'port').name, 'name'), obj(p, 'port').targetPort]));
        expect(ports).toEqual(serverPorts);
      }
    });

    it('breaking it the way the guide warns about is caught by the hook', () => {
      // Beyond loopback without a password: the hook refuses (INVALID_ARGUMENT, the VM does not start).
      const noPassword = vmi();
      delete at(noPassword, 'metadata.annotations')['vdi-sidecar.io/password-file'];
      expect(() => configFromVmi(parseVmi(JSON.stringify(noPassword)))).toThrow(ConfigError);
      // Masquerade without ports: the servers are unreachable, and the hook says so.
      const noPorts = vmi();
      const iface = obj(arr(at(noPorts, 'spec.domain.devices').interfaces, 'interfaces')[0], 'interface');
      delete iface.ports;
      expect(configFromVmi(parseVmi(JSON.stringify(noPorts))).warnings.join('\n')).toMatch(/lists no ports/);
      // A hookSidecars entry with a field KubeVirt does not have (a volume for a Secret, say).
      const withSecret = clone(annotations());
      withSecret['hooks.kubevirt.io/hookSidecars'] = JSON.stringify([{ image: SIDECAR_IMAGE_PLACEHOLDER, secret: { name: 'x' } }]);
      expect(() => hookSidecars(withSecret)).toThrow(/no field "secret"/);
    });
  });
});
