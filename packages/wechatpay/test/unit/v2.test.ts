import { describe, expect, it } from '@jest/globals';
import {
  BadSignatureError,
  buildV2Xml,
  MalformedError,
  parseV2Xml,
  V2_SUCCESS_REPLY,
  v2Sign,
  v2SignString,
  verifyV2Notification,
} from '../../src/index.ts';

// WeChat Pay APIv2 documentation example (签名算法): key and expected signatures as published.
const DOC_FIELDS = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};
const DOC_KEY = '192006250b4c09247ec02edce69f6a2d';
const KEY = 'paysyncApiV2KeyForTests000000001';

function paidFields(): Record<string, string> {
  return {
    appid: 'wx2421b1c4370ec43b',
    attach: '支付测试',
    bank_type: 'CFT',
    fee_type: 'CNY',
    is_subscribe: 'Y',
    mch_id: '10000100',
    nonce_str: '5d2b6c2a8db53831f7eda20af46e531c',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    out_trade_no: '1409811653',
    result_code: 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: '20140903131540',
    total_fee: '1',
    coupon_fee: '',
    trade_type: 'JSAPI',
    transaction_id: '1004400740201409030005092168',
  };
}

describe('APIv2 signatures', () => {
  it('reproduces the documentation MD5 and HMAC-SHA256 signatures', () => {
    expect(v2SignString(DOC_FIELDS, DOC_KEY)).toBe(
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d',
    );
    expect(v2Sign(DOC_FIELDS, DOC_KEY, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(v2Sign(DOC_FIELDS, DOC_KEY, 'HMAC-SHA256')).toBe(
      '6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6',
    );
  });

  it('leaves out empty fields and sign itself', () => {
    expect(v2SignString({ b: '2', a: '', sign: 'X', c: '3' }, 'k')).toBe('b=2&c=3&key=k');
  });
});

describe('APIv2 notifications', () => {
  const MD5 = { key: KEY, signType: 'MD5' } as const;
  const HMAC = { key: KEY, signType: 'HMAC-SHA256' } as const;

  it('verifies an MD5-signed paid notification when MD5 is the configured type, and reads its amount', () => {
    const fields = paidFields();
    const xml = buildV2Xml({ ...fields, sign: v2Sign(fields, KEY, 'MD5') });
    const n = verifyV2Notification(xml, MD5);
    expect(n).toMatchObject({ paid: true, signType: 'MD5', outTradeNo: '1409811653', totalFee: 1 });
    expect(n.fields.attach).toBe('支付测试');
  });

  it('verifies an HMAC-SHA256 notification, declared by sign_type or not', () => {
    const fields = { ...paidFields(), sign_type: 'HMAC-SHA256' };
    const xml = buildV2Xml({ ...fields, sign: v2Sign(fields, KEY, 'HMAC-SHA256') });
    expect(verifyV2Notification(Buffer.from(xml), HMAC).signType).toBe('HMAC-SHA256');
    const undeclared = paidFields();
    const hmac = buildV2Xml({ ...undeclared, sign: v2Sign(undeclared, KEY, 'HMAC-SHA256') });
    expect(verifyV2Notification(hmac, HMAC).paid).toBe(true);
    expect(() => verifyV2Notification(hmac, MD5)).toThrow(BadSignatureError);
  });

  it('never lets the message choose the sign type: another declared or undeclared type is refused', () => {
    const fields = paidFields();
    const md5 = buildV2Xml({ ...fields, sign: v2Sign(fields, KEY, 'MD5') });
    expect(() => verifyV2Notification(md5, HMAC)).toThrow(BadSignatureError);
    const declaredMd5 = { ...fields, sign_type: 'MD5' };
    const xml = buildV2Xml({ ...declaredMd5, sign: v2Sign(declaredMd5, KEY, 'MD5') });
    expect(() => verifyV2Notification(xml, HMAC)).toThrow(/sign_type MD5 is not the configured HMAC-SHA256/);
    const declaredHmac = { ...fields, sign_type: 'HMAC-SHA256' };
    const other = buildV2Xml({ ...declaredHmac, sign: v2Sign(declaredHmac, KEY, 'HMAC-SHA256') });
    expect(() => verifyV2Notification(other, MD5)).toThrow(BadSignatureError);
  });

  it('rejects a changed amount, a wrong key, a lower-case or missing sign', () => {
    const fields = paidFields();
    const sign = v2Sign(fields, KEY, 'HMAC-SHA256');
    expect(() => verifyV2Notification(buildV2Xml({ ...fields, total_fee: '100', sign }), HMAC)).toThrow(
      BadSignatureError,
    );
    expect(() =>
      verifyV2Notification(buildV2Xml({ ...fields, sign }), { key: 'another-key', signType: 'HMAC-SHA256' }),
    ).toThrow(BadSignatureError);
    expect(() => verifyV2Notification(buildV2Xml({ ...fields, sign: sign.toLowerCase() }), HMAC)).toThrow(
      BadSignatureError,
    );
    expect(() => verifyV2Notification(buildV2Xml(fields), HMAC)).toThrow(BadSignatureError);
  });

  it('reports not paid unless both return_code and result_code are SUCCESS', () => {
    const fields = { ...paidFields(), result_code: 'FAIL' };
    expect(
      verifyV2Notification(buildV2Xml({ ...fields, sign: v2Sign(fields, KEY, 'HMAC-SHA256') }), HMAC).paid,
    ).toBe(false);
  });

  it('exports the exact success reply', () => {
    expect(V2_SUCCESS_REPLY).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
    );
  });
});

describe('parseV2Xml', () => {
  it('reads CDATA and plain text fields, with whitespace and an XML declaration', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<xml>\n  <a><![CDATA[x<y&z]]></a>\n  <b>1 &amp; 2 &#20013;</b>\n  <c></c>\n</xml>\n';
    expect(parseV2Xml(xml)).toEqual({ a: 'x<y&z', b: '1 & 2 中', c: '' });
  });

  it.each([
    ['a DOCTYPE (XXE)', '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>'],
    ['an unknown entity', '<xml><a>&e;</a></xml>'],
    ['a bare ampersand', '<xml><a>a & b</a></xml>'],
    ['an attribute', '<xml><a x="1">v</a></xml>'],
    ['nesting', '<xml><a><b>v</b></a></xml>'],
    ['a repeated field', '<xml><a>1</a><a>2</a></xml>'],
    ['a mismatched tag', '<xml><a>1</b></xml>'],
    ['a different root', '<root><a>1</a></root>'],
    ['trailing garbage', '<xml><a>1</a></xml><x/>'],
    ['an invalid character reference', '<xml><a>&#1114112;</a></xml>'],
  ])('rejects %s with MalformedError', (_label, xml) => {
    expect(() => parseV2Xml(xml)).toThrow(MalformedError);
  });

  it('keeps a field named __proto__ as data without touching the prototype', () => {
    const parsed = parseV2Xml('<xml><__proto__>1</__proto__></xml>');
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['__proto__']);
  });

  it('rejects invalid UTF-8 and oversized input', () => {
    expect(() => parseV2Xml(Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0x3c]))).toThrow(MalformedError);
    expect(() => parseV2Xml(`<xml><a>${'x'.repeat(70_000)}</a></xml>`)).toThrow(MalformedError);
  });
});
