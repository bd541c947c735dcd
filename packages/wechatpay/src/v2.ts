import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BadSignatureError, InvalidKeyError, MalformedError } from './errors.ts';

/**
 * APIv2 (XML) notifications, for merchants not yet on v3. A deliberately tiny, strict parser for
 * WeChat's flat `<xml><k>v</k>…</xml>` (optionally CDATA): no attributes, no nesting, no DOCTYPE or
 * entity declarations (so no XXE), no repeated fields.
 */

export type V2SignType = 'MD5' | 'HMAC-SHA256';

/** The APIv2 key with the one sign type it is used with (WECHATPAY_API_V2_SIGN_TYPE). */
export type V2Key = { key: string; signType: V2SignType };

const MAX_XML_BYTES = 64 * 1024;
const FIELD = /^<([A-Za-z_][A-Za-z0-9_]{0,63})>(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))<\/\1>/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeText(text: string): string {
  if (/&(?![a-z]+;|#\d{1,7};|#x[0-9a-fA-F]{1,6};)/.test(text)) throw new MalformedError('bare & in XML text');
  return text.replace(/&([a-z]+|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name.startsWith('#x')
        ? Number.parseInt(name.slice(2), 16)
        : Number.parseInt(name.slice(1), 10);
      if (!(code > 0 && code <= 0x10ffff) || (code >= 0xd800 && code <= 0xdfff)) {
        throw new MalformedError('invalid XML character reference');
      }
      return String.fromCodePoint(code);
    }
    const value = ENTITIES[name];
    if (value === undefined) throw new MalformedError('unknown XML entity');
    return value;
  });
}

/** Parses a flat APIv2 XML message into its fields. Throws MalformedError for anything else. */
export function parseV2Xml(input: string | Buffer): Record<string, string> {
  if (Buffer.isBuffer(input) && input.length > MAX_XML_BYTES) throw new MalformedError('XML too large');
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new MalformedError('XML is not UTF-8');
  }
  if (text.length > MAX_XML_BYTES) throw new MalformedError('XML too large');
  text = text.replace(/^\uFEFF/, '').trim();
  const decl = /^<\?xml[^?]*\?>\s*/.exec(text);
  if (decl) text = text.slice(decl[0].length);
  if (!text.startsWith('<xml>') || !text.endsWith('</xml>'))
    throw new MalformedError('not an <xml> document');
  let rest = text.slice('<xml>'.length, -'</xml>'.length);
  const fields: Record<string, string> = Object.create(null);
  for (rest = rest.trimStart(); rest.length > 0; rest = rest.trimStart()) {
    const match = FIELD.exec(rest);
    if (!match) throw new MalformedError('unexpected XML content');
    const name = match[1] as string;
    if (Object.hasOwn(fields, name)) throw new MalformedError(`repeated XML field ${name}`);
    fields[name] = match[2] !== undefined ? match[2] : decodeText(match[3] ?? '');
    rest = rest.slice(match[0].length);
  }
  return { ...fields };
}

/** `k=v&…&key=<APIv2 key>` over the non-empty fields except `sign`, keys in ASCII order. */
export function v2SignString(fields: Record<string, string>, apiV2Key: string): string {
  const pairs = Object.keys(fields)
    .filter((k) => k !== 'sign' && fields[k] !== undefined && fields[k] !== '')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((k) => `${k}=${fields[k]}`);
  return `${pairs.join('&')}&key=${apiV2Key}`;
}

/** Upper-case hex MD5 or HMAC-SHA256 (keyed with the APIv2 key) of the sign string. */
export function v2Sign(
  fields: Record<string, string>,
  apiV2Key: string,
  signType: V2SignType = 'MD5',
): string {
  if (!apiV2Key) throw new InvalidKeyError('the APIv2 key is empty');
  const message = v2SignString(fields, apiV2Key);
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(message, 'utf8').digest('hex')
      : createHmac('sha256', apiV2Key).update(message, 'utf8').digest('hex');
  return digest.toUpperCase();
}

export interface V2Notification {
  fields: Record<string, string>;
  signType: V2SignType;
  /** `return_code=SUCCESS` and `result_code=SUCCESS`. */
  paid: boolean;
  outTradeNo: string | undefined;
  transactionId: string | undefined;
  /** `total_fee` in fen, when present and an integer. */
  totalFee: number | undefined;
}

/**
 * Parses and verifies an APIv2 notification with the key's pinned sign type: a message that
 * declares another `sign_type` is refused, and one that declares none is checked with the pinned
 * type. The sender never chooses the (weaker) algorithm.
 */
export function verifyV2Notification(xml: string | Buffer, apiV2Key: V2Key): V2Notification {
  const fields = parseV2Xml(xml);
  const declared = fields.sign_type;
  if (declared !== undefined && declared !== 'MD5' && declared !== 'HMAC-SHA256') {
    throw new MalformedError('unsupported sign_type');
  }
  const signType = apiV2Key.signType;
  if (declared !== undefined && declared !== signType) {
    throw new BadSignatureError(`sign_type ${declared} is not the configured ${signType}`);
  }
  const received = fields.sign;
  if (!received) throw new BadSignatureError('missing sign');
  const expected = Buffer.from(v2Sign(fields, apiV2Key.key, signType));
  const actual = Buffer.from(received);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new BadSignatureError();
  const total = fields.total_fee;
  return {
    fields,
    signType,
    paid: fields.return_code === 'SUCCESS' && fields.result_code === 'SUCCESS',
    outTradeNo: fields.out_trade_no,
    transactionId: fields.transaction_id,
    totalFee: total !== undefined && /^\d{1,12}$/.test(total) ? Number(total) : undefined,
  };
}

/** Serialises fields as WeChat's flat XML with CDATA (for the sandbox and tests). */
export function buildV2Xml(fields: Record<string, string>): string {
  const body = Object.entries(fields)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k) || v.includes(']]>'))
        throw new MalformedError('field cannot be written as XML');
      return `<${k}><![CDATA[${v}]]></${k}>`;
    })
    .join('');
  return `<xml>${body}</xml>`;
}
