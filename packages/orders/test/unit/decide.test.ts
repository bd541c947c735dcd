import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { PaymentObservation } from '@paysync/contracts';
import { decide, type LedgerOrder, reversalPoints } from '../../src/index.ts';

const NOW = new Date('2026-11-26T04:00:00Z');

function order(overrides: Partial<LedgerOrder> = {}): LedgerOrder {
  return {
    outTradeNo: 'RECHARGE_UNIT_0001',
    userId: 'user-1',
    mchid: '1900007291',
    appid: 'wxd678efh567hg6787',
    amountTotal: 1000,
    points: 1000,
    bonusPoints: 100,
    status: 'pending',
    transactionId: null,
    timeExpire: new Date('2026-11-26T05:00:00Z'),
    refundedAmount: 0,
    ...overrides,
  };
}

function obs(overrides: Partial<PaymentObservation> = {}): PaymentObservation {
  return {
    observationId: randomUUID(),
    outTradeNo: 'RECHARGE_UNIT_0001',
    source: 'notification',
    observedAt: NOW.toISOString(),
    producer: 'test',
    mchid: '1900007291',
    appid: 'wxd678efh567hg6787',
    tradeState: 'SUCCESS',
    transactionId: '4200000000000000000001',
    amount: { total: 1000, currency: 'CNY' },
    ...overrides,
  };
}

describe('order state machine', () => {
  it('settles pending → paid on SUCCESS with points plus bonus', () => {
    const d = decide(order(), obs());
    expect(d.outcome).toBe('settled');
    expect(d.statusAfter).toBe('paid');
    expect(d.entries).toEqual([{ kind: 'recharge', points: 1100, bonusPoints: 100 }]);
    expect(d.alerts).toEqual([]);
  });

  it('credits nothing for trade_state REFUND seen by query, and alerts: the refund is not known yet', () => {
    const d = decide(order(), obs({ tradeState: 'REFUND', source: 'query' }));
    expect(d).toMatchObject({ outcome: 'unchanged', statusAfter: 'pending', entries: [] });
    expect(d.alerts).toEqual([expect.objectContaining({ type: 'refund_unknown', severity: 'critical' })]);
    // Paid here already, no refund applied: the points stay credited, and a person is told.
    const paid = decide(
      order({ status: 'paid', transactionId: '4200000001' }),
      obs({ tradeState: 'REFUND', transactionId: '4200000001' }),
    );
    expect(paid).toMatchObject({ outcome: 'unchanged', statusAfter: 'paid', entries: [] });
    expect(paid.alerts.map((a) => a.type)).toEqual(['refund_unknown']);
    // Once a refund has been applied here, the REFUND state is what we already know.
    const known = decide(
      order({ status: 'refunded', transactionId: '4200000001', refundedAmount: 1000 }),
      obs({ tradeState: 'REFUND', transactionId: '4200000001' }),
    );
    expect(known).toMatchObject({ outcome: 'duplicate', alerts: [] });
  });

  it('a SUCCESS for an order already paid is a duplicate that changes nothing', () => {
    const d = decide(order({ status: 'paid', transactionId: '4200000000000000000001' }), obs());
    expect(d).toMatchObject({ outcome: 'duplicate', statusAfter: 'paid', entries: [] });
  });

  it.each(['expired', 'cancelled', 'failed'] as const)(
    'a payment for a %s order is a late payment: settled and alerted',
    (status) => {
      const d = decide(order({ status }), obs());
      expect(d.outcome).toBe('late');
      expect(d.statusAfter).toBe('paid');
      expect(d.entries).toHaveLength(1);
      expect(d.alerts).toEqual([expect.objectContaining({ type: 'late_payment', severity: 'warning' })]);
    },
  );

  it('never settles an amount mismatch, and alerts', () => {
    const d = decide(order(), obs({ amount: { total: 1, currency: 'CNY' } }));
    expect(d).toMatchObject({ outcome: 'mismatch', statusAfter: 'pending', entries: [] });
    expect(d.alerts[0]).toMatchObject({ type: 'amount_mismatch', severity: 'critical' });
  });

  it('never settles a merchant or app mismatch, and alerts', () => {
    expect(decide(order(), obs({ mchid: '1900000000' })).alerts[0]?.type).toBe('merchant_mismatch');
    expect(decide(order(), obs({ appid: 'wx_other_app' }))).toMatchObject({
      outcome: 'mismatch',
      entries: [],
    });
  });

  it('refuses a second transaction for a paid order', () => {
    const d = decide(
      order({ status: 'paid', transactionId: '4200000000000000000001' }),
      obs({ transactionId: '42000000000000000000XX' }),
    );
    expect(d).toMatchObject({ outcome: 'mismatch', statusAfter: 'paid', entries: [] });
  });

  it.each(['PAYERROR', 'REVOKED'] as const)('moves pending → failed on %s', (tradeState) => {
    const d = decide(order(), obs({ tradeState, transactionId: undefined, amount: undefined }));
    expect(d).toMatchObject({ outcome: 'transitioned', statusAfter: 'failed' });
  });

  it('moves pending → expired on CLOSED after expiry, → cancelled before it', () => {
    const closed = obs({ tradeState: 'CLOSED', transactionId: undefined, amount: undefined });
    expect(decide(order({ timeExpire: new Date(NOW.getTime() - 1) }), closed).statusAfter).toBe('expired');
    expect(decide(order(), closed).statusAfter).toBe('cancelled');
  });

  it('judges expiry when WeChat answered, not when the ledger applies the answer', () => {
    const before = new Date(NOW.getTime() - 60_000).toISOString();
    const expiredSince = order({ timeExpire: new Date(NOW.getTime() - 1) }); // applied now, past expiry
    const gone = obs({
      tradeState: 'ORDER_NOT_EXIST',
      transactionId: undefined,
      amount: undefined,
      observedAt: before,
    });
    expect(decide(expiredSince, gone)).toMatchObject({ outcome: 'unchanged', statusAfter: 'pending' });
    const closed = obs({
      tradeState: 'CLOSED',
      transactionId: undefined,
      amount: undefined,
      observedAt: before,
    });
    expect(decide(expiredSince, closed).statusAfter).toBe('cancelled');
  });

  it('ORDER_NOT_EXIST expires an order only after its expiry', () => {
    const gone = obs({ tradeState: 'ORDER_NOT_EXIST', transactionId: undefined, amount: undefined });
    expect(decide(order(), gone).outcome).toBe('unchanged');
    expect(decide(order({ timeExpire: new Date(NOW.getTime() - 1) }), gone).statusAfter).toBe('expired');
  });

  it.each(['NOTPAY', 'USERPAYING'] as const)('%s changes nothing, even for a paid order', (tradeState) => {
    const notYet = obs({ tradeState, transactionId: undefined, amount: undefined });
    expect(decide(order(), notYet)).toMatchObject({ outcome: 'unchanged', statusAfter: 'pending' });
    expect(decide(order({ status: 'paid', transactionId: '1' }), notYet).statusAfter).toBe('paid');
  });

  it('a CLOSED for a paid order does not unpay it', () => {
    const closed = obs({ tradeState: 'CLOSED', transactionId: undefined, amount: undefined });
    expect(decide(order({ status: 'paid', transactionId: '1' }), closed).statusAfter).toBe('paid');
  });

  const refund = (refundFen: number, refundStatus: 'SUCCESS' | 'ABNORMAL' | 'CLOSED' = 'SUCCESS') =>
    obs({
      tradeState: 'REFUND',
      refund: {
        outRefundNo: 'REFUND_0001',
        refundId: '50000000000000000001',
        refundStatus,
        amount: { refund: refundFen, total: 1000, currency: 'CNY' },
      },
    });

  it('a refund of a paid order reverses its points: paid → refunded', () => {
    const d = decide(order({ status: 'paid', transactionId: '4200000000000000000001' }), refund(1000));
    expect(d.outcome).toBe('refunded');
    expect(d.statusAfter).toBe('refunded');
    expect(d.entries).toEqual([
      { kind: 'refund_reversal', outRefundNo: 'REFUND_0001', points: 1100, refundAmount: 1000 },
    ]);
  });

  it('a refund seen before its payment settles the payment and reverses it', () => {
    const d = decide(order(), refund(1000));
    expect(d.entries.map((e) => e.kind)).toEqual(['recharge', 'refund_reversal']);
    expect(d.payment?.transactionId).toBe('4200000000000000000001');
    expect(d.statusAfter).toBe('refunded');
  });

  it('a refund that is not SUCCESS changes nothing; ABNORMAL needs attention', () => {
    const paid = order({ status: 'paid', transactionId: '4200000000000000000001' });
    expect(decide(paid, refund(1000, 'CLOSED'))).toMatchObject({
      outcome: 'unchanged',
      entries: [],
      alerts: [],
    });
    expect(decide(paid, refund(1000, 'ABNORMAL')).alerts[0]?.type).toBe('refund_abnormal');
  });

  it('reverses points in proportion for a partial refund, rounding down', () => {
    expect(reversalPoints(order(), 500)).toBe(550);
    expect(reversalPoints(order(), 333)).toBe(366);
    expect(reversalPoints(order(), 1000)).toBe(1100);
  });

  it('reverses every point once partial refunds add up to the total, in any order', () => {
    // 300 fen bought 100 points: each 100-fen refund rounded alone would reverse 33, leaving 1.
    const o = order({ amountTotal: 300, points: 100, bonusPoints: 0, status: 'paid' });
    const reversed = (refunds: number[]) => {
      let refundedAmount = 0;
      return refunds.map((fen) => {
        const points = reversalPoints({ ...o, refundedAmount }, fen);
        refundedAmount += fen;
        return points;
      });
    };
    expect(reversed([100, 100, 100])).toEqual([33, 33, 34]);
    expect(reversed([1, 299])).toEqual([0, 100]);
    for (const refunds of [
      [100, 100, 100],
      [7, 93, 200],
      [299, 1],
      [150, 149, 1],
    ]) {
      expect(reversed(refunds).reduce((a, b) => a + b, 0)).toBe(100);
    }
  });
});
