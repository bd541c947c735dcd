import type { KeyObject } from 'node:crypto';
import { WECHATPAY_SIGNATURE_TYPE } from './constants.ts';
import { BadSignatureError, MalformedError } from './errors.ts';
import { randomNonce, requestSignString, rsaSign, rsaSignAsync, rsaVerify } from './sign.ts';

export interface AuthorizationFields {
  mchid: string;
  /** Merchant API certificate serial (`serial_no`). */
  serialNo: string;
  /** `nonce_str`. */
  nonce: string;
  /** Unix seconds. */
  timestamp: string | number;
  /** base64 signature of the request sign string. */
  signature: string;
}

export interface ParsedAuthorization {
  mchid: string;
  serialNo: string;
  nonce: string;
  timestamp: string;
  signature: string;
}

/** `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`. */
export function buildAuthorization(fields: AuthorizationFields): string {
  const { mchid, serialNo, nonce, timestamp, signature } = fields;
  return (
    `${WECHATPAY_SIGNATURE_TYPE} mchid="${mchid}",nonce_str="${nonce}",signature="${signature}",` +
    `timestamp="${timestamp}",serial_no="${serialNo}"`
  );
}

const NAMES = {
  mchid: 'mchid',
  nonce_str: 'nonce',
  signature: 'signature',
  timestamp: 'timestamp',
  serial_no: 'serialNo',
} as const;
type WireName = keyof typeof NAMES;
const PAIR = /^\s*([a-z_]+)="([^"]*)"\s*$/;

/** Parses an Authorization header; fields may come in any order. Anything else is MalformedError. */
export function parseAuthorization(header: string): ParsedAuthorization {
  if (typeof header !== 'string') throw new MalformedError('Authorization header is not a string');
  const prefix = `${WECHATPAY_SIGNATURE_TYPE} `;
  if (!header.startsWith(prefix))
    throw new MalformedError('Authorization scheme is not WECHATPAY2-SHA256-RSA2048');
  const out: Partial<ParsedAuthorization> = {};
  for (const part of header.slice(prefix.length).split(',')) {
    const match = PAIR.exec(part);
    if (!match) throw new MalformedError('Authorization field is not name="value"');
    const wire = match[1] as string;
    if (!Object.hasOwn(NAMES, wire)) throw new MalformedError(`unknown Authorization field ${wire}`);
    const name = NAMES[wire as WireName];
    if (out[name] !== undefined) throw new MalformedError(`duplicate Authorization field ${wire}`);
    const value = match[2] as string;
    if (value.length === 0) throw new MalformedError(`empty Authorization field ${wire}`);
    out[name] = value;
  }
  for (const [wire, name] of Object.entries(NAMES)) {
    if (out[name] === undefined) throw new MalformedError(`missing Authorization field ${wire}`);
  }
  if (!/^\d{1,12}$/.test(out.timestamp as string))
    throw new MalformedError('Authorization timestamp is not unix seconds');
  return out as ParsedAuthorization;
}

export interface SignRequestInput {
  mchid: string;
  serialNo: string;
  privateKey: KeyObject | string;
  method: string;
  /** Path plus query string exactly as sent, e.g. `/v3/pay/transactions/out-trade-no/X?mchid=Y`. */
  pathWithQuery: string;
  /** Exactly the bytes sent; '' for GET. */
  body?: string;
  timestamp?: string | number;
  nonce?: string;
}

/** The header's fields and the string to sign, with timestamp and nonce defaulted. */
function requestToSign(input: SignRequestInput) {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomNonce();
  const message = requestSignString(input.method, input.pathWithQuery, timestamp, nonce, input.body ?? '');
  return { mchid: input.mchid, serialNo: input.serialNo, nonce, timestamp, message };
}

/** Builds a complete Authorization header value for one request. */
export function signRequest(input: SignRequestInput): string {
  const { message, ...fields } = requestToSign(input);
  return buildAuthorization({ ...fields, signature: rsaSign(input.privateKey, message) });
}

/** signRequest with the RSA operation on libuv's threadpool (see rsaSignAsync). */
export async function signRequestAsync(input: SignRequestInput): Promise<string> {
  const { message, ...fields } = requestToSign(input);
  return buildAuthorization({ ...fields, signature: await rsaSignAsync(input.privateKey, message) });
}

/**
 * The receiving side (the sandbox): parses `Authorization` and checks its signature over the request
 * as received. Returns the parsed fields; throws MalformedError or BadSignatureError. Checking the
 * timestamp window and mchid is left to the caller.
 */
export function verifyRequestSignature(input: {
  authorization: string | undefined;
  method: string;
  pathWithQuery: string;
  body: string;
  publicKey: KeyObject | string;
}): ParsedAuthorization {
  if (input.authorization === undefined) throw new MalformedError('missing Authorization header');
  const parsed = parseAuthorization(input.authorization);
  const message = requestSignString(
    input.method,
    input.pathWithQuery,
    parsed.timestamp,
    parsed.nonce,
    input.body,
  );
  if (!rsaVerify(input.publicKey, message, parsed.signature))
    throw new BadSignatureError('request signature does not verify');
  return parsed;
}
