import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  BadSignatureError,
  buildAuthorization,
  DecryptFailedError,
  InvalidKeyError,
  MalformedError,
  messageSignString,
  parseAuthorization,
  requestSignString,
  rsaSign,
  rsaVerify,
  rsaVerifyAsync,
  signRequest,
  signRequestAsync,
  verifyRequestSignature,
  WECHATPAY_SIGNATURE_TYPE,
  WeChatPayError,
} from '../../src/index.ts';
import { DOC_EXAMPLE } from '../fixtures/doc-example-key.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const API_V3_KEY = 'a'.repeat(16) + 'B'.repeat(16);

/** The request of WeChat Pay's signing documentation, signed with its published test key. */
const DOC_REQUEST = {
  mchid: DOC_EXAMPLE.mchid,
  serialNo: DOC_EXAMPLE.serialNo,
  privateKey: DOC_EXAMPLE.privateKeyPem,
  method: 'GET',
  pathWithQuery: DOC_EXAMPLE.path,
  timestamp: DOC_EXAMPLE.timestamp,
  nonce: DOC_EXAMPLE.nonce,
};

describe('request signing', () => {
  it('builds the request sign string with a trailing newline and an empty GET body', () => {
    expect(requestSignString('get', '/v3/x?mchid=1', 1554208460, 'N', '')).toBe(
      'GET\n/v3/x?mchid=1\n1554208460\nN\n\n',
    );
    expect(requestSignString('POST', '/v3/y', '1', 'N', '{"a":1}')).toBe('POST\n/v3/y\n1\nN\n{"a":1}\n');
  });

  it('reproduces the official documentation example signature with the documentation test key', () => {
    const message = requestSignString(
      DOC_EXAMPLE.method,
      DOC_EXAMPLE.path,
      DOC_EXAMPLE.timestamp,
      DOC_EXAMPLE.nonce,
      '',
    );
    const signature = rsaSign(DOC_EXAMPLE.privateKeyPem, message);
    expect(signature.startsWith(DOC_EXAMPLE.signaturePrefix)).toBe(true);
    expect(signature).toBe(DOC_EXAMPLE.signature);
    expect(rsaVerify(DOC_EXAMPLE.privateKeyPem, message, signature)).toBe(true);
  });

  it('builds the documented Authorization header for the documentation example', () => {
    const header = signRequest(DOC_REQUEST);
    expect(header).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="1900007291",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",` +
        `signature="${DOC_EXAMPLE.signature}",timestamp="1554208460",serial_no="408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB"`,
    );
  });

  it('signs off the event loop to the same documented header (RSASSA-PKCS1-v1_5 is deterministic)', async () => {
    const header = await signRequestAsync(DOC_REQUEST);
    expect(header).toContain(`signature="${DOC_EXAMPLE.signature}"`);
    expect(header).toBe(signRequest(DOC_REQUEST));
  });

  it('refuses to sign asynchronously with a public key', async () => {
    await expect(
      signRequestAsync({
        mchid: '1',
        serialNo: 'A',
        privateKey: publicKey,
        method: 'GET',
        pathWithQuery: '/',
      }),
    ).rejects.toBeInstanceOf(InvalidKeyError);
  });
});

describe('request signature verification (receiving side)', () => {
  it('accepts a request signed by the merchant and rejects a changed path or body', () => {
    const authorization = signRequest({
      mchid: '1900007291',
      serialNo: 'ABC',
      privateKey,
      method: 'POST',
      pathWithQuery: '/v3/pay/transactions/native',
      body: '{"a":1}',
    });
    const base = {
      authorization,
      method: 'POST',
      pathWithQuery: '/v3/pay/transactions/native',
      body: '{"a":1}',
      publicKey,
    };
    expect(verifyRequestSignature(base).mchid).toBe('1900007291');
    expect(() => verifyRequestSignature({ ...base, pathWithQuery: '/v3/pay/transactions/jsapi' })).toThrow(
      BadSignatureError,
    );
    expect(() => verifyRequestSignature({ ...base, body: '{"a":2}' })).toThrow(BadSignatureError);
    expect(() => verifyRequestSignature({ ...base, authorization: undefined })).toThrow(MalformedError);
  });
});

describe('message signatures', () => {
  it('signs ts\\nnonce\\nbody\\n over the raw bytes', () => {
    const body = Buffer.from([0x7b, 0xe4, 0xb8, 0xad, 0x7d]);
    const message = messageSignString('1700000000', 'NONCE', body);
    expect(message.equals(Buffer.concat([Buffer.from('1700000000\nNONCE\n'), body, Buffer.from('\n')]))).toBe(
      true,
    );
    expect(messageSignString(1, 'n', '').toString()).toBe('1\nn\n\n');
  });

  it('verifies a genuine signature and rejects a changed message', () => {
    const sig = rsaSign(privateKey, 'hello');
    expect(rsaVerify(publicKey, 'hello', sig)).toBe(true);
    expect(rsaVerify(publicKey, 'hellO', sig)).toBe(false);
  });

  it('returns false instead of throwing on junk signatures and keys', () => {
    const sig = rsaSign(privateKey, 'hello');
    for (const junk of ['', '!!!', 'WECHATPAY/SIGNTEST/abc', 'abc', sig.slice(1), `${sig} `, `${sig}A`]) {
      expect(rsaVerify(publicKey, 'hello', junk)).toBe(false);
    }
    expect(rsaVerify('not a key', 'hello', sig)).toBe(false);
    expect(rsaVerify(publicKey, 'hello', undefined as unknown as string)).toBe(false);
  });

  it('refuses to sign with an unreadable key', () => {
    expect(() => rsaSign('garbage', 'x')).toThrow(InvalidKeyError);
  });

  it('gives the same answers verifying on the threadpool, junk included, and never rejects', async () => {
    const sig = rsaSign(privateKey, 'hello');
    expect(await rsaVerifyAsync(publicKey, 'hello', sig)).toBe(true);
    expect(await rsaVerifyAsync(privateKey, 'hello', sig)).toBe(true);
    expect(await rsaVerifyAsync(publicKey, 'hellO', sig)).toBe(false);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(await rsaVerifyAsync(other, 'hello', sig)).toBe(false);
    for (const junk of ['', '!!!', 'WECHATPAY/SIGNTEST/abc', 'abc', sig.slice(1), `${sig} `, `${sig}A`]) {
      expect(await rsaVerifyAsync(publicKey, 'hello', junk)).toBe(false);
    }
    expect(await rsaVerifyAsync('not a key', 'hello', sig)).toBe(false);
  });
});

describe('AES-256-GCM', () => {
  it('round-trips and appends a 16-byte tag', () => {
    const ct = aesGcmEncrypt(API_V3_KEY, 'abcdefghijkl', 'transaction', '{"a":"中"}');
    expect(Buffer.from(ct, 'base64').length).toBe(Buffer.byteLength('{"a":"中"}') + 16);
    expect(aesGcmDecrypt(API_V3_KEY, 'abcdefghijkl', 'transaction', ct).toString()).toBe('{"a":"中"}');
  });

  it('fails with DecryptFailedError on a wrong key, nonce, associated data or tampered tag', () => {
    const ct = aesGcmEncrypt(API_V3_KEY, 'abcdefghijkl', 'certificate', 'pem');
    const raw = Buffer.from(ct, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1;
    const attempts = [
      () => aesGcmDecrypt('b'.repeat(32), 'abcdefghijkl', 'certificate', ct),
      () => aesGcmDecrypt(API_V3_KEY, 'abcdefghijkX', 'certificate', ct),
      () => aesGcmDecrypt(API_V3_KEY, 'abcdefghijkl', '', ct),
      () => aesGcmDecrypt(API_V3_KEY, 'abcdefghijkl', 'certificate', raw.toString('base64')),
      () => aesGcmDecrypt(API_V3_KEY, 'abcdefghijkl', 'certificate', 'AAAA'),
      () => aesGcmDecrypt(API_V3_KEY, 'abcdefghijkl', 'certificate', 'not base64!'),
    ];
    for (const attempt of attempts) expect(attempt).toThrow(DecryptFailedError);
  });

  it('refuses APIv3 keys that are not exactly 32 bytes', () => {
    for (const key of ['short', 'x'.repeat(31), 'x'.repeat(33), 'é'.repeat(32), Buffer.alloc(16)]) {
      expect(() => aesGcmEncrypt(key, 'abcdefghijkl', '', 'x')).toThrow(InvalidKeyError);
      expect(() => aesGcmDecrypt(key, 'abcdefghijkl', '', 'AAAAAAAAAAAAAAAAAAAAAA==')).toThrow(
        InvalidKeyError,
      );
    }
    expect(aesGcmEncrypt(Buffer.alloc(32, 1), 'n', '', 'x')).toEqual(expect.any(String));
  });
});

describe('Authorization header', () => {
  const fields = {
    mchid: '1900007291',
    serialNo: 'ABC',
    nonce: 'N1',
    timestamp: 1554208460,
    signature: 'c2ln+/==',
  };

  it('round-trips through build and parse', () => {
    const header = buildAuthorization(fields);
    expect(header.startsWith(`${WECHATPAY_SIGNATURE_TYPE} mchid="1900007291",nonce_str="N1"`)).toBe(true);
    expect(parseAuthorization(header)).toEqual({ ...fields, timestamp: '1554208460' });
  });

  it('parses fields in any order', () => {
    const header =
      'WECHATPAY2-SHA256-RSA2048 serial_no="ABC", timestamp="1554208460",signature="c2ln+/==",nonce_str="N1",mchid="1900007291"';
    expect(parseAuthorization(header)).toEqual({ ...fields, timestamp: '1554208460' });
  });

  it('rejects a wrong scheme, missing, duplicate, unknown or empty fields with MalformedError', () => {
    const ok = buildAuthorization(fields);
    const bad = [
      ok.replace('WECHATPAY2-SHA256-RSA2048', 'WECHATPAY2-SHA256-RSA4096'),
      ok.replace(',serial_no="ABC"', ''),
      `${ok},mchid="1"`,
      `${ok},extra="1"`,
      ok.replace('nonce_str="N1"', 'nonce_str=""'),
      ok.replace('timestamp="1554208460"', 'timestamp="soon"'),
      ok.replace('mchid="1900007291"', 'mchid=1900007291'),
      '',
    ];
    for (const header of bad) {
      let caught: unknown;
      try {
        parseAuthorization(header);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MalformedError);
      expect(caught).toBeInstanceOf(WeChatPayError);
      expect((caught as WeChatPayError).code).toBe('MALFORMED');
    }
  });
});

describe('rsaVerify and base64 spellings', () => {
  it('accepts only the canonical base64 of a signature, not another spelling of the same bytes', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = rsaSign(privateKey, 'message');
    expect(rsaVerify(publicKey, 'message', signature)).toBe(true);
    // 256 bytes end in "xy==": the second-to-last data character carries 4 unused bits.
    const last = signature.length - 3;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const value = alphabet.indexOf(signature[last] as string);
    const sameBytes = `${signature.slice(0, last)}${alphabet[value ^ 1]}${signature.slice(last + 1)}`;
    expect(Buffer.from(sameBytes, 'base64')).toEqual(Buffer.from(signature, 'base64'));
    expect(rsaVerify(publicKey, 'message', sameBytes)).toBe(false);
  });
});
