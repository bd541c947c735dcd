import { describe, expect, it } from '@jest/globals';
import {
  byKind,
  CI_VALUES,
  helmLint,
  helmTemplate,
  type Manifest,
  one,
  podSpecOf,
  render,
  workloads,
} from '../k8s/chart.ts';

// The chart rendered by the real helm (.cache/bin/helm) and read back as objects: what a cluster
// would receive. Server-side validation is in test/integration/k8s-apiserver.test.ts.

const defaults = render();
const cases: [string, Manifest[]][] = [
  ['default values', defaults],
  ...CI_VALUES.map((f): [string, Manifest[]] => [f.split('/').at(-1) as string, render({ values: [f] })]),
];
const production = cases.find(([n]) => n === 'production-values.yaml')?.[1] as Manifest[];
const sharded = cases.find(([n]) => n === 'sharded-values.yaml')?.[1] as Manifest[];
const minimal = cases.find(([n]) => n === 'minimal-values.yaml')?.[1] as Manifest[];

// biome-ignore lint/suspicious/noExplicitAny: container specs are read by path
function containers(m: Manifest): any[] {
  return podSpecOf(m).containers;
}

// biome-ignore lint/suspicious/noExplicitAny: env entries are read by path
function envOf(container: any): Map<string, any> {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return new Map((container.env ?? []).map((e: any) => [e.name, e]));
}

describe('helm lint and template', () => {
  it.each([['default values', []], ...CI_VALUES.map((f) => [f.split('/').at(-1), [f]])] as [
    string,
    string[],
  ][])('passes helm lint --strict with %s', (_name, values) => {
    const r = helmLint(values);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it.each(cases)('renders %s into objects that all have a kind and a name', (_name, manifests) => {
    expect(manifests.length).toBeGreaterThan(5);
    for (const m of manifests) {
      expect(typeof m.apiVersion).toBe('string');
      expect(typeof m.kind).toBe('string');
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      expect(m.metadata.name.length).toBeLessThanOrEqual(63);
    }
  });

  it('renders every component of the design with the default values', () => {
    const kinds = new Set(defaults.map((m) => `${m.kind}/${m.metadata.name}`));
    for (const want of [
      'Deployment/paysync-gateway',
      'Service/paysync-gateway',
      'Ingress/paysync-gateway',
      'HorizontalPodAutoscaler/paysync-gateway',
      'PodDisruptionBudget/paysync-gateway',
      'CronJob/paysync-reconciler',
      'Deployment/paysync-operator',
      'Deployment/paysync-points-ledger',
      'Deployment/paysync-alerting',
      'Role/paysync-operator',
      'RoleBinding/paysync-operator',
      'NetworkPolicy/paysync-default-deny',
      'Job/paysync-migrate',
      'NetworkPolicy/paysync-migrate',
      'Deployment/paysync-pushgateway',
      'Service/paysync-pushgateway',
      'ServiceMonitor/paysync-pushgateway',
    ]) {
      expect(kinds).toContain(want);
    }
    // The schema is applied before anything else changes, on install and on every upgrade.
    const migrate = defaults.find((m) => m.kind === 'Job' && m.metadata.name === 'paysync-migrate');
    expect(migrate?.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    expect(byKind(defaults, 'ServiceMonitor').length).toBe(6);
  });
});

describe('values schema', () => {
  it.each([
    ['a misspelt key', ['gateway.replica=3'], "additional properties 'replica' not allowed"],
    [
      'a misspelt nested key',
      ['reconciler.sweep.schedul=*/1 * * * *'],
      "additional properties 'schedul' not allowed",
    ],
    [
      'an unknown env var name',
      ['config.KAFKA_BROKER=kafka:9092'],
      "additional properties 'KAFKA_BROKER' not allowed",
    ],
    [
      'a component knob under another component',
      ['ledger.env.GATEWAY_MAX_IN_FLIGHT=5'],
      'GATEWAY_MAX_IN_FLIGHT',
    ],
    ['a wrong type', ['reconciler.sweep.shards=many'], '/reconciler/sweep/shards'],
    [
      'a notify URL on another path',
      ['gateway.notifyUrl=https://pay.example.com/notify'],
      '/gateway/notifyUrl',
    ],
    ['a setting the chart owns', ['alerting.env.ALERTING_ROUTES_FILE=/x'], '/alerting/env'],
  ])('rejects %s', (_what, set, message) => {
    const r = helmTemplate({ set });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('accepts the same keys spelt right', () => {
    const r = helmTemplate({
      set: ['gateway.replicaCount=3', 'ledger.env.LEDGER_BATCH_SIZE=50', 'reconciler.sweep.shards=2'],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('reconciler CronJob', () => {
  it('runs the sweep with Forbid, an explicit time zone, deadlines, retries and history limits', () => {
    const cron = one(production, 'CronJob', '-reconciler');
    expect(cron.spec).toMatchObject({
      schedule: '*/2 * * * *',
      timeZone: 'Asia/Shanghai',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 120,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(cron.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 1, activeDeadlineSeconds: 110 });
    const pod = podSpecOf(cron);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers[0].args).toEqual(['sweep']);
    expect(envOf(pod.containers[0]).get('RECONCILER_SHARD')?.value).toBe('0/1');
    expect(envOf(pod.containers[0]).get('RECONCILER_PUSHGATEWAY_URL')?.value).toBe(
      'http://prometheus-pushgateway.monitoring.svc:9091',
    );
  });

  it('renders one CronJob per shard, each with its own slice', () => {
    const crons = byKind(sharded, 'CronJob').filter((c) => containers(c)[0].args[0] === 'sweep');
    expect(crons.map((c) => envOf(containers(c)[0]).get('RECONCILER_SHARD')?.value).sort()).toEqual([
      '0/3',
      '1/3',
      '2/3',
    ]);
    for (const c of crons) {
      expect(c.spec.concurrencyPolicy).toBe('Forbid');
      expect(c.spec.jobTemplate.spec.backoffLimit).toBe(0);
      expect(c.spec.startingDeadlineSeconds).toBe(60);
    }
    expect(new Set(crons.map((c) => c.metadata.name)).size).toBe(3);
  });

  it('renders the daily trade-bill CronJob: after 10:00 Beijing, never overlapping, retrying until the deadline', () => {
    const cron = one(production, 'CronJob', '-reconciler-bill');
    expect(cron.spec).toMatchObject({
      schedule: '15 10 * * *',
      timeZone: 'Asia/Shanghai',
      concurrencyPolicy: 'Forbid',
    });
    const pod = podSpecOf(cron);
    expect(pod.containers[0].args).toEqual(['bill']);
    const env = envOf(pod.containers[0]);
    expect(env.get('RECONCILER_BILL_RETRY_INTERVAL')?.value).toBe('30m');
    expect(env.get('RECONCILER_BILL_DEADLINE')?.value).toBe('12:00');
    expect(env.get('RECONCILER_NOTIFY_PROBE')?.value).toBe('false');
    // From the schedule to the deadline the job waits for a bill still being made.
    expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan((12 * 60 - (10 * 60 + 15)) * 60);
  });
});

describe('pod security', () => {
  it.each(cases)('every pod and container of %s is restricted', (_name, manifests) => {
    const all = workloads(manifests);
    expect(all.length).toBeGreaterThan(0);
    for (const w of all) {
      const pod = podSpecOf(w);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.capabilities.add).toBeUndefined();
        expect(c.resources.requests).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  it('mounts a service account token only into the operator', () => {
    for (const w of workloads(defaults)) {
      const mounts = podSpecOf(w).automountServiceAccountToken;
      expect([w.metadata.name, mounts]).toEqual([w.metadata.name, w.metadata.name === 'paysync-operator']);
    }
    for (const sa of byKind(defaults, 'ServiceAccount')) {
      expect(sa.automountServiceAccountToken).toBe(sa.metadata.name === 'paysync-operator');
    }
  });
});

describe('secrets', () => {
  it.each(cases)('%s references Secrets and never renders one', (_name, manifests) => {
    expect(byKind(manifests, 'Secret')).toEqual([]);
    const text = JSON.stringify(manifests);
    // A password is named (a file, a Secret's key), never given: the env values are checked below.
    expect(text).not.toMatch(/mysql:\/\/|PRIVATE KEY/i);
    const accounts = new Set<string>();
    // The Pushgateway (a Prometheus image) has no business with MySQL.
    for (const w of workloads(manifests).filter((m) => !m.metadata.name.endsWith('-pushgateway'))) {
      // Each component its own database account: paysync-mysql-<component>, password as a file.
      const component = (w.metadata.name as string)
        .replace(/^paysync-/, '')
        .replace(/^points-ledger$/, 'ledger')
        // The public receiver has an account of its own (reads the certificate archive only), and
        // so has the order service (orders, refunds).
        .replace(/^gateway$/, 'receiver')
        .replace(/^order-service$/, 'orders')
        .replace(/^reconciler-.*/, 'reconciler');
      for (const c of containers(w)) {
        const env = envOf(c);
        expect([w.metadata.name, env.get('MYSQL_URL')?.valueFrom?.secretKeyRef]).toEqual([
          w.metadata.name,
          { name: `paysync-mysql-${component}`, key: 'MYSQL_URL' },
        ]);
        expect(env.get('MYSQL_URL')?.value).toBeUndefined();
        expect(env.get('MYSQL_PASSWORD_FILE')?.value).toBe('/var/run/secrets/paysync/mysql/password');
        accounts.add(env.get('MYSQL_URL')?.valueFrom?.secretKeyRef?.name);
        // No secret in an environment value, nor from a Secret by variable: files only.
        for (const [name, e] of env) {
          if (/TOKEN|PASSWORD|SECRET|_KEY$/.test(name) && !name.endsWith('_FILE')) {
            expect([w.metadata.name, name, e]).toEqual([w.metadata.name, name, undefined]);
          }
        }
      }
      // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
      const mysql = podSpecOf(w).volumes.find((v: any) => v.name === 'mysql');
      expect(mysql.secret.secretName).toBe(`paysync-mysql-${component}`);
    }
    expect(accounts.has('paysync-mysql-receiver')).toBe(true);
    expect(accounts.has('paysync-mysql-orders')).toBe(true);
    expect(accounts.has('paysync-mysql-gateway')).toBe(false);
    expect(accounts.has('paysync-mysql-ledger')).toBe(true);
  });

  it('hands the WeChat Pay keys over as files from the Secret, not as environment values', () => {
    const orders = one(production, 'Deployment', '-order-service');
    const env = envOf(containers(orders)[0]);
    expect(env.get('GATEWAY_ROLE')?.value).toBe('orders');
    expect(env.get('WECHATPAY_PRIVATE_KEY_FILE')?.value).toBe(
      '/var/run/secrets/paysync/wechatpay/apiclient_key.pem',
    );
    expect(env.get('WECHATPAY_PUBLIC_KEY_FILE')?.value).toBe(
      '/var/run/secrets/paysync/wechatpay/wechatpay_public_key.pem',
    );
    expect(env.get('GATEWAY_API_TOKEN_FILE')?.value).toBe(
      '/var/run/secrets/paysync/gateway-api/GATEWAY_API_TOKEN',
    );
    expect(env.get('GATEWAY_API_READ_TOKEN_FILE')?.value).toBe(
      '/var/run/secrets/paysync/gateway-api/GATEWAY_API_READ_TOKEN',
    );
    expect(env.has('GATEWAY_API_TOKEN')).toBe(false);
    // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
    const tokens = podSpecOf(orders).volumes.find((v: any) => v.name === 'gateway-api');
    expect(tokens.secret.secretName).toBe('paysync-gateway-api');
    // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
    const wechatpayVolume = (m: Manifest) => podSpecOf(m).volumes.find((v: any) => v.name === 'wechatpay');
    expect(wechatpayVolume(orders).secret.secretName).toBe('paysync-wechatpay');
    const keys: string[] = wechatpayVolume(orders).secret.items.map((i: { key: string }) => i.key);
    expect(keys.sort()).toEqual(['apiclient_key.pem', 'apiv3.key', 'wechatpay_public_key.pem']);
  });

  it('keeps every key that signs requests away from the pods behind the public Ingress', () => {
    const ingress = one(production, 'Ingress', '-gateway');
    // biome-ignore lint/suspicious/noExplicitAny: rules are read by path
    const paths = ingress.spec.rules.flatMap((r: any) => r.http.paths);
    // biome-ignore lint/suspicious/noExplicitAny: see above
    expect(paths.map((p: any) => p.path)).toEqual(['/api/payment/wechat/callback']);
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const backends = new Set(paths.map((p: any) => p.backend.service.name));
    for (const deployment of byKind(production, 'Deployment')) {
      const name = deployment.metadata.name;
      const served = [...backends].some((b) => name === b);
      if (!served) continue;
      const env = envOf(containers(deployment)[0]);
      expect([name, env.get('GATEWAY_ROLE')?.value]).toEqual([name, 'receiver']);
      expect(env.has('WECHATPAY_PRIVATE_KEY_FILE')).toBe(false);
      expect(env.has('GATEWAY_API_TOKEN')).toBe(false);
      expect(env.get('WECHATPAY_API_V2_KEY_FILE')?.value).toBe(
        '/var/run/secrets/paysync/wechatpay/apiv2.key',
      );
      // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
      const volume = podSpecOf(deployment).volumes.find((v: any) => v.name === 'wechatpay');
      // biome-ignore lint/suspicious/noExplicitAny: see above
      expect(volume.secret.items.map((i: any) => i.key).sort()).toEqual([
        'apiv2.key',
        'apiv3.key',
        'wechatpay_public_key.pem',
      ]);
    }
    expect(backends.size).toBe(1);
    // The order service has no public ingress unless asked for, on another host.
    expect(
      production.filter((m) => m.kind === 'Ingress' && m.metadata.name.endsWith('-order-service')),
    ).toEqual([]);
  });
});

describe('Kafka security', () => {
  // Every workload that talks to Kafka, and the SCRAM user (ACL principal) it authenticates as.
  const kafkaClients: [string, string, string][] = [
    ['Deployment', '-gateway', 'paysync-receiver'],
    ['Deployment', '-order-service', 'paysync-orders'],
    ['Deployment', '-points-ledger', 'paysync-ledger'],
    ['Deployment', '-alerting', 'paysync-alerting'],
    ['Deployment', '-operator', 'paysync-operator'],
    ['CronJob', '-reconciler', 'paysync-reconciler'],
    ['CronJob', '-reconciler-bill', 'paysync-reconciler'],
  ];
  const component = (user: string) => user.replace(/^paysync-/, '');

  it.each(kafkaClients)(
    '%s *%s authenticates as its own user, its password a file from the Secret',
    (kind, suffix, user) => {
      const workload = one(production, kind, suffix);
      const env = envOf(containers(workload)[0]);
      expect(
        Object.fromEntries([...env].filter(([k]) => k.startsWith('KAFKA_') && k !== 'KAFKA_BROKERS')),
      ).toEqual({
        KAFKA_SECURITY_PROTOCOL: { name: 'KAFKA_SECURITY_PROTOCOL', value: 'SASL_SSL' },
        KAFKA_SASL_MECHANISM: { name: 'KAFKA_SASL_MECHANISM', value: 'scram-sha-512' },
        KAFKA_SASL_USERNAME: { name: 'KAFKA_SASL_USERNAME', value: user },
        KAFKA_SASL_PASSWORD_FILE: {
          name: 'KAFKA_SASL_PASSWORD_FILE',
          value: '/var/run/secrets/paysync/kafka-sasl/credential',
        },
        KAFKA_SSL_CA_FILE: { name: 'KAFKA_SSL_CA_FILE', value: '/var/run/secrets/paysync/kafka-ca/ca.crt' },
      });
      const spec = podSpecOf(workload);
      // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
      const volume = (name: string) => spec.volumes.find((v: any) => v.name === name);
      // Only the component's own password is in the pod.
      expect(volume('kafka-sasl').secret).toMatchObject({
        secretName: 'paysync-kafka-users',
        items: [{ key: component(user), path: 'credential' }],
      });
      expect(volume('kafka-ca').secret).toMatchObject({ secretName: 'paysync-kafka-cluster-ca-cert' });
      // biome-ignore lint/suspicious/noExplicitAny: mounts are read by path
      const mounts = containers(workload)[0].volumeMounts.map((m: any) => [m.name, m.mountPath, m.readOnly]);
      expect(mounts).toEqual(
        expect.arrayContaining([
          ['kafka-sasl', '/var/run/secrets/paysync/kafka-sasl', true],
          ['kafka-ca', '/var/run/secrets/paysync/kafka-ca', true],
        ]),
      );
    },
  );

  it.each(cases)(
    '%s gives each component its own Kafka user and no password in a plain env value',
    (_name, manifests) => {
      // Every sweep shard and the bill run are the reconciler; the public receiver (the gateway
      // Deployment) and the order service publish the same observations under two principals;
      // everyone else is on their own.
      const expected = (workload: string) =>
        `paysync-${
          /-reconciler(-bill|-\d+)?$/.test(workload)
            ? 'reconciler'
            : /-order-service$/.test(workload)
              ? 'orders'
              : /-gateway$/.test(workload)
                ? 'receiver'
                : workload.replace(/^.*-/, '')
        }`;
      for (const w of workloads(manifests)) {
        for (const c of containers(w)) {
          for (const [name, e] of envOf(c)) {
            if (/PASSWORD|SECRET|TOKEN/.test(name) && e.value !== undefined) expect(name).toMatch(/_FILE$/);
          }
          const user = envOf(c).get('KAFKA_SASL_USERNAME')?.value;
          if (!w.metadata.name.endsWith('-pushgateway')) expect(user).toBe(expected(w.metadata.name));
        }
      }
    },
  );

  it('renders PLAINTEXT without SASL or CA, and says so when production mode must accept it', () => {
    const plain = render({
      set: ['kafka.security.protocol=PLAINTEXT', 'kafka.security.allowPlaintext=true'],
    });
    const env = envOf(containers(one(plain, 'Deployment', '-gateway'))[0]);
    expect(env.get('KAFKA_SECURITY_PROTOCOL')?.value).toBe('PLAINTEXT');
    expect(env.get('KAFKA_ALLOW_PLAINTEXT')?.value).toBe('true');
    expect(env.has('KAFKA_SASL_USERNAME')).toBe(false);
    // biome-ignore lint/suspicious/noExplicitAny: volumes are read by path
    expect(podSpecOf(one(plain, 'Deployment', '-gateway')).volumes.map((v: any) => v.name)).not.toContain(
      'kafka-sasl',
    );
  });

  it('refuses SASL without a password Secret or a user', () => {
    const noSecret = helmTemplate({ set: ['kafka.security.passwordSecret.name='] });
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toContain('kafka.security.passwordSecret.name is required with SASL');
    const noUser = helmTemplate({ set: ['kafka.security.usernames.ledger='] });
    expect(noUser.code).not.toBe(0);
    expect(noUser.stderr).toContain('/kafka/security/usernames/ledger');
  });
});

describe('RBAC', () => {
  it('gives the operator exactly what it uses, in its namespace, and nothing to the others', () => {
    expect(byKind(defaults, 'ClusterRoleBinding')).toEqual([]);
    const roles = byKind(defaults, 'Role');
    expect(roles.map((r) => r.metadata.name)).toEqual(['paysync-operator']);
    const rules = (roles[0] as Manifest).rules as {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }[];
    expect(rules).toEqual([
      { apiGroups: ['paysync.io'], resources: ['paymentrepairs'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['paysync.io'], resources: ['paymentrepairs/status'], verbs: ['get', 'update', 'patch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['paysync-operator'],
        verbs: ['get', 'update'],
      },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
    ]);
    const binding = one(defaults, 'RoleBinding', 'paysync-operator');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'paysync-operator', namespace: 'paysync' },
    ]);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'paysync-operator',
    });
  });

  it('limits the Lease to the one the operator is told to use', () => {
    const role = one(sharded, 'Role', '-operator');
    // biome-ignore lint/suspicious/noExplicitAny: rules are read by path
    const named = role.rules.find((r: any) => r.resourceNames);
    expect(named.resourceNames).toEqual(['paysync-repairs']);
    const op = one(sharded, 'Deployment', '-operator');
    expect(envOf(containers(op)[0]).get('RECONCILER_OPERATOR_LEASE')?.value).toBe('paysync-repairs');
  });

  it('uses no wildcard anywhere', () => {
    for (const m of [...byKind(production, 'Role'), ...byKind(production, 'ClusterRole')]) {
      for (const rule of m.rules) {
        for (const field of ['apiGroups', 'resources', 'verbs']) expect(rule[field]).not.toContain('*');
      }
    }
  });

  it('aggregates PaymentRepair access into the built-in edit and view roles', () => {
    const edit = one(defaults, 'ClusterRole', 'paymentrepair-edit');
    expect(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-edit']).toBe('true');
    const view = one(defaults, 'ClusterRole', 'paymentrepair-view');
    expect(view.rules[0].verbs).toEqual(['get', 'list', 'watch']);
    expect(byKind(minimal, 'ClusterRole')).toEqual([]);
  });
});

describe('monitoring', () => {
  it("labels ServiceMonitors for kube-prometheus-stack's release selector", () => {
    for (const sm of byKind(defaults, 'ServiceMonitor')) {
      expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    }
    const custom = byKind(sharded, 'ServiceMonitor');
    expect(custom.length).toBe(6);
    for (const sm of custom) {
      expect(sm.metadata.labels).toMatchObject({ release: 'prom', team: 'payments' });
      const pushgateway = sm.metadata.name.endsWith('-pushgateway');
      expect(sm.spec.endpoints).toEqual([
        {
          port: 'metrics',
          path: '/metrics',
          interval: '15s',
          scrapeTimeout: '10s',
          // Fixed job names: the alert rules' up{job=…} find every component under them.
          relabelings: [{ targetLabel: 'job', replacement: expect.stringMatching(/^paysync-[a-z-]+$/) }],
          ...(pushgateway ? { honorLabels: true } : {}),
        },
      ]);
    }
  });

  it('points every ServiceMonitor at a Service with a metrics port and the same labels', () => {
    const services = byKind(defaults, 'Service');
    for (const sm of byKind(defaults, 'ServiceMonitor')) {
      const matching = services.filter((s) =>
        Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v),
      );
      expect([sm.metadata.name, matching.length]).toEqual([sm.metadata.name, 1]);
      // biome-ignore lint/suspicious/noExplicitAny: ports are read by path
      expect((matching[0] as Manifest).spec.ports.map((p: any) => p.name)).toContain('metrics');
    }
  });

  it('renders no ServiceMonitor when the Prometheus operator is not used', () => {
    expect(byKind(minimal, 'ServiceMonitor')).toEqual([]);
    expect(byKind(minimal, 'PrometheusRule')).toEqual([]);
  });
});

describe('network policies', () => {
  it('denies everything by default and opens what each component needs', () => {
    const deny = one(defaults, 'NetworkPolicy', '-default-deny');
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress).toBeUndefined();
    expect(deny.spec.egress).toBeUndefined();
    const gateway = one(defaults, 'NetworkPolicy', '-gateway');
    expect(gateway.spec.ingress[0]).toMatchObject({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
      ports: [{ port: 'http', protocol: 'TCP' }],
    });
    // biome-ignore lint/suspicious/noExplicitAny: rules are read by path
    const egressPorts = (np: Manifest) => np.spec.egress.flatMap((e: any) => e.ports.map((p: any) => p.port));
    // The receiver never calls WeChat Pay; the order service does, and only its clients reach it.
    expect(egressPorts(gateway)).toEqual(expect.arrayContaining([53, 9092, 3306]));
    expect(egressPorts(gateway)).not.toContain(443);
    const orders = one(defaults, 'NetworkPolicy', '-order-service');
    expect(egressPorts(orders)).toEqual(expect.arrayContaining([53, 9092, 3306, 443]));
    expect(orders.spec.ingress[0]).toMatchObject({
      from: [{ podSelector: { matchLabels: { 'paysync.io/order-api-client': 'true' } } }],
      ports: [{ port: 'http', protocol: 'TCP' }],
    });
    const reconciler = one(defaults, 'NetworkPolicy', '-reconciler');
    expect(reconciler.spec.ingress).toEqual([]);
    expect(egressPorts(reconciler)).toEqual(expect.arrayContaining([53, 9092, 3306, 443, 9091]));
    expect(egressPorts(one(defaults, 'NetworkPolicy', '-operator'))).toEqual(
      expect.arrayContaining([443, 6443]),
    );
    expect(egressPorts(one(defaults, 'NetworkPolicy', '-points-ledger'))).not.toContain(443);
  });
});

describe('gateway', () => {
  it('serves the notify URL over TLS on the public host and tells the services the same URL', () => {
    const ingress = one(production, 'Ingress', '-gateway');
    expect(ingress.spec.tls).toEqual([
      { hosts: ['pay.merchant.example.cn'], secretName: 'pay-merchant-tls' },
    ]);
    // biome-ignore lint/suspicious/noExplicitAny: paths are read by path
    const paths = ingress.spec.rules[0].http.paths.map((p: any) => p.path);
    expect(paths).toContain('/api/payment/wechat/callback');
    const url = 'https://pay.merchant.example.cn/api/payment/wechat/callback';
    expect(
      envOf(containers(one(production, 'Deployment', '-gateway'))[0]).get('WECHATPAY_NOTIFY_URL')?.value,
    ).toBe(url);
    expect(
      envOf(containers(one(production, 'CronJob', '-reconciler'))[0]).get('WECHATPAY_NOTIFY_URL')?.value,
    ).toBe(url);
  });

  it('scales with an HPA (no fixed replicas) and keeps one pod through disruptions', () => {
    const deployment = one(defaults, 'Deployment', '-gateway');
    expect(deployment.spec.replicas).toBeUndefined();
    expect(one(defaults, 'HorizontalPodAutoscaler', '-gateway').spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 10,
      scaleTargetRef: { kind: 'Deployment', name: 'paysync-gateway' },
    });
    expect(one(defaults, 'PodDisruptionBudget', '-gateway').spec.minAvailable).toBe(1);
    expect(one(minimal, 'Deployment', '-gateway').spec.replicas).toBe(1);
    expect(byKind(minimal, 'HorizontalPodAutoscaler')).toEqual([]);
  });
});
