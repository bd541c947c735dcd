import type { z } from 'zod';
import { convertKeys, toCamel, toSnake } from './case.ts';
import { deadLetteredObservation, domainAlert, orderSettled, paymentObservation } from './messages.ts';
import { TOPICS, type TopicName } from './topics.ts';

/** Each topic's schema and the record key that keeps one order's events on one partition. */
const CONTRACTS = {
  [TOPICS.paymentObservations]: {
    schema: paymentObservation,
    key: (m: { outTradeNo: string }) => m.outTradeNo,
  },
  [TOPICS.orderSettled]: { schema: orderSettled, key: (m: { outTradeNo: string }) => m.outTradeNo },
  [TOPICS.alerts]: {
    schema: domainAlert,
    key: (m: { outTradeNo?: string | undefined; dedupeKey: string }) => m.outTradeNo ?? m.dedupeKey,
  },
  [TOPICS.paymentObservationsDlq]: {
    schema: deadLetteredObservation,
    key: (m: { outTradeNo?: string | undefined; originalOffset: string }) =>
      m.outTradeNo ?? `offset-${m.originalOffset}`,
  },
} as const;

type Contracts = typeof CONTRACTS;
/** The TypeScript type of a topic's message. */
export type MessageOf<T extends TopicName> = z.output<Contracts[T]['schema']>;
/** What a producer may pass (fields with defaults may be omitted). */
export type MessageInput<T extends TopicName> = z.input<Contracts[T]['schema']>;

export const CONTENT_TYPE = 'application/json';
export const SCHEMA_HEADER = 'paysync-schema';

/** A message that does not satisfy its topic's contract; `reason` says which field and why. */
export class ContractError extends Error {
  readonly code = 'CONTRACT_VIOLATION';
  readonly topic: string;
  readonly reason: string;
  constructor(topic: string, reason: string) {
    super(`${topic}: ${reason}`);
    this.name = 'ContractError';
    this.topic = topic;
    this.reason = reason;
  }
}

function contractFor(topic: string) {
  const c = (CONTRACTS as Record<string, (typeof CONTRACTS)[TopicName]>)[topic];
  if (!c) throw new ContractError(topic, 'no contract for this topic');
  return c;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'string' ? toSnake(p) : String(p))).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

export type EncodedMessage = { key: string; value: string; headers: Record<string, string> };

/**
 * Messages that passed their topic's contract through `checkMessage`, with that topic. They are
 * frozen when checked, so one found here is still exactly what was checked, and encoding it does
 * not validate it a second time (the gateway builds each observation, checks it and publishes it
 * in one request: two passes of the same schema were a tenth of its CPU per notification).
 */
const checked = new WeakMap<object, string>();

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type CheckResult<T extends TopicName> =
  | { success: true; data: MessageOf<T> }
  | { success: false; error: z.ZodError };

/**
 * Validates a message against its topic's contract without throwing. On success, `data` is the
 * message as the contract reads it (defaults applied, unknown keys dropped), frozen; passing it to
 * `encodeMessage` for the same topic does not validate it again.
 */
export function checkMessage<T extends TopicName>(topic: T, message: MessageInput<T>): CheckResult<T> {
  const parsed = contractFor(topic).schema.safeParse(message);
  if (!parsed.success) return { success: false, error: parsed.error };
  const data = deepFreeze(parsed.data as MessageOf<T>);
  checked.set(data, topic);
  return { success: true, data };
}

/** Validates a message against its topic's contract and serializes it with snake_case keys. */
export function encodeMessage<T extends TopicName>(topic: T, message: MessageInput<T>): EncodedMessage {
  const contract = contractFor(topic);
  let value = message as MessageOf<T>;
  if (checked.get(message) !== topic) {
    const parsed = contract.schema.safeParse(message);
    if (!parsed.success) throw new ContractError(topic, describeIssues(parsed.error));
    value = parsed.data as MessageOf<T>;
  }
  return {
    key: (contract.key as (m: MessageOf<T>) => string)(value),
    value: JSON.stringify(convertKeys(value, toSnake)),
    headers: { [SCHEMA_HEADER]: topic, 'content-type': CONTENT_TYPE },
  };
}

/** Parses and validates a consumed message value; throws ContractError with the reason. */
export function decodeMessage<T extends TopicName>(
  topic: T,
  raw: Buffer | string | null | undefined,
): MessageOf<T> {
  const contract = contractFor(topic);
  if (raw === null || raw === undefined) throw new ContractError(topic, 'empty message value');
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new ContractError(topic, `not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ContractError(topic, 'message value must be a JSON object');
  }
  const parsed = contract.schema.safeParse(convertKeys(json, toCamel));
  if (!parsed.success) throw new ContractError(topic, describeIssues(parsed.error));
  return parsed.data as MessageOf<T>;
}

export type DecodeResult<T extends TopicName> =
  | { ok: true; message: MessageOf<T> }
  | { ok: false; error: ContractError };

/** decodeMessage without throwing, for consumers that route failures to a DLQ. */
export function tryDecodeMessage<T extends TopicName>(
  topic: T,
  raw: Buffer | string | null | undefined,
): DecodeResult<T> {
  try {
    return { ok: true, message: decodeMessage(topic, raw) };
  } catch (err) {
    if (err instanceof ContractError) return { ok: false, error: err };
    throw err;
  }
}
