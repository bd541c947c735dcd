// The local stack as one object: the database migrated, the topics there, the WeChat Pay sandbox,
// the edge split as in production (the public notification receiver and the private order
// service, two processes), the points-ledger, the alerting service with its local sinks, the reconciler sweep
// on a schedule, Prometheus, Alertmanager and the Pushgateway — each supervised, all on loopback.
// `npm start` runs it for people; the demo, the whole-stack fault suite and the end-to-end
// benchmark run the parts they need.
import { mkdir } from 'node:fs/promises';
import { topicNames } from '@paysync/contracts';
import { createPool, migrateUp } from '@paysync/db';
import { createKafka, ensureTopics } from '@paysync/kafka';
import type { TestMerchant } from '@paysync/wechatpay-sandbox';
import { createStackAccounts, type StackAccountName, type StackAccounts } from './accounts.ts';
import { CALLBACK_PATH, HOST, type Ports } from './config.ts';
import { StackError } from './errors.ts';
import { ScheduledJob } from './job.ts';
import type { CombinedLog } from './log.ts';
import { type ProcessSpec, SupervisedProcess } from './process.ts';
import { waitFor, waitReady } from './readiness.ts';
import { type StackSecrets, writeSecrets } from './secrets.ts';
import {
  alertingProcess,
  ledgerProcess,
  ordersProcess,
  receiverProcess,
  type ServiceContext,
  sandboxProcess,
  sweepJob,
  wechatEnv,
} from './services.ts';
import type { Sinks } from './sinks.ts';
import { killLeftovers, pidTracker } from './state.ts';

/** `gateway` is the edge: the receiver (process `gateway`) and the order service (process `orders`). */
export type Component = 'sandbox' | 'gateway' | 'ledger' | 'alerting' | 'reconciler' | 'monitoring';
export const ALL_COMPONENTS: readonly Component[] = [
  'sandbox',
  'gateway',
  'ledger',
  'alerting',
  'reconciler',
  'monitoring',
];

export type StackOptions = {
  /** Configuration, secrets, logs and data of this stack (also the marker its processes carry). */
  dir: string;
  ports: Ports;
  /** An administrator: migrates, and creates each process's own database user. */
  mysqlUrl: string;
  kafkaBrokers: readonly string[];
  topicPrefix?: string;
  components: readonly Component[];
  /** A sandbox that already runs (in-process, in tests and benchmarks) instead of the sandbox process. */
  sandbox?: { url: string; merchant: TestMerchant };
  /** The notify URL the gateway sends with prepay (default: its own loopback callback URL). */
  notifyUrl?: string;
  timeScale?: number;
  sweepEveryMs?: number;
  /** Start the sweep schedule (default true); without it, sweeps run only through `sweep.runNow()`. */
  schedule?: boolean;
  logLevel?: string;
  log: CombinedLog;
  env?: {
    /** The receiver's extra environment. */
    gateway?: Record<string, string>;
    /** The order service's. */
    orders?: Record<string, string>;
    ledger?: Record<string, string>;
    reconciler?: Record<string, string>;
  };
};

export type Stack = {
  ports: Ports;
  urls: Record<string, string>;
  notifyUrl: string;
  secrets: StackSecrets;
  marker: string;
  processes: SupervisedProcess[];
  process(name: string): SupervisedProcess;
  sweep: ScheduledJob | undefined;
  sinks: Sinks | undefined;
  /** Settings for payctl and a shell (no secret values: key files are paths). */
  operatorEnv: Record<string, string>;
  /** Resolves once every process answers its health check (and a sweep succeeded). */
  waitReady(opts?: { timeoutMs?: number; onWaiting?: (pending: string[]) => void }): Promise<void>;
  stop(): Promise<void>;
};

async function prepareDatabaseAndTopics(opts: StackOptions): Promise<void> {
  const pool = createPool({ url: opts.mysqlUrl, connectionLimit: 2 });
  try {
    await migrateUp(pool);
  } finally {
    await pool.end();
  }
  const admin = createKafka({ brokers: opts.kafkaBrokers, clientId: 'paysync-start' }).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, { topics: Object.values(topicNames(opts.topicPrefix)) });
  } finally {
    await admin.disconnect();
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const has = (c: Component) => opts.components.includes(c);
  const { log, ports } = opts;
  await mkdir(opts.dir, { recursive: true });
  const marker = opts.dir;
  const tracker = pidTracker(opts.dir);
  const processes: SupervisedProcess[] = [];
  let sweep: ScheduledJob | undefined;
  let sinks: Sinks | undefined;
  let accounts: StackAccounts | undefined;

  const stop = async () => {
    await sweep?.stop();
    const byName = (names: string[]) => processes.filter((p) => names.includes(p.name));
    const rest = processes.filter((p) => !['gateway', 'orders', 'ledger', 'alerting'].includes(p.name));
    // The edge first (no new work), then the consumers (they commit), then what they talk to.
    await Promise.all(byName(['gateway', 'orders']).map((p) => p.stop()));
    await Promise.all(byName(['ledger', 'alerting']).map((p) => p.stop()));
    await Promise.all(rest.map((p) => p.stop()));
    await sinks?.close();
    const left = killLeftovers(marker);
    if (left.length > 0)
      log.note('supervisor', `killed ${left.length} leftover process(es): ${left.join(', ')}`, 'warn');
    await accounts?.drop();
  };

  try {
    const secrets = await writeSecrets(opts.dir, opts.sandbox?.merchant);
    log.note('supervisor', 'migrating the database and checking the Kafka topics…');
    await prepareDatabaseAndTopics(opts);
    const wanted: StackAccountName[] = [
      ...(has('gateway') ? (['receiver', 'orders'] as const) : []),
      ...(has('ledger') ? (['ledger'] as const) : []),
      ...(has('alerting') ? (['alerting'] as const) : []),
      ...(has('reconciler') ? (['reconciler'] as const) : []),
    ];
    accounts = await createStackAccounts({
      adminUrl: opts.mysqlUrl,
      dir: opts.dir,
      secretsDir: secrets.files.dir,
      components: wanted,
    });
    log.note('supervisor', `database users with their production grants: ${wanted.join(', ')}`);

    const url = (port: number) => `http://${HOST}:${port}`;
    const sandboxUrl = opts.sandbox?.url ?? url(ports.sandbox);
    const notifyUrl = opts.notifyUrl ?? `${url(ports.gateway)}${CALLBACK_PATH}`;
    const ctx: ServiceContext = {
      dir: opts.dir,
      ports,
      accounts: accounts.accounts,
      kafkaBrokers: opts.kafkaBrokers,
      topicPrefix: opts.topicPrefix,
      logLevel: opts.logLevel ?? 'info',
      secrets,
      sandboxUrl,
      notifyUrl,
      marker,
    };
    const add = (spec: ProcessSpec) => {
      // Every process carries the marker, so whatever outlives a killed supervisor is found again.
      const p = new SupervisedProcess(
        { ...spec, env: { PAYSYNC_STACK_DIR: marker, ...spec.env } },
        log,
        tracker,
      );
      processes.push(p);
      p.start();
      return p;
    };

    if (has('sandbox') && !opts.sandbox) {
      const sandbox = add(sandboxProcess(ctx, opts.timeScale ?? 0.01));
      // The gateway downloads its verification certificates from the sandbox at start.
      await waitFor([sandbox], 60_000, log);
    }
    if (has('alerting')) {
      // Loaded only when wanted: stacks without alerting (tests, benchmarks) need no SMTP server.
      const { startSinks } = await import('./sinks.ts');
      sinks = await startSinks(log, {
        smtpPort: ports.smtp,
        robotsPort: ports.robots,
        dingtalk: secrets.dingtalk,
        wecomKey: secrets.wecomKey,
      });
    }
    // The order service archives the platform certificates the receiver verifies with.
    const orders = has('gateway') ? add(ordersProcess(ctx, opts.env?.orders)) : undefined;
    const gateway = has('gateway') ? add(receiverProcess(ctx, opts.env?.gateway)) : undefined;
    if (has('ledger')) add(ledgerProcess(ctx, opts.env?.ledger));
    if (has('alerting') && sinks) add(await alertingProcess(ctx, sinks));
    if (has('monitoring')) {
      const scrape: Record<string, number> = {};
      if (has('gateway')) {
        scrape['paysync-callback-gateway'] = ports.gatewayOps;
        scrape['paysync-order-service'] = ports.ordersOps;
      }
      if (has('ledger')) scrape['paysync-points-ledger'] = ports.ledgerOps;
      if (has('alerting')) scrape['paysync-alerting'] = ports.alertingOps;
      const { monitoringProcesses } = await import('./monitoring.ts');
      const specs = await monitoringProcesses({
        dir: opts.dir,
        ports,
        scrape,
        alertingWebhookUrl: `${url(ports.alerting)}/alertmanager`,
        webhookTokenFile: secrets.files.webhookToken,
      });
      for (const spec of specs) add(spec);
    }
    if (has('reconciler')) {
      sweep = new ScheduledJob(
        sweepJob(ctx, {
          everyMs: opts.sweepEveryMs ?? 15_000,
          pushgatewayUrl: has('monitoring') ? url(ports.pushgateway) : undefined,
          extra: opts.env?.reconciler,
        }),
        log,
        tracker,
      );
      if (opts.schedule !== false) {
        // Its first notify-URL probe would find nothing listening before the gateway is up.
        if (gateway && orders) await waitFor([gateway, orders], 90_000, log);
        sweep.start();
      }
    }

    const urls: Record<string, string> = {
      gateway: url(ports.gateway),
      gatewayMetrics: `${url(ports.gatewayOps)}/metrics`,
      orders: url(ports.orders),
      ordersMetrics: `${url(ports.ordersOps)}/metrics`,
      ledgerMetrics: `${url(ports.ledgerOps)}/metrics`,
      sandbox: sandboxUrl,
    };
    if (has('alerting')) {
      urls.alertingWebhook = `${url(ports.alerting)}/alertmanager`;
      urls.alertingMetrics = `${url(ports.alertingOps)}/metrics`;
    }
    if (has('monitoring')) {
      urls.prometheus = url(ports.prometheus);
      urls.alertmanager = url(ports.alertmanager);
      urls.pushgateway = url(ports.pushgateway);
    }

    const operatorEnv: Record<string, string> = {
      MYSQL_URL: opts.mysqlUrl,
      KAFKA_BROKERS: opts.kafkaBrokers.join(','),
      ...(opts.topicPrefix ? { KAFKA_TOPIC_PREFIX: opts.topicPrefix } : {}),
      ...wechatEnv(ctx),
      PAYSYNC_GATEWAY_URL: urls.gateway as string,
      PAYSYNC_ORDERS_URL: urls.orders as string,
      PAYSYNC_SANDBOX_URL: sandboxUrl,
      PAYSYNC_API_TOKEN_FILE: secrets.files.apiToken,
    };

    const stack: Stack = {
      ports,
      urls,
      notifyUrl,
      secrets,
      marker,
      processes,
      process(name) {
        const p = processes.find((x) => x.name === name);
        if (!p) throw new StackError('NOT_RUNNING', `no process named ${name} in this stack`);
        return p;
      },
      sweep,
      sinks,
      operatorEnv,
      waitReady: (o = {}) => waitReady(stack, log, has('monitoring') ? url(ports.prometheus) : undefined, o),
      stop,
    };
    return stack;
  } catch (err) {
    await stop();
    throw err;
  }
}
