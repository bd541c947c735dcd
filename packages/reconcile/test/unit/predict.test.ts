import { describe, expect, it } from '@jest/globals';
import { predictEffect } from '../../src/index.ts';

describe('dry-run prediction', () => {
  it('says a pending order paid at WeChat becomes paid', () => {
    expect(
      predictEffect({ status: 'pending', wechatState: 'SUCCESS', expired: false, willClose: false }),
    ).toMatchObject({
      statusAfter: 'paid',
      change: true,
    });
  });

  it('calls a payment of an expired order a late payment', () => {
    const p = predictEffect({ status: 'expired', wechatState: 'SUCCESS', expired: true, willClose: false });
    expect(p).toMatchObject({ statusAfter: 'paid', change: true });
    expect(p.why).toMatch(/late payment/);
  });

  it('says an unpaid order past expiry would be closed and expire', () => {
    expect(
      predictEffect({ status: 'pending', wechatState: 'NOTPAY', expired: true, willClose: true }),
    ).toMatchObject({
      statusAfter: 'expired',
      change: true,
    });
  });

  it('changes nothing for NOTPAY before expiry or an order already paid', () => {
    expect(
      predictEffect({ status: 'pending', wechatState: 'NOTPAY', expired: false, willClose: false }).change,
    ).toBe(false);
    expect(
      predictEffect({ status: 'paid', wechatState: 'SUCCESS', expired: true, willClose: false }).change,
    ).toBe(false);
  });

  it('follows the ledger for CLOSED: expired after expiry, cancelled before', () => {
    expect(
      predictEffect({ status: 'pending', wechatState: 'CLOSED', expired: true, willClose: false })
        .statusAfter,
    ).toBe('expired');
    expect(
      predictEffect({ status: 'pending', wechatState: 'CLOSED', expired: false, willClose: false })
        .statusAfter,
    ).toBe('cancelled');
  });

  it('treats ORDER_NOT_EXIST as final only after expiry, and PAYERROR as failed', () => {
    expect(
      predictEffect({ status: 'pending', wechatState: 'ORDER_NOT_EXIST', expired: false, willClose: false })
        .change,
    ).toBe(false);
    expect(
      predictEffect({ status: 'pending', wechatState: 'ORDER_NOT_EXIST', expired: true, willClose: false })
        .statusAfter,
    ).toBe('expired');
    expect(
      predictEffect({ status: 'pending', wechatState: 'PAYERROR', expired: false, willClose: false })
        .statusAfter,
    ).toBe('failed');
  });
});
