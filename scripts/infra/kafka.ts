import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { javaMajor } from './apt.ts';
import { type Config, HOST, kafkaVersion, PATHS, rel } from './config.ts';
import { InfraError } from './errors.ts';
import { progress, seconds } from './log.ts';
import { kafkaAnswers } from './net.ts';
import { runLogged, spawnDaemon, writePid } from './proc.ts';
import { assertPortsFree, awaitStart, runningPid, type Server, waitReady } from './server.ts';
import { ensureKafkaTls } from './tls.ts';

const SERVER_PROPERTIES = join(PATHS.kafkaHome, 'server.properties');
const LOG4J2_PROPERTIES = join(PATHS.kafkaHome, 'log4j2.properties');
const CLUSTER_ID_FILE = join(PATHS.kafkaHome, 'cluster.id');
const STDOUT_LOG = join(PATHS.logs, 'kafka.stdout.log');
const SCRAM_LOGIN_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';

export const KAFKA: Server = {
  name: 'kafka',
  title: 'Kafka',
  pidFile: join(PATHS.run, 'kafka.pid'),
  logFile: join(PATHS.logs, 'kafka.log'),
  marker: SERVER_PROPERTIES,
  ports: (config) => [
    config.kafkaPort,
    config.kafkaControllerPort,
    config.kafkaSaslPort,
    config.kafkaSslPort,
  ],
  stopGraceMs: 60_000,
};

export function libsDir(version = kafkaVersion()): string {
  return join(PATHS.kafkaHome, version, 'libs');
}

/** Resolves the broker's jars with Maven once per pom content; later runs only compare a hash. */
export async function ensureKafkaJars(): Promise<string> {
  const version = kafkaVersion();
  const libs = libsDir(version);
  const pomHash = createHash('sha256').update(readFileSync(PATHS.kafkaPom)).digest('hex');
  const stamp = join(PATHS.kafkaHome, version, 'pom.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === pomHash && existsSync(libs)) return libs;
  const tmp = `${libs}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const logFile = join(PATHS.logs, 'mvn.log');
  const started = Date.now();
  progress(`Kafka: resolving Apache Kafka ${version} jars from Maven Central (mvn; log: ${rel(logFile)})…`);
  await runLogged(
    'mvn dependency:copy-dependencies',
    'mvn',
    [
      '-B',
      '--no-transfer-progress',
      '-Dstyle.color=never',
      '-f',
      PATHS.kafkaPom,
      `-Dmaven.repo.local=${PATHS.m2}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    ],
    logFile,
  );
  rmSync(libs, { recursive: true, force: true });
  renameSync(tmp, libs);
  writeFileSync(stamp, `${pomHash}\n`);
  progress(`Kafka: jars resolved in ${seconds(Date.now() - started)}`);
  return libs;
}

function writeConfig(config: Config): void {
  mkdirSync(PATHS.kafkaHome, { recursive: true });
  const tls = ensureKafkaTls();
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${config.kafkaControllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${config.kafkaPort},SASL_PLAINTEXT://${HOST}:${config.kafkaSaslPort},SASL_SSL://${HOST}:${config.kafkaSslPort},CONTROLLER://${HOST}:${config.kafkaControllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${config.kafkaPort},SASL_PLAINTEXT://${HOST}:${config.kafkaSaslPort},SASL_SSL://${HOST}:${config.kafkaSslPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map':
      'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    // ACLs as in production, on the SASL listener: clients there authenticate with SCRAM as
    // User:<name> and get what the ACLs grant. Whatever connects without SASL (the PLAINTEXT
    // listener every other test uses, the controller) is User:ANONYMOUS, a super user.
    'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': `${SCRAM_LOGIN_MODULE} required;`,
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': `${SCRAM_LOGIN_MODULE} required;`,
    // The same SCRAM users over TLS: the broker's key and chain as a PEM key store, signed by the
    // local CA clients trust with KAFKA_SSL_CA_FILE (scripts/infra/tls.ts).
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': `${SCRAM_LOGIN_MODULE} required;`,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `${SCRAM_LOGIN_MODULE} required;`,
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': tls.keyStoreFile,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:ANONYMOUS',
    'allow.everyone.if.no.acl.found': 'false',
    'log.dirs': PATHS.kafkaData,
    'num.partitions': String(config.kafkaPartitions),
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'log.retention.hours': '168',
    'log.segment.bytes': String(64 * 1024 * 1024),
  };
  const text = Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  writeFileSync(SERVER_PROPERTIES, `# written by scripts/infra.ts up; edits are overwritten\n${text}\n`);
  writeFileSync(
    LOG4J2_PROPERTIES,
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${KAFKA.logFile}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.file.ref = file',
      'logger.kafka.name = org.apache.kafka',
      'logger.kafka.level = INFO',
      '',
    ].join('\n'),
  );
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function javaArgs(libs: string, main: string, heap: string[]): string[] {
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J2_PROPERTIES}`,
    '-cp',
    join(libs, '*'),
    main,
  ];
}

/** Formats the KRaft storage once, with a cluster id kept in the cache. */
async function formatStorage(libs: string): Promise<void> {
  if (existsSync(join(PATHS.kafkaData, 'meta.properties'))) return;
  // Without meta.properties the directory was never formatted completely: start it afresh.
  rmSync(PATHS.kafkaData, { recursive: true, force: true });
  mkdirSync(PATHS.kafkaData, { recursive: true });
  if (!existsSync(CLUSTER_ID_FILE)) writeFileSync(CLUSTER_ID_FILE, `${newClusterId()}\n`);
  const clusterId = readFileSync(CLUSTER_ID_FILE, 'utf8').trim();
  progress(`Kafka: formatting KRaft storage ${rel(PATHS.kafkaData)} (cluster id ${clusterId})…`);
  await runLogged(
    'kafka storage format',
    'java',
    [
      ...javaArgs(libs, 'kafka.tools.StorageTool', ['-Xmx256m']),
      'format',
      '--cluster-id',
      clusterId,
      '--config',
      SERVER_PROPERTIES,
      '--ignore-formatted',
    ],
    join(PATHS.logs, 'kafka-format.log'),
  );
}

/** Starts Kafka unless it already runs; returns its pid and whether this call started it. */
export async function upKafka(config: Config, libs: string): Promise<{ pid: number; started: boolean }> {
  const address = `${HOST}:${config.kafkaPort}`;
  let pid = runningPid(KAFKA);
  const started = pid === undefined;
  if (pid === undefined) {
    const java = await javaMajor();
    if (java < 17)
      throw new InfraError(
        'NO_JAVA',
        `Kafka ${kafkaVersion()} needs Java 17 or newer on PATH; found ${java || 'none'}`,
      );
    writeConfig(config);
    await formatStorage(libs);
    await assertPortsFree(KAFKA, config);
    progress(`Kafka: starting ${kafkaVersion()} (KRaft, broker+controller) on ${address}…`);
    pid = spawnDaemon(
      'java',
      [...javaArgs(libs, 'kafka.Kafka', ['-Xms256m', '-Xmx512m']), SERVER_PROPERTIES],
      STDOUT_LOG,
    );
    writePid(KAFKA.pidFile, pid);
  } else {
    progress(`Kafka: already running (pid ${pid})`);
  }
  const serverPid = pid;
  await awaitStart(KAFKA, started, () =>
    waitReady(KAFKA, serverPid, address, () => kafkaAnswers(HOST, config.kafkaPort), [STDOUT_LOG]),
  );
  progress(`Kafka: ready on ${address} (pid ${pid})`);
  return { pid, started };
}
