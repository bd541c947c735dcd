import { dockerEngineAnswers, hostPort, infraCommand, localInfraEnv, portAnswers } from './infra.ts';

// Jest global setup for integration tests. Where MySQL and Kafka come from, in order:
//  1. MYSQL_URL and KAFKA_BROKERS in the environment (CI, `npm test`, a developer's own servers);
//  2. a Docker engine that answers: MySQL 8 and Apache Kafka started with testcontainers;
//  3. otherwise the local infrastructure (scripts/infra.ts): Debian's MariaDB and Kafka KRaft.
// Whatever this setup starts, the matching teardown stops.

type Started = { stop: () => Promise<void> };
const state = globalThis as typeof globalThis & { __paysyncStarted?: Started[] };

async function startWithTestcontainers(): Promise<void> {
  const { MySqlContainer } = await import('@testcontainers/mysql');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const mysql = await new MySqlContainer('mysql:8.4')
    .withDatabase('paysync')
    .withUsername('paysync')
    .withUserPassword('paysync')
    .withRootPassword('paysync-root')
    .start();
  const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
  // Tests create one database per file, so the test user needs the root grant here.
  process.env.MYSQL_URL = `mysql://root:paysync-root@${mysql.getHost()}:${mysql.getPort()}/paysync`;
  process.env.KAFKA_BROKERS = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
  state.__paysyncStarted = [
    { stop: async () => void (await kafka.stop()) },
    { stop: async () => void (await mysql.stop()) },
  ];
}

async function startLocalInfrastructure(): Promise<void> {
  const env = await localInfraEnv();
  const mysql = new URL(env.MYSQL_URL);
  const kafka = hostPort(env.KAFKA_BROKERS.split(',')[0] as string);
  const alreadyUp =
    (await portAnswers(mysql.hostname, Number(mysql.port))) && (await portAnswers(kafka.host, kafka.port));
  if (!alreadyUp) {
    process.stderr.write('\npaysync: starting local MariaDB and Kafka (scripts/infra.ts up)…\n');
    await infraCommand('up');
    if (process.env.PAYSYNC_KEEP_INFRA !== '1') {
      state.__paysyncStarted = [{ stop: async () => void (await infraCommand('down')) }];
    }
  }
  process.env.MYSQL_URL = env.MYSQL_URL;
  process.env.KAFKA_BROKERS = env.KAFKA_BROKERS;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.MYSQL_URL && process.env.KAFKA_BROKERS) return;
  if (await dockerEngineAnswers()) await startWithTestcontainers();
  else await startLocalInfrastructure();
}
