// A small REST client for the test API server: server-side apply (optionally dry-run, strict field
// validation), get, list and delete, with discovery to find each kind's resource. It speaks to the
// real kube-apiserver the harness started; nothing here fakes an answer.
import { request } from 'node:https';
import type { Cluster } from '../../scripts/k8s/cluster.ts';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
};

export type KubeResponse = { status: number; body: string; warnings: string[] };

type Resource = { name: string; namespaced: boolean; kind: string };

export class KubeClient {
  readonly #cluster: Pick<Cluster, 'server' | 'token' | 'caPem'>;
  readonly #discovery = new Map<string, Resource[]>();

  constructor(cluster: Pick<Cluster, 'server' | 'token' | 'caPem'>) {
    this.#cluster = cluster;
  }

  request(
    method: string,
    path: string,
    body?: string,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<KubeResponse> {
    const { server, token, caPem } = this.#cluster;
    return new Promise((resolve, reject) => {
      const req = request(
        `${server}${path}`,
        {
          method,
          ca: caPem,
          timeout: 30_000,
          headers: {
            authorization: `Bearer ${token}`,
            accept,
            ...(body !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }
              : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => {
            const raw = res.headers.warning;
            const warnings = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
            resolve({ status: res.statusCode ?? 0, body: text, warnings });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 500)}`);
    return JSON.parse(r.body) as T;
  }

  async resourceOf(apiVersion: string, kind: string): Promise<Resource> {
    let list = this.#discovery.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const doc = await this.json<{ resources: Resource[] }>('GET', path);
      list = doc.resources.filter((r) => !r.name.includes('/'));
      this.#discovery.set(apiVersion, list);
    }
    const found = list.find((r) => r.kind === kind);
    if (!found) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return found;
  }

  /** Drops cached discovery (after installing CRDs). */
  forgetDiscovery(): void {
    this.#discovery.clear();
  }

  async pathOf(
    obj: Pick<KubeObject, 'apiVersion' | 'kind'> & { metadata: { namespace?: string } },
    name?: string,
  ) {
    const r = await this.resourceOf(obj.apiVersion, obj.kind);
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = r.namespaced ? `/namespaces/${obj.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${r.name}${name ? `/${name}` : ''}`;
  }

  /** Server-side apply with strict field validation; `dryRun` stores nothing. */
  async apply(obj: KubeObject, opts: { dryRun?: boolean; namespace?: string } = {}): Promise<KubeResponse> {
    const withNs =
      opts.namespace && (await this.resourceOf(obj.apiVersion, obj.kind)).namespaced
        ? { ...obj, metadata: { ...obj.metadata, namespace: opts.namespace } }
        : obj;
    const query = new URLSearchParams({
      fieldManager: 'paysync-tests',
      fieldValidation: 'Strict',
      force: 'true',
    });
    if (opts.dryRun) query.set('dryRun', 'All');
    const path = `${await this.pathOf(withNs, withNs.metadata.name)}?${query}`;
    return this.request('PATCH', path, JSON.stringify(withNs), 'application/apply-patch+yaml');
  }

  async get<T = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T> {
    const path = await this.pathOf(
      { apiVersion, kind, metadata: { ...(namespace ? { namespace } : {}) } },
      name,
    );
    return this.json<T>('GET', path);
  }

  async list<T = KubeObject>(apiVersion: string, kind: string, namespace?: string): Promise<T[]> {
    const path = await this.pathOf({ apiVersion, kind, metadata: { ...(namespace ? { namespace } : {}) } });
    return (await this.json<{ items: T[] }>('GET', path)).items;
  }

  async create(obj: KubeObject): Promise<KubeResponse> {
    return this.request('POST', await this.pathOf(obj), JSON.stringify(obj));
  }

  async replace(obj: KubeObject): Promise<KubeResponse> {
    return this.request('PUT', await this.pathOf(obj, obj.metadata.name), JSON.stringify(obj));
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeResponse> {
    const path = await this.pathOf(
      { apiVersion, kind, metadata: { ...(namespace ? { namespace } : {}) } },
      name,
    );
    return this.request('DELETE', path);
  }

  /** Applies CRDs for real and waits until each is Established. */
  async installCrds(crds: KubeObject[]): Promise<void> {
    for (const crd of crds) {
      const r = await this.apply(crd);
      if (r.status >= 300) throw new Error(`CRD ${crd.metadata.name}: ${r.status} ${r.body.slice(0, 500)}`);
    }
    const deadline = Date.now() + 30_000;
    for (const crd of crds) {
      for (;;) {
        const got = await this.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          'apiextensions.k8s.io/v1',
          'CustomResourceDefinition',
          crd.metadata.name,
        );
        if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
        if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not Established`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.forgetDiscovery();
  }
}
