/**
 * What a failed Kafka call says about what is wrong, read from the kafkajs error's class name, its
 * broker error `type` and `retriable` flag — never from its message. Names, not `instanceof`: a
 * second copy of kafkajs in node_modules has classes of its own, with the same names.
 *
 * - `data`: the broker refused the records themselves (too large, invalid): the same records fail
 *   on any healthy cluster, other records would pass.
 * - `infrastructure`: the cluster is not ready for any records — unreachable, a connection lost,
 *   a request timed out, leaders moving, too few in-sync replicas, a topic missing, or paysync's
 *   principal not granted the topic. The same call can succeed later unchanged; never discard the
 *   records. Authorization failures belong here although kafkajs does not retry them: like a
 *   missing database grant, they are the deployment's state (an ACL not applied yet), which an
 *   operator fixes, not anything wrong with one record.
 * - `other`: not a Kafka error, or kafkajs refusing a call paysync made wrongly: a bug.
 */
export const KAFKA_ERROR_KINDS = ['data', 'infrastructure', 'other'] as const;
export type KafkaErrorKind = (typeof KAFKA_ERROR_KINDS)[number];

/** Broker error types about the records sent (kafkajs marks each non-retriable). */
const DATA_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'INVALID_TIMESTAMP',
]);

/**
 * kafkajs's own errors of a cluster it could not reach or use: the connection, a timeout, no
 * broker, metadata not there, the group coordinator not found (also how kafkajs reports a group it
 * may not use), SASL authentication refused, retries exhausted on any of these.
 */
const INFRASTRUCTURE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSSASLAuthenticationError',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  'KafkaJSNumberOfRetriesExceeded',
]);

/** kafkajs wraps the error it gave up on (KafkaJSNumberOfRetriesExceeded, …) in these. */
const WRAPPER_NAMES = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

type KafkaJsError = { name?: unknown; type?: unknown; retriable?: unknown; cause?: unknown };

const isKafkaJsError = (err: unknown): err is KafkaJsError =>
  typeof err === 'object' &&
  err !== null &&
  typeof (err as KafkaJsError).name === 'string' &&
  ((err as KafkaJsError).name as string).startsWith('KafkaJS');

/** Classifies a Kafka client error (see KAFKA_ERROR_KINDS); anything that is not one is `other`. */
export function classifyKafkaError(err: unknown): KafkaErrorKind {
  if (!isKafkaJsError(err)) return 'other';
  const { name, type, retriable, cause } = err;
  // What kafkajs gave up on says what broke; retries exhausted on something unnamed is the cluster.
  if (WRAPPER_NAMES.has(name as string) && isKafkaJsError(cause)) return classifyKafkaError(cause);
  if (typeof type === 'string') {
    // A broker's answer: about the records, or about its own state and grants.
    return DATA_TYPES.has(type) ? 'data' : 'infrastructure';
  }
  if (INFRASTRUCTURE_NAMES.has(name as string) || retriable === true) return 'infrastructure';
  return 'other';
}
