import { describe, expect, it } from '@jest/globals';
import {
  ALL_TOPICS,
  ContractError,
  checkMessage,
  decodeMessage,
  encodeMessage,
  exampleMessages,
  TOPICS,
  type TopicName,
  topicNames,
  tryDecodeMessage,
} from '../../src/index.ts';

describe('contracts codec', () => {
  const examples = exampleMessages();

  it.each(ALL_TOPICS)('round-trips a valid %s message', (topic: TopicName) => {
    const encoded = encodeMessage(topic, examples[topic] as never);
    expect(decodeMessage(topic, encoded.value)).toEqual(examples[topic]);
  });

  it('writes snake_case keys on the wire and keys each record by out_trade_no', () => {
    const encoded = encodeMessage(TOPICS.paymentObservations, examples[TOPICS.paymentObservations]);
    const wire = JSON.parse(encoded.value);
    expect(wire.out_trade_no).toBe('RECHARGE_ORDER_20261126_0001');
    expect(wire.amount.payer_total).toBe(1000);
    expect(wire).not.toHaveProperty('outTradeNo');
    expect(encoded.key).toBe('RECHARGE_ORDER_20261126_0001');
    expect(encoded.headers['paysync-schema']).toBe(TOPICS.paymentObservations);
  });

  it('keeps the keys of an alert’s free-form details as written', () => {
    const encoded = encodeMessage(TOPICS.alerts, examples[TOPICS.alerts]);
    expect(JSON.parse(encoded.value).details).toHaveProperty('age_seconds', 540);
    expect(decodeMessage(TOPICS.alerts, encoded.value).details).toHaveProperty('age_seconds', 540);
  });

  it('checks a message once: the checked message is frozen and encodes as the unchecked one does', () => {
    const example = examples[TOPICS.paymentObservations];
    const checked = checkMessage(TOPICS.paymentObservations, example);
    if (!checked.success) throw checked.error;
    expect(Object.isFrozen(checked.data)).toBe(true);
    expect(Object.isFrozen(checked.data.amount)).toBe(true);
    expect(() => {
      (checked.data as { outTradeNo: string }).outTradeNo = 'NOT VALID';
    }).toThrow(TypeError);
    expect(encodeMessage(TOPICS.paymentObservations, checked.data)).toEqual(
      encodeMessage(TOPICS.paymentObservations, structuredClone(example)),
    );
  });

  it('still validates a message checked against another topic, or not checked at all', () => {
    const checked = checkMessage(TOPICS.paymentObservations, examples[TOPICS.paymentObservations]);
    if (!checked.success) throw checked.error;
    expect(() => encodeMessage(TOPICS.orderSettled, checked.data as never)).toThrow(ContractError);
    const bad = checkMessage(TOPICS.paymentObservations, {
      ...examples[TOPICS.paymentObservations],
      amount: { total: -5 },
    });
    expect(bad.success).toBe(false);
  });

  it('refuses to encode an invalid message, naming the wire field', () => {
    const bad = { ...examples[TOPICS.paymentObservations], amount: { total: -5, currency: 'CNY' } };
    expect(() => encodeMessage(TOPICS.paymentObservations, bad)).toThrow(/amount\.total/);
  });

  it.each([
    ['not JSON', '{"out_trade_no":', /not JSON/],
    ['a JSON array', '[1,2]', /JSON object/],
    ['empty', null, /empty message value/],
    [
      'a short out_trade_no',
      JSON.stringify({ out_trade_no: 'ab' }),
      /out_trade_no: out_trade_no must be 6-32/,
    ],
  ])('rejects %s with its reason', (_name, raw, reason) => {
    const result = tryDecodeMessage(TOPICS.paymentObservations, raw as string | null);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(ContractError);
      expect(result.error.reason).toMatch(reason);
    }
  });

  it('rejects a SUCCESS observation without transaction_id or amount', () => {
    const { transactionId: _t, amount: _a, ...rest } = examples[TOPICS.paymentObservations];
    expect(() => encodeMessage(TOPICS.paymentObservations, rest)).toThrow(
      /requires transaction_id and amount/,
    );
  });

  it('rejects a manual observation without actor and reason', () => {
    const manual = { ...examples[TOPICS.paymentObservations], source: 'manual' as const };
    expect(() => encodeMessage(TOPICS.paymentObservations, manual)).toThrow(/actor and reason/);
  });

  it('rejects an unknown trade_state and an unknown topic', () => {
    const raw = encodeMessage(TOPICS.paymentObservations, examples[TOPICS.paymentObservations]).value.replace(
      '"SUCCESS"',
      '"MAYBE_PAID"',
    );
    expect(() => decodeMessage(TOPICS.paymentObservations, raw)).toThrow(/trade_state/);
    expect(() => decodeMessage('paysync.nope.v1' as TopicName, '{}')).toThrow(/no contract/);
  });
});

describe('topicNames', () => {
  it('gives the canonical names, or each behind a prefix', () => {
    expect(topicNames()).toEqual(TOPICS);
    expect(topicNames('staging').paymentObservations).toBe('staging.paysync.payment-observations.v1');
    expect(() => topicNames('bad prefix!')).toThrow(/invalid Kafka topic prefix/);
  });
});
