import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { PaymentObservation } from '@paysync/contracts';
import { TestWeChatSigner } from '@paysync/testkit';
import { buildV2Xml, v2Sign } from '@paysync/wechatpay';
import { checkEvidence, EvidenceRefusedError } from '../../src/index.ts';

// The ledger's check of evidence, case by case: only what WeChat signed, exactly as it says it.

const wechat = new TestWeChatSigner();
const reader = wechat.reader({
  apiV2Key: { key: 'v2key-0123456789abcdef0123456789', signType: 'HMAC-SHA256' },
});

function claim(overrides: Partial<PaymentObservation> = {}): PaymentObservation {
  return {
    observationId: randomUUID(),
    outTradeNo: 'RC_EVIDENCE_0001',
    source: 'notification',
    observedAt: '2026-12-01T08:00:00.000Z',
    producer: 'test',
    mchid: '1900007291',
    appid: 'wxd678efh567hg6787',
    tradeState: 'SUCCESS',
    transactionId: '4200000000202612010001',
    amount: { total: 300, currency: 'CNY' },
    successTime: '2026-12-01T16:00:00+08:00',
    ...overrides,
  };
}

async function refusal(obs: PaymentObservation): Promise<string> {
  try {
    await checkEvidence(reader, obs);
    return 'accepted';
  } catch (err) {
    if (err instanceof EvidenceRefusedError) return err.code;
    throw err;
  }
}

describe('checkEvidence', () => {
  it.each(['notification', 'query'] as const)(
    'accepts a %s exactly as WeChat signed it, and dates it by the signature',
    async (source) => {
      const signed = await wechat.sign(claim({ source }), { at: new Date('2026-12-01T08:00:05Z') });
      const reading = await checkEvidence(reader, signed);
      expect(reading.signedAt?.toISOString()).toBe('2026-12-01T08:00:05.000Z');
      expect(reading.namesOrder).toBe(true);
    },
  );

  it('accepts a refund notification and a signed "order not exist", which does not name its order', async () => {
    const refund = await wechat.sign(
      claim({
        tradeState: 'REFUND',
        refund: {
          outRefundNo: 'RF1',
          refundId: '5000RF1',
          refundStatus: 'SUCCESS',
          amount: { refund: 100, total: 300, currency: 'CNY' },
        },
      }),
    );
    await expect(refusal(refund)).resolves.toBe('accepted');
    const gone = await wechat.sign(claim({ source: 'query', tradeState: 'ORDER_NOT_EXIST' }));
    expect(gone.appid).toBeUndefined();
    await expect(checkEvidence(reader, gone)).resolves.toMatchObject({ namesOrder: false });
  });

  it.each([
    ['notification', 'SUCCESS'],
    ['notification', 'REFUND'],
    ['query', 'SUCCESS'],
    ['query', 'CLOSED'],
    ['query', 'ORDER_NOT_EXIST'],
    ['manual', 'SUCCESS'],
    ['manual', 'PAYERROR'],
  ] as const)('refuses a %s %s without evidence', async (source, tradeState) => {
    await expect(refusal(claim({ source, tradeState, actor: 'mallory', reason: 'trust me' }))).resolves.toBe(
      'no_evidence',
    );
  });

  it('refuses genuine evidence under another order, amount, state or transaction', async () => {
    const genuine = await wechat.sign(claim());
    await expect(refusal({ ...genuine, outTradeNo: 'RC_EVIDENCE_0002' })).resolves.toBe('content_differs');
    await expect(refusal({ ...genuine, amount: { total: 1, currency: 'CNY' } })).resolves.toBe(
      'content_differs',
    );
    await expect(refusal({ ...genuine, tradeState: 'REFUND' })).resolves.toBe('content_differs');
    await expect(refusal({ ...genuine, transactionId: '4200000000999' })).resolves.toBe('content_differs');
    await expect(refusal({ ...genuine, mchid: '1900000001' })).resolves.toBe('content_differs');
  });

  it('refuses a swapped body, a changed signature, a source that cannot carry the evidence', async () => {
    const a = await wechat.sign(claim({ source: 'query' }));
    const b = await wechat.sign(claim({ source: 'query', outTradeNo: 'RC_EVIDENCE_0003' }));
    if (a.evidence?.kind !== 'answer' || b.evidence?.kind !== 'answer') throw new Error('answers expected');
    await expect(refusal({ ...a, evidence: { ...a.evidence, body: b.evidence.body } })).resolves.toBe(
      'bad_signature',
    );
    await expect(
      refusal({
        ...a,
        evidence: {
          ...a.evidence,
          headers: { ...a.evidence.headers, signature: b.evidence.headers.signature },
        },
      }),
    ).resolves.toBe('bad_signature');
    await expect(refusal({ ...a, source: 'notification' })).resolves.toBe('wrong_kind');
  });

  it('refuses evidence signed by a key it does not hold, and an unsigned error answer as a fact', async () => {
    const stranger = new TestWeChatSigner();
    await expect(refusal(await stranger.sign(claim()))).resolves.toBe('unknown_key');
    const paid = await wechat.sign(claim({ source: 'query' }));
    if (paid.evidence?.kind !== 'answer') throw new Error('an answer expected');
    const notAFact = { ...paid, evidence: { ...paid.evidence, status: 400 } };
    await expect(refusal(notAFact)).resolves.toBe('not_a_fact');
  });

  it('checks APIv2 notifications with the APIv2 key, which signs the whole XML', async () => {
    const fields = {
      appid: 'wxd678efh567hg6787',
      mch_id: '1900007291',
      nonce_str: 'n0nce',
      result_code: 'SUCCESS',
      return_code: 'SUCCESS',
      out_trade_no: 'RC_EVIDENCE_0001',
      transaction_id: '4200000000202612010001',
      total_fee: '300',
      fee_type: 'CNY',
      time_end: '20261201160000',
    };
    const body = buildV2Xml({
      ...fields,
      sign: v2Sign(fields, 'v2key-0123456789abcdef0123456789', 'HMAC-SHA256'),
    });
    const obs = claim({
      successTime: '2026-12-01T16:00:00+08:00',
      evidence: { kind: 'v2_notification', body },
    });
    await expect(refusal(obs)).resolves.toBe('accepted');
    await expect(refusal({ ...obs, amount: { total: 3000, currency: 'CNY' } })).resolves.toBe(
      'content_differs',
    );
    const forged = buildV2Xml({
      ...fields,
      total_fee: '3000',
      sign: v2Sign(fields, 'v2key-0123456789abcdef0123456789', 'HMAC-SHA256'),
    });
    await expect(refusal({ ...obs, evidence: { kind: 'v2_notification', body: forged } })).resolves.toBe(
      'bad_signature',
    );
    // Signed right, but with a sign type other than the configured one.
    const md5 = buildV2Xml({ ...fields, sign: v2Sign(fields, 'v2key-0123456789abcdef0123456789', 'MD5') });
    await expect(refusal({ ...obs, evidence: { kind: 'v2_notification', body: md5 } })).resolves.toBe(
      'bad_signature',
    );
  });
});
