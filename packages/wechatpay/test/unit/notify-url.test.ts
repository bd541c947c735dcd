import { describe, expect, it } from '@jest/globals';
import { checkNotifyUrl } from '../../src/index.ts';

const PATH = '/api/payment/wechat/callback';
const codes = (url: string) => checkNotifyUrl(url, { expectedPath: PATH }).problems.map((p) => p.code);

describe('checkNotifyUrl', () => {
  it('accepts a public https URL on the callback path', () => {
    expect(checkNotifyUrl(`https://pay.example.com${PATH}`, { expectedPath: PATH })).toEqual({
      ok: true,
      problems: [],
    });
    expect(codes(`https://101.32.10.20:8443${PATH}`)).toEqual([]);
  });

  it.each([
    [`http://localhost:8080${PATH}`, ['NOT_HTTPS', 'LOCAL_HOST']], // the incident
    [`https://localhost${PATH}`, ['LOCAL_HOST']],
    [`https://127.0.0.1${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://192.168.1.20${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://10.0.0.5${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://172.20.0.5${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://169.254.169.254${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://[::1]${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://[fe80::1]${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://[::ffff:192.168.0.1]${PATH}`, ['PRIVATE_ADDRESS']],
    [`https://payments.local${PATH}`, ['LOCAL_HOST']],
    [`https://gateway.paysync.svc.cluster.local${PATH}`, ['LOCAL_HOST']],
    [`https://gateway${PATH}`, ['LOCAL_HOST']],
    [`https://pay.example.com${PATH}?order=1`, ['HAS_QUERY']],
    [`https://user:pw@pay.example.com${PATH}`, ['HAS_CREDENTIALS']],
    ['https://pay.example.com/notify', ['WRONG_PATH']],
    ['pay.example.com/notify', ['NOT_A_URL']],
    [`https://203.0.113.10${PATH}`, ['PRIVATE_ADDRESS']], // documentation range
    [`https://pay.example.com${PATH}/${'x'.repeat(250)}`, ['TOO_LONG', 'WRONG_PATH']],
  ])('rejects %s', (url, expected) => {
    expect(codes(url)).toEqual(expected);
  });

  it('says what is wrong in words an operator can act on', () => {
    const [problem] = checkNotifyUrl('https://localhost/x').problems;
    expect(problem?.message).toMatch(/public host of your ingress/);
  });
});
