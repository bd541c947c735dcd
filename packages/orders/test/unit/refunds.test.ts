import { describe, expect, it } from '@jest/globals';
import { NetworkError, ServerError, TimeoutError, WeChatPayApiError } from '@paysync/wechatpay';
import {
  committedFen,
  holdPoints,
  type LedgerOrder,
  MAX_REFUNDS_PER_ORDER,
  type RefundShare,
  refundFailure,
  refundStatusAfter,
  refuseRefund,
  reversalPoints,
} from '../../src/index.ts';

function order(overrides: Partial<LedgerOrder> = {}): LedgerOrder {
  return {
    outTradeNo: 'RECHARGE_UNIT_0002',
    userId: 'user-1',
    mchid: '1900007291',
    appid: 'wxd678efh567hg6787',
    amountTotal: 300,
    points: 100,
    bonusPoints: 0,
    status: 'paid',
    transactionId: '4200000000000000000000000001',
    timeExpire: new Date('2026-11-26T05:00:00Z'),
    refundedAmount: 0,
    ...overrides,
  };
}

const apiError = (status: number, wechatCode: string, verified = true) =>
  new WeChatPayApiError({ status, wechatCode, wechatMessage: undefined, verified });

describe('refund status', () => {
  it('follows WeChat until final, and a final status never moves', () => {
    expect(refundStatusAfter(undefined, 'PROCESSING')).toBe('processing');
    expect(refundStatusAfter('processing', 'SUCCESS')).toBe('succeeded');
    expect(refundStatusAfter('processing', 'CLOSED')).toBe('closed');
    expect(refundStatusAfter('processing', 'ABNORMAL')).toBe('abnormal');
    expect(refundStatusAfter('abnormal', 'SUCCESS')).toBe('succeeded');
    expect(refundStatusAfter('abnormal', 'PROCESSING')).toBe('abnormal');
    for (const final of ['succeeded', 'closed', 'rejected'] as const) {
      for (const wechat of ['SUCCESS', 'CLOSED', 'ABNORMAL', 'PROCESSING'] as const) {
        expect(refundStatusAfter(final, wechat)).toBe(final);
      }
    }
  });
});

describe('accepting a refund', () => {
  it('counts refunds under way and applied ones, never closed or rejected ones', () => {
    const refunds: RefundShare[] = [
      { status: 'succeeded', amountFen: 50 },
      { status: 'processing', amountFen: 40 },
      { status: 'abnormal', amountFen: 30 },
      { status: 'closed', amountFen: 100 },
      { status: 'rejected', amountFen: 100 },
    ];
    expect(committedFen(order(), refunds)).toBe(120);
    // Refunds applied before refunds were kept here count through the order's own total.
    expect(committedFen(order({ refundedAmount: 80 }), refunds)).toBe(150);
    expect(refuseRefund(order(), refunds, 180)).toBeUndefined();
    expect(refuseRefund(order(), refunds, 181)).toEqual({
      code: 'AMOUNT_EXCEEDS_REFUNDABLE',
      message: '181 fen is more than the 180 fen still refundable',
      refundableFen: 180,
    });
  });

  it('refuses an unpaid order and a 51st refund', () => {
    for (const status of ['pending', 'expired', 'cancelled', 'failed'] as const) {
      expect(refuseRefund(order({ status }), [], 1)?.code).toBe('ORDER_NOT_PAID');
    }
    expect(refuseRefund(order({ status: 'refunded', refundedAmount: 100 }), [], 1)).toBeUndefined();
    const many = Array.from({ length: MAX_REFUNDS_PER_ORDER }, () => ({
      status: 'closed' as const,
      amountFen: 1,
    }));
    expect(refuseRefund(order(), many, 1)?.code).toBe('TOO_MANY_REFUNDS');
  });

  it('holds what the ledger will reverse if every refund under way succeeds', () => {
    // 3 × 100 fen of a 300-fen, 100-point order: 33 + 33 + 34, whatever is under way.
    const o = order();
    expect(holdPoints(o, [], 100)).toBe(33);
    expect(holdPoints(o, [{ status: 'processing', amountFen: 100 }], 100)).toBe(33);
    expect(
      holdPoints(
        o,
        [
          { status: 'processing', amountFen: 100 },
          { status: 'succeeded', amountFen: 100 },
        ],
        100,
      ),
    ).toBe(34);
    // The reversal itself agrees with the hold when the refunds succeed in order.
    expect(reversalPoints({ ...o, refundedAmount: 200 }, 100)).toBe(34);
  });
});

describe('a failed refund call', () => {
  it('is sent again unless WeChat itself signed a refusal', () => {
    expect(refundFailure(new TimeoutError())).toBe('retry');
    expect(refundFailure(new NetworkError())).toBe('retry');
    expect(
      refundFailure(
        new ServerError({
          status: 500,
          wechatCode: 'SYSTEM_ERROR',
          wechatMessage: undefined,
          verified: true,
        }),
      ),
    ).toBe('retry');
    expect(refundFailure(apiError(403, 'NOT_ENOUGH'))).toBe('retry');
    expect(refundFailure(apiError(429, 'FREQUENCY_LIMITED'))).toBe('retry');
    expect(refundFailure(apiError(400, 'SYSTEM_ERROR'))).toBe('retry');
    // An unsigned 400 could be a proxy's page: not WeChat's refusal.
    expect(refundFailure(apiError(400, 'INVALID_REQUEST', false))).toBe('retry');
    expect(refundFailure(apiError(400, 'INVALID_REQUEST'))).toBe('rejected');
    expect(refundFailure(apiError(403, 'USER_ACCOUNT_ABNORMAL'))).toBe('rejected');
    expect(refundFailure(apiError(404, 'RESOURCE_NOT_EXISTS'))).toBe('rejected');
    expect(refundFailure(new Error('boom'))).toBe('retry');
  });
});
