// Prometheus, Alertmanager and the Pushgateway for the local stack: Debian's binaries (linked into
// .cache/bin by `scripts/infra.ts tools`), configured from the files the Helm chart ships — the
// rules as they are but for the operator's (the local stack runs none), Alertmanager's example
// routing pointed at the local alerting service and mail sink, with second-scale grouping so an
// alert leaves within seconds.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BIN_DIR, HOST, MONITORING, type Ports } from './config.ts';
import { StackError } from './errors.ts';
import type { ProcessSpec } from './process.ts';

export function tool(name: 'prometheus' | 'alertmanager' | 'prometheus-pushgateway'): string {
  const path = join(BIN_DIR, name);
  if (!existsSync(path)) {
    throw new StackError(
      'TOOL_MISSING',
      `${path} is missing: run \`npm run infra -- tools\` (Debian's ${name})`,
    );
  }
  return path;
}

function monitoringFile(path: string): string {
  if (!existsSync(path)) {
    throw new StackError(
      'MISSING_PART',
      `${path} is missing: the monitoring files (charts/paysync/files/monitoring) are not in this checkout`,
    );
  }
  return path;
}

/** Alerts about the PaymentRepair operator, which runs only in Kubernetes. */
export const OPERATOR_ALERTS = [
  'PaysyncOperatorDown',
  'PaysyncOperatorNoLeader',
  'PaysyncPaymentRepairFailed',
];

/**
 * Alerts of components the local stack does not run on their own: the operator, and the order
 * service (one gateway process there serves the order API and the notifications: GATEWAY_ROLE=all).
 */
export const LOCAL_STACK_LEFT_OUT = [...OPERATOR_ALERTS, 'PaysyncOrderServiceDown'];

export type RulesDoc = { groups: { name: string; rules: { alert?: string; for?: string }[] }[] };

/**
 * The chart's rules without the alerts of components a stack does not run, as the chart leaves
 * them out of a release that disables those components.
 */
export async function rulesWithout(alerts: readonly string[]): Promise<RulesDoc> {
  const doc = parse(await readFile(monitoringFile(MONITORING.rules), 'utf8')) as RulesDoc;
  for (const g of doc.groups) g.rules = g.rules.filter((r) => !alerts.includes(r.alert ?? ''));
  return doc;
}

type AlertmanagerDoc = {
  global: Record<string, unknown>;
  route: Record<string, unknown>;
  receivers: {
    name: string;
    webhook_configs?: { url: string; http_config?: { authorization?: { credentials_file?: string } } }[];
    email_configs?: Record<string, unknown>[];
  }[];
};

/** The chart's example configuration, made to run here. */
export async function alertmanagerConfig(opts: {
  webhookUrl: string;
  tokenFile: string;
  smtpPort: number;
}): Promise<string> {
  const doc = parse(
    await readFile(monitoringFile(MONITORING.alertmanagerExample), 'utf8'),
  ) as AlertmanagerDoc;
  // The local mail sink: plain SMTP, no authentication.
  for (const key of Object.keys(doc.global)) if (key.startsWith('smtp_auth_')) delete doc.global[key];
  Object.assign(doc.global, { smtp_smarthost: `${HOST}:${opts.smtpPort}`, smtp_require_tls: false });
  Object.assign(doc.route, { group_wait: '5s', group_interval: '30s' });
  const webhook = doc.receivers.find((r) => r.name === 'paysync-alerting')?.webhook_configs?.[0];
  if (!webhook?.http_config?.authorization) {
    throw new StackError(
      'MISSING_PART',
      `${MONITORING.alertmanagerExample} has no paysync-alerting webhook receiver`,
    );
  }
  webhook.url = opts.webhookUrl;
  webhook.http_config.authorization.credentials_file = opts.tokenFile;
  return stringify(doc);
}

export function prometheusConfig(opts: {
  ports: Ports;
  scrape: Record<string, number>;
  rulesFile: string;
}): string {
  const at = (port: number) => [`${HOST}:${port}`];
  return stringify({
    global: { scrape_interval: '5s', scrape_timeout: '4s', evaluation_interval: '5s' },
    rule_files: [opts.rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: at(opts.ports.alertmanager) }] }] },
    scrape_configs: [
      ...Object.entries(opts.scrape).map(([job, port]) => ({
        job_name: job,
        static_configs: [{ targets: at(port) }],
      })),
      // The reconciler's run metrics keep their own job and shard labels.
      {
        job_name: 'pushgateway',
        honor_labels: true,
        static_configs: [{ targets: at(opts.ports.pushgateway) }],
      },
      { job_name: 'prometheus', static_configs: [{ targets: at(opts.ports.prometheus) }] },
      { job_name: 'alertmanager', static_configs: [{ targets: at(opts.ports.alertmanager) }] },
    ],
  });
}

/** Writes the configurations under `<dir>/monitoring` and returns the three processes. */
export async function monitoringProcesses(opts: {
  dir: string;
  ports: Ports;
  scrape: Record<string, number>;
  alertingWebhookUrl: string;
  webhookTokenFile: string;
}): Promise<ProcessSpec[]> {
  const dir = join(opts.dir, 'monitoring');
  await mkdir(join(dir, 'prometheus-data'), { recursive: true });
  await mkdir(join(dir, 'alertmanager-data'), { recursive: true });
  const promConfig = join(dir, 'prometheus.yml');
  const amConfig = join(dir, 'alertmanager.yml');
  const rulesFile = join(dir, 'paysync.rules.yaml');
  await writeFile(rulesFile, stringify(await rulesWithout(LOCAL_STACK_LEFT_OUT)));
  await writeFile(promConfig, prometheusConfig({ ...opts, rulesFile }));
  await writeFile(
    amConfig,
    await alertmanagerConfig({
      webhookUrl: opts.alertingWebhookUrl,
      tokenFile: opts.webhookTokenFile,
      smtpPort: opts.ports.smtp,
    }),
  );
  const { ports } = opts;
  const url = (port: number) => `http://${HOST}:${port}`;
  return [
    {
      name: 'pushgateway',
      command: tool('prometheus-pushgateway'),
      // Debian's build persists to /var/lib by default: this one keeps its metrics in memory.
      args: [`--web.listen-address=${HOST}:${ports.pushgateway}`, '--persistence.file='],
      env: {},
      health: `${url(ports.pushgateway)}/-/ready`,
    },
    {
      name: 'alertmanager',
      command: tool('alertmanager'),
      args: [
        `--config.file=${amConfig}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=${HOST}:${ports.alertmanager}`,
        `--web.external-url=${url(ports.alertmanager)}`,
        '--cluster.listen-address=', // one instance, no gossip port
      ],
      env: {},
      health: `${url(ports.alertmanager)}/-/ready`,
    },
    {
      name: 'prometheus',
      command: tool('prometheus'),
      args: [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        '--storage.tsdb.retention.time=1d',
        `--web.listen-address=${HOST}:${ports.prometheus}`,
        `--web.external-url=${url(ports.prometheus)}`,
      ],
      env: {},
      health: `${url(ports.prometheus)}/-/ready`,
    },
  ];
}
