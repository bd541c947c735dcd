import { describe, expect, it } from '@jest/globals';
import { newOutTradeNo } from '../../src/orders/out-trade-no.ts';
import { beijingRfc3339, createOrderRequest, validationIssues } from '../../src/orders/schema.ts';

const valid = {
  merchant_order_no: 'M-2026-0001',
  user_id: 'user-1',
  amount_fen: 1000,
  points: 1000,
  bonus_points: 100,
  trade_type: 'NATIVE',
  description: '积分充值 1000',
};

function issues(body: unknown) {
  const r = createOrderRequest.safeParse(body);
  return r.success ? [] : validationIssues(r.error);
}

describe('order creation request', () => {
  it('accepts a Native order and defaults bonus points to 0', () => {
    const { bonus_points: _b, ...rest } = valid;
    expect(createOrderRequest.parse(rest)).toMatchObject({ bonus_points: 0, trade_type: 'NATIVE' });
  });

  it('accepts a JSAPI order with an openid', () => {
    expect(issues({ ...valid, trade_type: 'JSAPI', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' })).toEqual([]);
  });

  it('requires an openid for JSAPI and refuses one for Native', () => {
    expect(issues({ ...valid, trade_type: 'JSAPI' })).toEqual([
      { field: 'openid', message: 'is required for JSAPI orders' },
    ]);
    expect(issues({ ...valid, openid: 'o-1' })).toEqual([
      { field: 'openid', message: 'is only for JSAPI orders' },
    ]);
  });

  it.each([
    ['amount_fen', 0],
    ['amount_fen', -1],
    ['amount_fen', 10.5],
    ['amount_fen', '1000'],
    ['points', -5],
    ['bonus_points', 1.5],
    ['trade_type', 'APP'],
    ['description', ''],
    ['description', 'x'.repeat(128)],
    ['description', 'line\nbreak'],
    ['user_id', ''],
    ['merchant_order_no', 'has space'],
    ['merchant_order_no', 'x'.repeat(65)],
    ['expires_in_seconds', 59],
    ['expires_in_seconds', 7 * 86_400 + 1],
    ['time_expire', '2026-01-01 10:00:00'],
  ])('names the field when %s is %p', (field, value) => {
    expect(issues({ ...valid, [field]: value }).map((i) => i.field)).toEqual([field]);
  });

  it('requires every mandatory field', () => {
    expect(
      issues({})
        .map((i) => i.field)
        .sort(),
    ).toEqual(['amount_fen', 'description', 'merchant_order_no', 'points', 'trade_type', 'user_id'].sort());
  });

  it('refuses unknown fields and both kinds of expiry at once', () => {
    expect(issues({ ...valid, amount: 1000 })).toEqual([
      { field: '(body)', message: 'unknown field(s): amount' },
    ]);
    expect(issues({ ...valid, expires_in_seconds: 600, time_expire: '2030-01-01T00:00:00+08:00' })).toEqual([
      { field: 'time_expire', message: 'give either expires_in_seconds or time_expire, not both' },
    ]);
  });

  it('never echoes the openid in a validation message', () => {
    const openid = 'oSECRETopenid000000000000000';
    const found = issues({ ...valid, openid, trade_type: 'JSAPI', amount_fen: -1, extra: openid });
    expect(JSON.stringify(found)).not.toContain(openid);
  });
});

describe('out_trade_no and times', () => {
  it('generates 30-character order numbers WeChat accepts, sortable by creation time', () => {
    const a = newOutTradeNo(new Date('2026-03-01T02:03:04.567Z'));
    const b = newOutTradeNo(new Date('2026-03-01T02:03:05.000Z'));
    expect(a).toMatch(/^RC20260301020304[0-9A-Z]{14}$/);
    expect(a.length).toBe(30);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newOutTradeNo())).size).toBe(1000);
  });

  it('writes times in Beijing time to the second, as WeChat does', () => {
    expect(beijingRfc3339(new Date('2026-03-01T18:30:15.999Z'))).toBe('2026-03-02T02:30:15+08:00');
  });
});
