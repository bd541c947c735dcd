import { describe, expect, it } from '@jest/globals';
import { byKind, type Json, type Manifest, one, podSpecOf, render, renderNotes } from '../k8s/chart.ts';

// What Prometheus gets from a release: every component scraped, the reconciler's runs included
// (a CronJob's pods are gone before any scrape, so they push to the release's Pushgateway).

function env(m: Manifest, name: string): string | undefined {
  return podSpecOf(m).containers[0].env?.find((e: Json) => e.name === name)?.value;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Does a NetworkPolicy peer list admit a pod with these labels (same namespace)? */
function admits(peers: Json[], labels: Record<string, string>): boolean {
  return peers.some(
    (p) => !p.namespaceSelector && p.podSelector && matches(p.podSelector.matchLabels, labels),
  );
}

describe('the reconciler’s metrics path on a default install', () => {
  const manifests = render();

  it('pushes every sweep to the release’s Pushgateway, which Prometheus scrapes with honorLabels', () => {
    const cron = one(manifests, 'CronJob', '-reconciler');
    const service = one(manifests, 'Service', '-pushgateway');
    const url = new URL(env(cron, 'RECONCILER_PUSHGATEWAY_URL') ?? 'http://unset');
    expect(url.hostname).toBe(`${service.metadata.name}.paysync.svc`);
    const port = service.spec.ports.find((p: Json) => String(p.port) === url.port);
    expect(port?.name).toBe('metrics');

    const deployment = one(manifests, 'Deployment', '-pushgateway');
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
    const container = podSpecOf(deployment).containers[0];
    expect(container.ports).toContainEqual({
      name: 'metrics',
      containerPort: Number(url.port),
      protocol: 'TCP',
    });

    const monitor = one(manifests, 'ServiceMonitor', '-pushgateway');
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual(['paysync']);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', honorLabels: true })]);
  });

  it('lets the sweep reach the Pushgateway and Prometheus scrape it through the NetworkPolicies', () => {
    const cronPod = one(manifests, 'CronJob', '-reconciler').spec.jobTemplate.spec.template.metadata.labels;
    const gatewayPod = one(manifests, 'Deployment', '-pushgateway').spec.template.metadata.labels;
    const reconcilerPolicy = one(manifests, 'NetworkPolicy', '-reconciler');
    const out = reconcilerPolicy.spec.egress.filter((r: Json) => admits(r.to, gatewayPod));
    expect(out.flatMap((r: Json) => r.ports.map((p: Json) => p.port))).toContain(9091);

    const pushgatewayPolicy = one(manifests, 'NetworkPolicy', '-pushgateway');
    expect(matches(pushgatewayPolicy.spec.podSelector.matchLabels, gatewayPod)).toBe(true);
    expect(pushgatewayPolicy.spec.ingress.some((r: Json) => admits(r.from, cronPod))).toBe(true);
    expect(
      pushgatewayPolicy.spec.ingress.some((r: Json) =>
        r.from.some(
          (p: Json) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
        ),
      ),
    ).toBe(true);
    expect(pushgatewayPolicy.spec.egress).toEqual([]);
  });

  it('uses an existing Pushgateway instead when given its URL, and refuses ambiguous settings', () => {
    const external = render({
      set: [
        'monitoring.pushgateway.enabled=false',
        'monitoring.pushgateway.url=http://pg.monitoring.svc:9091',
      ],
    });
    expect(env(one(external, 'CronJob', '-reconciler'), 'RECONCILER_PUSHGATEWAY_URL')).toBe(
      'http://pg.monitoring.svc:9091',
    );
    expect(byKind(external, 'Deployment').map((d) => d.metadata.name)).not.toContain('paysync-pushgateway');
    expect(() => render({ set: ['monitoring.pushgateway.url=http://pg:9091'] })).toThrow(/not both/);
    expect(() => render({ set: ['reconciler.env.RECONCILER_PUSHGATEWAY_URL=http://pg:9091'] })).toThrow(
      /monitoring\.pushgateway/,
    );
  });

  it('says in the install notes when the run metrics go nowhere', () => {
    expect(renderNotes()).not.toMatch(/WARNING: monitoring\.pushgateway/);
    expect(renderNotes({ set: ['monitoring.pushgateway.enabled=false'] })).toMatch(
      /WARNING: monitoring\.pushgateway is off.*\n.*missed notifications never alert/,
    );
  });
});

describe('clusters without the Prometheus Operator', () => {
  it('installs no ServiceMonitor or PrometheusRule and says what is not scraped', () => {
    const manifests = render({ apiVersions: [] });
    expect(byKind(manifests, 'ServiceMonitor')).toEqual([]);
    expect(byKind(manifests, 'PrometheusRule')).toEqual([]);
    const notes = renderNotes({ apiVersions: [] });
    expect(notes).toContain('no ServiceMonitor CRD');
    expect(notes).toContain('NOTHING of paysync is scraped');
    expect(notes).toContain('no PrometheusRule CRD');
    expect(renderNotes()).not.toContain('CRD');
  });
});

describe('two releases in one Prometheus', () => {
  it('render Pushgateways, URLs and ServiceMonitors that do not overlap', () => {
    const a = render({ release: 'paysync', namespace: 'pay-prod' });
    const b = render({ release: 'paysync', namespace: 'pay-staging' });
    const urls = [a, b].map((m) => env(one(m, 'CronJob', '-reconciler'), 'RECONCILER_PUSHGATEWAY_URL'));
    expect(urls[0]).not.toBe(urls[1]);
    const scraped = [a, b].map((m) =>
      byKind(m, 'ServiceMonitor').map((s) => s.spec.namespaceSelector.matchNames),
    );
    expect(scraped[0]?.flat()).toEqual(Array(5).fill('pay-prod'));
    expect(scraped[1]?.flat()).toEqual(Array(5).fill('pay-staging'));
  });
});
