#!/usr/bin/env node
// Applies paysync's per-component Kafka ACLs (packages/kafka/src/acls.ts, the table in
// docs/operations.md) to a cluster whose authorizer is on: one principal per component.
//
//   node scripts/kafka/acls.ts [--dry-run]
//
// The admin's own connection comes from the services' variables (KAFKA_BROKERS,
// KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE, KAFKA_SSL_CA_FILE, …);
// it must be allowed to alter ACLs. The principals are User:<name> with the names of
// PAYSYNC_KAFKA_PRINCIPALS (`orders=paysync-orders,ledger=…`; every component defaults to
// paysync-<component>), the topics those of KAFKA_TOPIC_PREFIX, the groups LEDGER_GROUP_ID and
// ALERTING_GROUP_ID (as the services default them). ACLs are only added, never removed.
import { brokerListFromEnv, ConfigError, loadConfig } from '@paysync/config';
import { topicNames } from '@paysync/contracts';
import {
  type AclGrant,
  aclEntries,
  createKafka,
  DEFAULT_KAFKA_GROUPS,
  KAFKA_COMPONENTS,
  type KafkaComponent,
  kafkaGrants,
  kafkaSecurityEnvShape,
  loadKafkaSecurity,
} from '@paysync/kafka';
import { z } from 'zod';

const env = z.object({
  KAFKA_BROKERS: brokerListFromEnv.describe('Kafka bootstrap brokers, comma-separated host:port.'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,100}$/)
    .optional(),
  ...kafkaSecurityEnvShape,
  PAYSYNC_KAFKA_PRINCIPALS: z.string().optional(),
  LEDGER_GROUP_ID: z.string().min(1).default(DEFAULT_KAFKA_GROUPS.ledger),
  ALERTING_GROUP_ID: z.string().min(1).default(DEFAULT_KAFKA_GROUPS.alerting),
});

/** `orders=a,ledger=b` over the defaults paysync-<component>. */
export function principalNames(spec: string | undefined): Record<KafkaComponent, string> {
  const names = Object.fromEntries(KAFKA_COMPONENTS.map((c) => [c, `paysync-${c}`])) as Record<
    KafkaComponent,
    string
  >;
  for (const item of (spec ?? '').split(',').filter((s) => s.trim() !== '')) {
    const [component, name] = item.split('=').map((s) => s.trim());
    if (!KAFKA_COMPONENTS.includes(component as KafkaComponent) || !name) {
      throw new ConfigError('kafka-acls', [
        {
          variable: 'PAYSYNC_KAFKA_PRINCIPALS',
          message: `expected <component>=<user>, components: ${KAFKA_COMPONENTS.join(', ')}`,
        },
      ]);
    }
    names[component as KafkaComponent] = name;
  }
  return names;
}

function describe(user: string, g: AclGrant): string {
  const name = g.prefixed ? `${g.name}*` : g.name;
  return `User:${user}  ${g.operations.join(',')}  ${g.resource} ${name}`;
}

async function main(argv: string[]): Promise<void> {
  const dryRun = argv.includes('--dry-run');
  const config = loadConfig('kafka-acls', env);
  const security = loadKafkaSecurity('kafka-acls', config);
  const principals = principalNames(config.PAYSYNC_KAFKA_PRINCIPALS);
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const groups = { ledger: config.LEDGER_GROUP_ID, alerting: config.ALERTING_GROUP_ID };
  const plan = KAFKA_COMPONENTS.map((c) => ({ user: principals[c], grants: kafkaGrants(c, topics, groups) }));
  for (const { user, grants } of plan) for (const g of grants) process.stdout.write(`${describe(user, g)}\n`);
  if (dryRun) return;
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: 'paysync-kafka-acls',
    ...security,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: plan.flatMap(({ user, grants }) => aclEntries(user, grants)) });
  } finally {
    await admin.disconnect();
  }
  process.stdout.write(`applied the ACLs of ${plan.length} principals\n`);
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
