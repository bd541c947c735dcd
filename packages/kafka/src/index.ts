export {
  type AclGrant,
  type AclOperation,
  aclEntries,
  DEFAULT_KAFKA_GROUPS,
  KAFKA_COMPONENTS,
  type KafkaComponent,
  type KafkaGroups,
  kafkaGrants,
  PAYCTL_DLQ_READ_GROUP_PREFIX,
} from './acls.ts';
export {
  createConsumer,
  createIdempotentProducer,
  createKafka,
  type KafkaClientOptions,
  kafkaFromConfig,
} from './client.ts';
export { type DlqPartition, fetchDlqPartitions, unhandledCount } from './dlq.ts';
export { checkTopicDurability, DURABLE, type Durability, type DurabilityProblem } from './durability.ts';
export { classifyKafkaError, KAFKA_ERROR_KINDS, type KafkaErrorKind } from './errors.ts';
export { type PublishOptions, publish } from './publish.ts';
export { quietKafkajsNegativeTimer } from './quiet.ts';
export {
  KAFKA_SECURITY_PROTOCOLS,
  type KafkaSecurity,
  type KafkaSecurityEnv,
  type KafkaSecurityProtocol,
  kafkaEnvShape,
  kafkaSecurityEnv,
  kafkaSecurityEnvShape,
  loadKafkaSecurity,
  readKafkaSecurity,
} from './security.ts';
export { type EnsureTopicsOptions, ensureTopics } from './topics.ts';
