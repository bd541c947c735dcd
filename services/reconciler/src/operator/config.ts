import { hostname } from 'node:os';
import { ConfigError, durationMsFromEnv, loadConfig, portFromEnv } from '@paysync/config';
import { z } from 'zod';
import { loadReconcilerConfig, type ReconcilerConfig } from '../config.ts';

const dnsName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'expected a DNS subdomain name' })
  .max(253);

/** The operator's own settings; the WeChat Pay, MySQL and Kafka ones are the reconciler's (config.ts). */
export const operatorEnv = z.object({
  POD_NAMESPACE: dnsName.optional().describe('Set by the downward API: the namespace the operator runs in.'),
  POD_NAME: z.string().min(1).max(253).optional().describe('Set by the downward API: this replica’s name.'),
  RECONCILER_OPERATOR_NAMESPACE: dnsName
    .optional()
    .describe('Namespace whose PaymentRepairs are executed (default POD_NAMESPACE, else default).'),
  RECONCILER_OPERATOR_LEASE: dnsName
    .default('paysync-reconciler-operator')
    .describe('coordination.k8s.io Lease the replicas elect a leader on.'),
  RECONCILER_OPERATOR_IDENTITY: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .describe('This replica’s identity in the Lease (default POD_NAME, else the host name).'),
  RECONCILER_OPERATOR_LEASE_DURATION: durationMsFromEnv
    .default(15_000)
    .describe('How long a Lease not renewed keeps other replicas waiting.'),
  RECONCILER_OPERATOR_RENEW_DEADLINE: durationMsFromEnv
    .default(10_000)
    .describe('The leader gives up (and exits) when it could not renew for this long.'),
  RECONCILER_OPERATOR_RETRY_PERIOD: durationMsFromEnv
    .default(2000)
    .describe('How often the Lease is renewed, or tried by a waiting replica.'),
  RECONCILER_OPERATOR_LEDGER_WAIT: durationMsFromEnv
    .default(30_000)
    .describe('How long a repair waits for the ledger to apply what it published before reporting.'),
  RECONCILER_OPERATOR_RESYNC: durationMsFromEnv
    .default(60_000)
    .describe('Full re-list of PaymentRepairs, in case a watch event was missed.'),
  METRICS_HOST: z.string().default('0.0.0.0').describe('Address the ops server listens on.'),
  METRICS_PORT: portFromEnv.default(9464).describe('Port of /healthz, /readyz and /metrics.'),
});

export type OperatorSettings = {
  namespace: string;
  lease: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  ledgerWaitMs: number;
  resyncMs: number;
  metricsHost: string;
  metricsPort: number;
};

export type OperatorConfig = { reconciler: ReconcilerConfig; operator: OperatorSettings };

/** The reconciler's configuration plus the operator's; every problem reported at once. */
export function loadOperatorConfig(env: Record<string, string | undefined> = process.env): OperatorConfig {
  const parsed = loadConfig('reconciler operator', operatorEnv, env);
  const issues: { variable: string; message: string }[] = [];
  if (parsed.RECONCILER_OPERATOR_RENEW_DEADLINE >= parsed.RECONCILER_OPERATOR_LEASE_DURATION) {
    issues.push({
      variable: 'RECONCILER_OPERATOR_RENEW_DEADLINE',
      message: 'must be shorter than RECONCILER_OPERATOR_LEASE_DURATION, or two leaders could overlap',
    });
  }
  if (parsed.RECONCILER_OPERATOR_RETRY_PERIOD >= parsed.RECONCILER_OPERATOR_RENEW_DEADLINE) {
    issues.push({
      variable: 'RECONCILER_OPERATOR_RETRY_PERIOD',
      message: 'must be shorter than RECONCILER_OPERATOR_RENEW_DEADLINE',
    });
  }
  if (issues.length > 0) throw new ConfigError('reconciler operator', issues);
  const reconciler = loadReconcilerConfig(env);
  return {
    reconciler,
    operator: {
      namespace: parsed.RECONCILER_OPERATOR_NAMESPACE ?? parsed.POD_NAMESPACE ?? 'default',
      lease: parsed.RECONCILER_OPERATOR_LEASE,
      identity: parsed.RECONCILER_OPERATOR_IDENTITY ?? parsed.POD_NAME ?? hostname(),
      leaseDurationMs: parsed.RECONCILER_OPERATOR_LEASE_DURATION,
      renewDeadlineMs: parsed.RECONCILER_OPERATOR_RENEW_DEADLINE,
      retryPeriodMs: parsed.RECONCILER_OPERATOR_RETRY_PERIOD,
      ledgerWaitMs: parsed.RECONCILER_OPERATOR_LEDGER_WAIT,
      resyncMs: parsed.RECONCILER_OPERATOR_RESYNC,
      metricsHost: parsed.METRICS_HOST,
      metricsPort: parsed.METRICS_PORT,
    },
  };
}
