import {
  type ParsedAuthorization,
  parseAuthorization,
  requestSignString,
  rsaVerify,
} from '@paysync/wechatpay';
import { signError } from './errors.ts';
import type { Merchant } from './merchants.ts';
import { unixSeconds } from './time.ts';

export interface SignedRequest {
  method: string;
  /** Path and query exactly as received: what the merchant signed. */
  pathWithQuery: string;
  authorization: string | undefined;
  body: Buffer;
}

/**
 * Checks a merchant request's `Authorization` as WeChat does: known mchid, the merchant's
 * certificate serial, a timestamp within the window, and an RSA signature over the request string.
 * Every failure is 401 SIGN_ERROR; the messages never echo the signature.
 */
export function verifyMerchantRequest(
  request: SignedRequest,
  merchants: ReadonlyMap<string, Merchant>,
  now: number,
  windowSeconds: number,
): Merchant {
  if (!request.authorization) throw signError('Http头缺少Authorization');
  let auth: ParsedAuthorization;
  try {
    auth = parseAuthorization(request.authorization);
  } catch {
    throw signError('Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》');
  }
  const merchant = merchants.get(auth.mchid);
  if (!merchant) throw signError('商户号不存在或未开通APIv3');
  if (auth.serialNo.toUpperCase() !== merchant.certificateSerial)
    throw signError('商户证书序列号有误。请使用签名私钥匹配的证书序列号');
  if (Math.abs(unixSeconds(now) - Number(auth.timestamp)) > windowSeconds)
    throw signError('请求时间戳与当前时间相差过大');
  const message = requestSignString(
    request.method,
    request.pathWithQuery,
    auth.timestamp,
    auth.nonce,
    request.body.toString('utf8'),
  );
  if (!rsaVerify(merchant.publicKey, message, auth.signature)) throw signError('签名错误，请检查后再试');
  return merchant;
}
