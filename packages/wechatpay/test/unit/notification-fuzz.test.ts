import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  buildSignedHeaders,
  NotificationVerifier,
  SIGNATURE_PROBE_PREFIX,
  VerificationKeyStore,
  WECHATPAY_SIGNATURE_TYPE,
  WeChatPayError,
} from '../../src/index.ts';
import { API_V3_KEY, makeCertificate, nextSerial, rsaPair } from '../support/keys.ts';
import { clock, makeNotification, NOW_S, transactionResource } from '../support/notifications.ts';

/**
 * Property: across ≥10,000 random and mutated notifications, the verifier accepts exactly the ones
 * that are byte-for-byte a valid signed notification (header-name case and unrelated headers aside),
 * and every rejection is one of our typed errors.
 */

const cert = await makeCertificate(nextSerial());
const pub = rsaPair();
const PUB_ID = 'PUB_KEY_ID_0112345678202601150000000000';
const keys = new VerificationKeyStore({
  certificates: [cert.platform],
  publicKeys: [{ id: PUB_ID, key: pub.publicKey }],
  clock,
});
const verifier = new NotificationVerifier({ keys, apiV3Key: API_V3_KEY, clock });

const BASES = [
  makeNotification({ privateKey: cert.privateKey, serial: cert.serial }),
  makeNotification({ privateKey: pub.privateKey, serial: PUB_ID, timestamp: NOW_S - 200 }),
  makeNotification({
    privateKey: cert.privateKey,
    serial: cert.serial,
    data: transactionResource({ trade_state: 'REFUND', out_trade_no: 'RECHARGE_ORDER_999999' }),
    timestamp: NOW_S + 120,
  }),
];
const CODES = new Set([
  'BAD_SIGNATURE',
  'STALE_TIMESTAMP',
  'UNKNOWN_SERIAL',
  'DECRYPT_FAILED',
  'MALFORMED',
  'MISSING_HEADER',
  'UNSUPPORTED_SIGNATURE_TYPE',
]);
const HEADER_NAMES = [
  'Wechatpay-Serial',
  'Wechatpay-Signature',
  'Wechatpay-Timestamp',
  'Wechatpay-Nonce',
  'Wechatpay-Signature-Type',
] as const;

type HeaderOp =
  | { op: 'keep' }
  | { op: 'delete' }
  | { op: 'replace'; value: string }
  | { op: 'prefix' | 'suffix'; text: string }
  | { op: 'lower' | 'upper' | 'probe' | 'unpad' | 'urlsafe' | 'newline' | 'leadingZero' }
  | { op: 'shift'; delta: number }
  | { op: 'array'; extra: string }
  | { op: 'duplicate' }
  | { op: 'flip'; index: number; char: string };

type BodyOp =
  | { op: 'keep' | 'asString' | 'latin1' | 'reserialise' | 'bom' | 'object' }
  | { op: 'flip'; index: number; xor: number }
  | { op: 'truncate'; by: number }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'random'; bytes: Uint8Array };

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.base64String({ maxLength: 400 }),
  fc.integer({ min: -1e12, max: 1e13 }).map(String),
  fc.constantFrom(
    '',
    ' ',
    'PUB_KEY_ID_',
    'PUB_KEY_ID_0112345678202601150000000001',
    '0'.repeat(40),
    WECHATPAY_SIGNATURE_TYPE,
  ),
);

const headerOp: fc.Arbitrary<HeaderOp> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ op: 'keep' } as const) },
  fc.constant({ op: 'delete' } as const),
  anyText.map((value) => ({ op: 'replace', value }) as const),
  fc.string({ maxLength: 3 }).map((text) => ({ op: 'prefix', text }) as const),
  fc.string({ maxLength: 3 }).map((text) => ({ op: 'suffix', text }) as const),
  fc
    .constantFrom('lower', 'upper', 'probe', 'unpad', 'urlsafe', 'newline', 'leadingZero')
    .map((op) => ({ op }) as HeaderOp),
  fc.integer({ min: -400, max: 400 }).map((delta) => ({ op: 'shift', delta }) as const),
  anyText.map((extra) => ({ op: 'array', extra }) as const),
  fc.constant({ op: 'duplicate' } as const),
  fc
    .record({ index: fc.nat({ max: 400 }), char: fc.string({ minLength: 1, maxLength: 1 }) })
    .map((r) => ({ op: 'flip', ...r }) as const),
);

const bodyOp: fc.Arbitrary<BodyOp> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ op: 'keep' } as const) },
  fc.constantFrom('asString', 'latin1', 'reserialise', 'bom', 'object').map((op) => ({ op }) as BodyOp),
  fc
    .record({ index: fc.nat({ max: 2000 }), xor: fc.integer({ min: 1, max: 255 }) })
    .map((r) => ({ op: 'flip', ...r }) as const),
  fc.integer({ min: 1, max: 50 }).map((by) => ({ op: 'truncate', by }) as const),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((bytes) => ({ op: 'append', bytes }) as const),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => ({ op: 'random', bytes }) as const),
);

function applyHeader(value: string, op: HeaderOp): string | string[] | undefined {
  switch (op.op) {
    case 'keep':
    case 'duplicate':
      return value;
    case 'delete':
      return undefined;
    case 'replace':
      return op.value;
    case 'prefix':
      return op.text + value;
    case 'suffix':
      return value + op.text;
    case 'lower':
      return value.toLowerCase();
    case 'upper':
      return value.toUpperCase();
    case 'probe':
      return SIGNATURE_PROBE_PREFIX + value;
    case 'unpad':
      return value.replace(/=+$/, '');
    case 'urlsafe':
      return value.replace(/\+/g, '-').replace(/\//g, '_');
    case 'newline':
      return `${value.slice(0, 10)}\n${value.slice(10)}`;
    case 'leadingZero':
      return `0${value}`;
    case 'shift':
      return /^\d+$/.test(value) ? String(Number(value) + op.delta) : value;
    case 'array':
      return [value, op.extra];
    case 'flip': {
      const i = op.index % Math.max(value.length, 1);
      return value.slice(0, i) + op.char + value.slice(i + 1);
    }
  }
}

function applyBody(body: Buffer, op: BodyOp): unknown {
  switch (op.op) {
    case 'keep':
      return body;
    case 'asString':
      return body.toString('utf8');
    case 'latin1':
      return body.toString('latin1');
    case 'reserialise':
      return JSON.stringify(JSON.parse(body.toString('utf8')), null, 1);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    case 'object':
      return JSON.parse(body.toString('utf8'));
    case 'flip': {
      const copy = Buffer.from(body);
      const i = op.index % copy.length;
      copy[i] = (copy[i] as number) ^ op.xor;
      return copy;
    }
    case 'truncate':
      return body.subarray(0, Math.max(0, body.length - op.by));
    case 'append':
      return Buffer.concat([body, op.bytes]);
    case 'random':
      return Buffer.from(op.bytes);
  }
}

interface Built {
  headers: Record<string, string | string[]>;
  body: unknown;
  valid: boolean;
}

function build(
  base: (typeof BASES)[number],
  ops: HeaderOp[],
  body: BodyOp,
  nameCase: boolean[],
  extra: Record<string, string>,
): Built {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(extra)) headers[`x-${k}`] = v;
  HEADER_NAMES.forEach((name, i) => {
    const original = base.headers[name] as string;
    const op = ops[i] ?? { op: 'keep' };
    const value = applyHeader(original, op);
    const spelled = nameCase[i] ? name.toLowerCase() : name;
    if (value !== undefined) headers[spelled] = value;
    if (op.op === 'duplicate') headers[nameCase[i] ? name : name.toUpperCase()] = value as string;
  });
  headers['Request-ID'] = 'REQ-1';
  const finalBody = applyBody(Buffer.from(base.body), body);

  const byName = new Map<string, Array<string | string[]>>();
  for (const [k, v] of Object.entries(headers))
    byName.set(k.toLowerCase(), [...(byName.get(k.toLowerCase()) ?? []), v]);
  const single = (name: string): string | undefined => {
    const values = byName.get(name);
    return values?.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
  };
  const bodyBytes =
    typeof finalBody === 'string'
      ? Buffer.from(finalBody, 'utf8')
      : Buffer.isBuffer(finalBody)
        ? finalBody
        : undefined;
  const type = byName.get('wechatpay-signature-type');
  const valid =
    bodyBytes?.equals(Buffer.from(base.body)) === true &&
    HEADER_NAMES.slice(0, 4).every((name) => single(name.toLowerCase()) === base.headers[name]) &&
    (type === undefined || single('wechatpay-signature-type') === WECHATPAY_SIGNATURE_TYPE);
  return { headers, body: finalBody, valid };
}

async function check(c: Built): Promise<void> {
  let accepted = false;
  try {
    const result = await verifier.verify(c as never);
    accepted = true;
    expect(result.kind).toBe('transaction');
  } catch (error) {
    if (!(error instanceof WeChatPayError) || !CODES.has(error.code)) {
      throw new Error(`untyped rejection: ${String(error)}`);
    }
    for (const base of BASES) expect(error.message).not.toContain(base.headers['Wechatpay-Signature']);
  }
  if (accepted !== c.valid) throw new Error(`accepted=${accepted} but valid=${c.valid}`);
}

describe('notification verifier under fuzzing', () => {
  it('accepts exactly the valid notifications among 10,000 mutated ones and throws only typed errors', async () => {
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: BASES.length - 1 }),
        fc.array(headerOp, { minLength: 5, maxLength: 5 }),
        bodyOp,
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
        async (baseIndex, ops, body, nameCase, extra) => {
          const c = build(BASES[baseIndex] as (typeof BASES)[number], ops, body, nameCase, extra);
          if (c.valid) valid++;
          await check(c);
        },
      ),
      { numRuns: 10_000 },
    );
    // The mix must exercise both sides of the property, not just rejections.
    expect(valid).toBeGreaterThan(100);
  }, 180_000);

  it('rejects 2,000 entirely random header sets and bodies with typed errors only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            fc.constantFrom(...HEADER_NAMES),
            fc.mixedCase(fc.constantFrom(...HEADER_NAMES)),
            fc.string({ maxLength: 12 }),
          ),
          anyText,
          { maxKeys: 8 },
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 800 }).map((b) => Buffer.from(b)),
          fc.json(),
          fc.string({ unit: 'binary' }),
        ),
        async (headers, body) => {
          await check({ headers, body, valid: false });
        },
      ),
      { numRuns: 2_000 },
    );
  }, 60_000);

  it('never throws untyped errors for 500 well-signed but arbitrary bodies, and accepts only intact ciphertext', async () => {
    const original = JSON.parse(BASES[0]?.body ?? '{}') as { resource: { ciphertext: string } };
    await fc.assert(
      fc.asyncProperty(bodyOp, async (op) => {
        const mutated = applyBody(Buffer.from(BASES[0]?.body ?? ''), op);
        const body =
          typeof mutated === 'string' || Buffer.isBuffer(mutated) ? mutated : JSON.stringify(mutated);
        const headers = buildSignedHeaders({
          privateKey: cert.privateKey,
          serial: cert.serial,
          body,
          timestamp: NOW_S,
        });
        try {
          await verifier.verify({ headers, body });
          const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as typeof original;
          expect(parsed.resource.ciphertext).toBe(original.resource.ciphertext);
        } catch (error) {
          if (!(error instanceof WeChatPayError) || !CODES.has(error.code))
            throw new Error(`untyped: ${String(error)}`);
        }
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});
