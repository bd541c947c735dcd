import { describe, expect, it } from '@jest/globals';
import {
  CALLBACK_PATH,
  checkGatewayNotifyUrl,
  describeNotifyUrlProblems,
  loggableUrl,
} from '../../src/notify-url.ts';

// The rules themselves are @paysync/wechatpay's checkNotifyUrl (shared with the reconciler and
// payctl) and are tested there; these tests cover how the gateway applies and explains them.
const codes = (url: string) => checkGatewayNotifyUrl(url).problems.map((p) => p.code);

describe('the gateway’s notify URL check', () => {
  it('accepts a public https URL whose path is the callback route', () => {
    expect(checkGatewayNotifyUrl(`https://pay.example.com${CALLBACK_PATH}`)).toEqual({
      ok: true,
      problems: [],
    });
  });

  it('refuses the incident: http on localhost, on another path', () => {
    expect(codes('http://localhost:8080/pay/notify')).toEqual(['NOT_HTTPS', 'LOCAL_HOST', 'WRONG_PATH']);
  });

  it.each([
    'https://127.0.0.1',
    'https://192.168.1.10',
    'https://10.1.2.3',
    'https://[::1]',
    'https://[::ffff:127.0.0.1]',
    'https://gateway.paysync.svc.cluster.local',
    'https://printer.local',
    'https://gateway',
  ])('refuses %s, which WeChat Pay cannot reach', (origin) => {
    expect(checkGatewayNotifyUrl(`${origin}${CALLBACK_PATH}`).ok).toBe(false);
  });

  it('requires exactly the callback route as the path', () => {
    expect(codes('https://pay.example.com/wechatpay/notify')).toEqual(['WRONG_PATH']);
    expect(codes(`https://pay.example.com${CALLBACK_PATH}/`)).toEqual(['WRONG_PATH']);
    expect(codes(`https://pay.example.com/prefix${CALLBACK_PATH}`)).toEqual(['WRONG_PATH']);
    expect(codes(`https://pay.example.com${CALLBACK_PATH}?from=wechat`)).toEqual(['HAS_QUERY']);
  });

  it('explains every problem with a fix, naming the variable', () => {
    const raw = 'http://localhost:3000/notify?a=1';
    const text = describeNotifyUrlProblems('WECHATPAY_NOTIFY_URL', raw, checkGatewayNotifyUrl(raw));
    expect(text.split('\n')[0]).toBe(
      'WECHATPAY_NOTIFY_URL=http://localhost:3000/notify?a=1 cannot receive WeChat Pay notifications:',
    );
    expect(text.match(/\. Fix: /g)).toHaveLength(4);
    expect(text).toContain('Fix: terminate TLS at the ingress');
    expect(text).toContain(`Fix: set the path to ${CALLBACK_PATH}`);
  });

  it('never repeats credentials or unparseable input', () => {
    const raw = `https://user:hunter2@pay.example.com${CALLBACK_PATH}`;
    expect(describeNotifyUrlProblems('V', raw, checkGatewayNotifyUrl(raw))).not.toContain('hunter2');
    expect(loggableUrl(raw)).toBe(`https://pay.example.com${CALLBACK_PATH}`);
    const junk = 'user:hunter2 at pay.example.com';
    expect(describeNotifyUrlProblems('V', junk, checkGatewayNotifyUrl(junk))).not.toContain('hunter2');
  });
});
