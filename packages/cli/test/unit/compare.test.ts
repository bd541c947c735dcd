import { describe, expect, it } from '@jest/globals';
import { compareWithWeChat, type OurOrder } from '../../src/index.ts';

const now = new Date('2026-05-01T12:00:00Z');
const ours: OurOrder = {
  outTradeNo: 'RECHARGE_ORDER_1',
  status: 'pending',
  amountTotal: 1000,
  mchid: '1900009191',
  appid: 'wxd678efh567hg6787',
  transactionId: null,
  timeExpire: new Date('2026-05-01T12:30:00Z'),
};
const paid = {
  state: 'SUCCESS' as const,
  amountTotal: 1000,
  mchid: ours.mchid,
  appid: ours.appid,
  transactionId: '4200001',
};

describe('comparing our order with WeChat Pay', () => {
  it('flags the incident: paid at WeChat, pending here, and says what to run', () => {
    const d = compareWithWeChat(ours, paid, now);
    expect(d).toEqual([expect.objectContaining({ field: 'status', ours: 'pending', wechat: 'SUCCESS' })]);
    expect(d[0]!.hint).toMatch(/missed notification.*payctl sync/);
  });

  it('finds nothing when both agree', () => {
    expect(compareWithWeChat({ ...ours, status: 'paid', transactionId: '4200001' }, paid, now)).toEqual([]);
    expect(compareWithWeChat(ours, { state: 'NOTPAY' }, now)).toEqual([]);
    expect(compareWithWeChat({ ...ours, status: 'expired' }, { state: 'CLOSED' }, now)).toEqual([]);
  });

  it('flags a late payment, an amount mismatch and a different transaction', () => {
    const d = compareWithWeChat(
      { ...ours, status: 'expired', amountTotal: 999, transactionId: '4200999' },
      paid,
      now,
    );
    expect(d.map((x) => x.field)).toEqual(['status', 'amount_total', 'transaction_id']);
    expect(d[0]!.hint).toMatch(/late payment/);
  });

  it('does not call an order missing at WeChat before its expiry a difference, but does after', () => {
    expect(compareWithWeChat(ours, { state: 'ORDER_NOT_EXIST' }, now)).toEqual([]);
    const late = compareWithWeChat(ours, { state: 'ORDER_NOT_EXIST' }, new Date('2026-05-01T13:00:00Z'));
    expect(late[0]!.hint).toMatch(/past expiry/);
  });

  it('reports nothing it cannot know when WeChat could not be asked', () => {
    expect(compareWithWeChat(ours, { error: 'NETWORK_ERROR' }, now)).toEqual([]);
  });
});
