import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '@paysync/testkit';
import { parse, stringify } from 'yaml';
import { LOCAL_STACK_LEFT_OUT, rulesWithout } from '../../scripts/start/monitoring.ts';
import { ALERTMANAGER_FILE, tool } from '../../services/alerting/test/monitoring/files.ts';
import { freePort, type Proc, startProcess } from './processes.ts';

// Debian's Prometheus, Alertmanager and Pushgateway, started by the test on free loopback ports with
// data directories of their own, and stopped by it.

async function waitReady(url: string, what: string): Promise<void> {
  await eventually(
    `${what} to be ready`,
    async () => {
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

export type Server = { url: string; proc: Proc };

export async function startPushgateway(): Promise<Server> {
  const port = await freePort();
  const { proc } = await startProcess('pushgateway', tool('prometheus-pushgateway'), [
    `--web.listen-address=127.0.0.1:${port}`,
    // Debian's build persists to /var/lib by default: keep this one in memory.
    '--persistence.file=',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 'the Pushgateway').catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return { url, proc };
}

/**
 * The example Alertmanager configuration, made to run here: the alerting service's URL, the test
 * SMTP server, and second-scale grouping so a notification leaves within seconds.
 */
export async function alertmanagerConfig(opts: {
  webhookUrl: string;
  tokenFile: string;
  smtp: { host: string; port: number; user: string; passwordFile: string };
}): Promise<string> {
  const config = parse(await readFile(ALERTMANAGER_FILE, 'utf8')) as {
    global: Record<string, unknown>;
    route: Record<string, unknown>;
    receivers: {
      name: string;
      webhook_configs?: { url: string; http_config: { authorization: { credentials_file: string } } }[];
    }[];
  };
  Object.assign(config.global, {
    smtp_smarthost: `${opts.smtp.host}:${opts.smtp.port}`,
    smtp_auth_username: opts.smtp.user,
    smtp_auth_password_file: opts.smtp.passwordFile,
    smtp_require_tls: false,
  });
  Object.assign(config.route, { group_wait: '1s', group_interval: '1s', repeat_interval: '1h' });
  const webhook = config.receivers.find((r) => r.name === 'paysync-alerting')?.webhook_configs?.[0];
  if (!webhook) throw new Error('the example has no paysync-alerting webhook receiver');
  webhook.url = opts.webhookUrl;
  webhook.http_config.authorization.credentials_file = opts.tokenFile;
  return stringify(config);
}

export async function startAlertmanager(dir: string, configYaml: string): Promise<Server> {
  await mkdir(join(dir, 'alertmanager-data'), { recursive: true });
  const configFile = join(dir, 'alertmanager.yaml');
  await writeFile(configFile, configYaml);
  const port = await freePort();
  const { proc } = await startProcess('alertmanager', tool('alertmanager'), [
    `--config.file=${configFile}`,
    `--storage.path=${join(dir, 'alertmanager-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // No cluster: nothing listens on 9094, and a single instance needs no gossip settle time.
    '--cluster.listen-address=',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 'Alertmanager').catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return { url, proc };
}

/**
 * The rules with every `for` at 0s (a test cannot wait minutes), and without the alerts of the
 * operator and of a separate order service (the test stack runs neither), as the local stack loads them.
 */
export async function rulesForTest(): Promise<string> {
  const doc = await rulesWithout(LOCAL_STACK_LEFT_OUT);
  for (const g of doc.groups) for (const r of g.rules) if (r.for) r.for = '0s';
  return stringify(doc);
}

export async function startPrometheus(
  dir: string,
  opts: { targets: Record<string, string>; pushgateway: string; alertmanager: string },
): Promise<Server> {
  await mkdir(join(dir, 'prometheus-data'), { recursive: true });
  const rulesFile = join(dir, 'paysync.rules.yaml');
  await writeFile(rulesFile, await rulesForTest());
  const host = (url: string) => new URL(url).host;
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: [rulesFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [host(opts.alertmanager)] }] }] },
    scrape_configs: [
      ...Object.entries(opts.targets).map(([job, url]) => ({
        job_name: job,
        static_configs: [{ targets: [host(url)] }],
      })),
      {
        job_name: 'pushgateway',
        honor_labels: true,
        static_configs: [{ targets: [host(opts.pushgateway)] }],
      },
    ],
  };
  const configFile = join(dir, 'prometheus.yaml');
  await writeFile(configFile, stringify(config));
  const port = await freePort();
  const { proc } = await startProcess('prometheus', tool('prometheus'), [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(url, 'Prometheus').catch(async (err) => {
    await proc.stop();
    throw err;
  });
  return { url, proc };
}

export type Sample = { metric: Record<string, string>; value: [number, string] };

/** An instant query; throws on an error answer (a parse error, for example). */
export async function query(prometheus: string, expr: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: Sample[] };
  };
  if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? res.status}: ${expr}`);
  return body.data?.resultType === 'vector' ? (body.data.result ?? []) : [];
}
