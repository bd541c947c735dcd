import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  buildJsapiPayParams,
  MalformedError,
  parseRefund,
  parseTransaction,
  rsaVerify,
} from '../../src/index.ts';
import { transactionResource } from '../support/notifications.ts';

describe('parseTransaction', () => {
  it('keeps unknown fields, nested ones included', () => {
    const tx = parseTransaction({
      ...transactionResource(),
      promotion_detail: [{ coupon_id: '1' }],
      amount: { total: 100, currency: 'CNY', extra: 1 },
    });
    expect(tx.promotion_detail).toEqual([{ coupon_id: '1' }]);
    expect(tx.amount?.extra).toBe(1);
  });

  it('accepts an unpaid order as the query returns it', () => {
    const tx = parseTransaction({
      appid: 'wxd678efh567hg6787',
      mchid: '1230000109',
      out_trade_no: 'RECHARGE_ORDER_000124',
      trade_state: 'NOTPAY',
      trade_state_desc: '订单未支付',
      trade_type: '',
      amount: { total: 100, currency: 'CNY', payer_currency: 'CNY' },
    });
    expect(tx.trade_state).toBe('NOTPAY');
  });

  it('accepts a trade_type WeChat adds later (paysync does not act on it)', () => {
    expect(parseTransaction(transactionResource({ trade_type: 'NEW_WAY_TO_PAY' })).trade_type).toBe(
      'NEW_WAY_TO_PAY',
    );
  });

  it.each([
    ['a paid order without transaction_id', { transaction_id: undefined }],
    ['a paid order without amount', { amount: undefined }],
    ['a paid order without success_time', { success_time: undefined }],
    ['an unknown trade_state', { trade_state: 'PAID' }],
    ['a fractional amount', { amount: { total: 1.5, currency: 'CNY' } }],
    ['a negative amount', { amount: { total: -1, currency: 'CNY' } }],
    ['a too short out_trade_no', { out_trade_no: 'abc' }],
    ['a success_time without offset', { success_time: '2026-01-15T12:00:00' }],
  ])('rejects %s', (_label, overrides) => {
    expect(() => parseTransaction(transactionResource(overrides))).toThrow(MalformedError);
  });

  it('does not echo field values in its errors', () => {
    try {
      parseTransaction(transactionResource({ trade_state: 'oUpF8uMuAJO_secret' }));
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('oUpF8uMuAJO_secret');
      return;
    }
    throw new Error('expected a MalformedError');
  });
});

describe('parseRefund', () => {
  const refund = {
    mchid: '1230000109',
    out_trade_no: 'RECHARGE_ORDER_000123',
    transaction_id: '4200000000202601150000000001',
    out_refund_no: 'REFUND_000123',
    refund_id: '50000000382019052709732678859',
    refund_status: 'ABNORMAL',
    user_received_account: '招商银行信用卡0403',
    amount: { total: 100, refund: 100, payer_total: 100, payer_refund: 100 },
  };

  it('parses an abnormal refund', () => {
    expect(parseRefund(refund).refund_status).toBe('ABNORMAL');
  });

  it('requires success_time on a successful refund and a known status', () => {
    expect(() => parseRefund({ ...refund, refund_status: 'SUCCESS' })).toThrow(MalformedError);
    expect(() => parseRefund({ ...refund, refund_status: 'DONE' })).toThrow(MalformedError);
  });
});

describe('buildJsapiPayParams', () => {
  it('signs appId, timeStamp, nonceStr and package with the merchant key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const params = buildJsapiPayParams({
      appId: 'wx8888888888888888',
      prepayId: 'wx201410272009395522657a690389285100',
      privateKey,
      timestamp: 1414561699,
      nonce: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
    });
    expect(params).toMatchObject({
      appId: 'wx8888888888888888',
      timeStamp: '1414561699',
      nonceStr: '5K8264ILTKCH16CQ2502SI8ZNMTM67VS',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'RSA',
    });
    const message =
      'wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n';
    expect(rsaVerify(publicKey, message, params.paySign)).toBe(true);
  });
});
