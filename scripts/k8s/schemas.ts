// JSON schemas for kubeconform, made from honest sources: the Kubernetes kinds from the OpenAPI v2
// document the real kube-apiserver serves, CRD kinds from the CRDs' own openAPIV3Schema. "Strict" as
// kubeconform means it: every object schema that lists its properties refuses others.
//
// Layout (kubeconform -schema-location templates):
//   <dir>/v<version>-strict/_definitions.json                every definition, refs inside it
//   <dir>/v<version>-strict/<kind><-group-version>.json      one per kind: {$ref: _definitions.json#…}
//   <crdDir>/<group>/<kind>_<version>.json                    one per CRD version, standalone
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from '../infra/errors.ts';
import type { Cluster } from './cluster.ts';
import { apiGet } from './cluster.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const NUMBER_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'number' }] };

function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks a schema: closes objects that list properties (strict), turns int-or-string markers into
 * oneOf, and rewrites refs with `ref`.
 */
export function strictify(schema: Json, ref: (r: string) => string = (r) => r): Json {
  if (Array.isArray(schema)) return schema.map((s) => strictify(s, ref));
  if (!isObj(schema)) return schema;
  if (schema['x-kubernetes-int-or-string'] === true || schema.format === 'int-or-string') {
    return { ...INT_OR_STRING, ...(schema.description ? { description: schema.description } : {}) };
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref' && typeof v === 'string') out[k] = ref(v);
    else if (k === 'properties' && isObj(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictify(s, ref)]));
    } else if (k === 'example' || k === 'default') out[k] = v;
    else out[k] = strictify(v, ref);
  }
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObj(schema.properties) && schema.additionalProperties === undefined && !preserve) {
    out.additionalProperties = false;
  }
  return out;
}

type Gvk = { group: string; version: string; kind: string };

/** kubeconform's file name for a kind: deployment-apps-v1, service-v1, ingress-networking-v1. */
export function kindFileName(gvk: Gvk): string {
  const group = gvk.group === '' ? '' : `-${gvk.group.split('.')[0]?.toLowerCase()}`;
  return `${gvk.kind.toLowerCase()}${group}-${gvk.version.toLowerCase()}.json`;
}

/**
 * Converts an OpenAPI v2 document into _definitions.json plus one file per kind: the API server's
 * own kinds (io.k8s.*), not those of CRDs that happen to be installed (they come from the CRDs).
 */
export function kubernetesSchemas(openapi: Obj): Map<string, Json> {
  const all = openapi.definitions;
  if (!isObj(all)) throw new InfraError('OPENAPI', 'the OpenAPI document has no definitions');
  const definitions = Object.fromEntries(Object.entries(all).filter(([name]) => name.startsWith('io.k8s.')));
  const defs: Obj = {};
  for (const [name, schema] of Object.entries(definitions)) {
    if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
      defs[name] = { ...NUMBER_OR_STRING, description: isObj(schema) ? (schema.description ?? '') : '' };
    } else defs[name] = strictify(schema);
  }
  const files = new Map<string, Json>([['_definitions.json', { definitions: defs }]]);
  const external = (r: string) => r.replace(/^#\/definitions\//, '_definitions.json#/definitions/');
  for (const [, schema] of Object.entries(definitions)) {
    if (!isObj(schema)) continue;
    const gvks = schema['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const g of gvks) {
      if (!isObj(g)) continue;
      const gvk = { group: String(g.group ?? ''), version: String(g.version), kind: String(g.kind) };
      const file = kindFileName(gvk);
      // A kind served by several groups (DeleteOptions, WatchEvent) keeps its first, plain, file.
      if (files.has(file)) continue;
      files.set(file, strictify(schema, external));
    }
  }
  return files;
}

/** One standalone schema per served version of a CRD, keyed `<group>/<kind>_<version>.json`. */
export function crdSchemas(crd: Obj): Map<string, Json> {
  const spec = crd.spec;
  if (!isObj(spec) || !isObj(spec.names) || !Array.isArray(spec.versions)) {
    throw new InfraError('CRD', 'not a CustomResourceDefinition');
  }
  const group = String(spec.group);
  const kind = String(spec.names.kind).toLowerCase();
  const out = new Map<string, Json>();
  for (const v of spec.versions) {
    if (!isObj(v) || !isObj(v.schema) || !isObj(v.schema.openAPIV3Schema)) continue;
    const root = strictify(v.schema.openAPIV3Schema) as Obj;
    const properties = isObj(root.properties) ? root.properties : {};
    // The API server adds these to every custom resource; the CRD need not spell them out.
    root.properties = {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      ...properties,
    };
    root.additionalProperties = false;
    out.set(`${group}/${kind}_${String(v.name)}.json`, root);
  }
  return out;
}

export function writeSchemaFiles(dir: string, files: Map<string, Json>): number {
  for (const [name, schema] of files) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${JSON.stringify(schema)}\n`);
  }
  return files.size;
}

/** Fetches /openapi/v2 from the cluster and (re)writes <dir>/v<version>-strict. */
export async function writeKubernetesSchemas(cluster: Cluster, dir: string): Promise<number> {
  const r = await apiGet(cluster.server, '/openapi/v2', cluster.token, cluster.caPem);
  if (r.status !== 200) throw new InfraError('OPENAPI', `GET /openapi/v2 answered ${r.status}`);
  const target = join(dir, `${cluster.version}-strict`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  const n = writeSchemaFiles(target, kubernetesSchemas(JSON.parse(r.body) as Obj));
  if (readdirSync(target).length !== n) throw new InfraError('OPENAPI', 'schema file names collided');
  return n;
}
