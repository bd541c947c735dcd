import type { KeyObject } from 'node:crypto';
import { randomNonce, rsaSign } from './sign.ts';

/** What the front end passes to `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment`. */
export interface JsapiPayParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

/** paySign = base64(SHA256withRSA(`appId\ntimeStamp\nnonceStr\npackage\n`)) with the merchant key. */
export function buildJsapiPayParams(input: {
  appId: string;
  prepayId: string;
  privateKey: KeyObject | string;
  /** Unix seconds. */
  timestamp?: number | string;
  nonce?: string;
}): JsapiPayParams {
  const timeStamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const nonceStr = input.nonce ?? randomNonce();
  const pkg = `prepay_id=${input.prepayId}`;
  const paySign = rsaSign(input.privateKey, `${input.appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`);
  return { appId: input.appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}
