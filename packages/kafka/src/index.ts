export { createConsumer, createIdempotentProducer, createKafka, type KafkaClientOptions } from './client.ts';
export { type DlqPartition, fetchDlqPartitions, unhandledCount } from './dlq.ts';
export { checkTopicDurability, DURABLE, type Durability, type DurabilityProblem } from './durability.ts';
export { type PublishOptions, publish } from './publish.ts';
export { quietKafkajsNegativeTimer } from './quiet.ts';
export { type EnsureTopicsOptions, ensureTopics } from './topics.ts';
