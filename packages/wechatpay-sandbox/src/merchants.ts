import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { generateRsaKeyPair } from './keys.ts';
import { randomAlphanumeric } from './random.ts';

/** A merchant the sandbox knows, as configured at start (everything WeChat knows about it). */
export const merchantSchema = z.strictObject({
  mchid: z.string().regex(/^\d{6,32}$/, 'mchid is digits'),
  appids: z.array(z.string().min(1).max(32)).min(1),
  /** The merchant's APIv3 key: exactly 32 characters, used as its raw bytes. */
  apiV3Key: z.string().refine((key) => Buffer.byteLength(key, 'utf8') === 32, 'apiV3Key must be 32 bytes'),
  /** Serial of the merchant's API certificate (the Authorization's serial_no). */
  certificateSerial: z.string().regex(/^[0-9A-Fa-f]{8,40}$/),
  /** The merchant's API public key or certificate, PEM: verifies the merchant's request signatures. */
  publicKeyPem: z.string().includes('-----BEGIN'),
});

export type MerchantConfig = z.input<typeof merchantSchema>;

/** A merchant as the sandbox holds it. */
export interface Merchant {
  mchid: string;
  appids: string[];
  apiV3Key: string;
  certificateSerial: string;
  publicKey: KeyObject;
}

/** A generated merchant, including the private key a test's client signs requests with. */
export interface TestMerchant extends Merchant {
  appid: string;
  privateKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
}

export function toMerchant(config: MerchantConfig): Merchant {
  const parsed = merchantSchema.parse(config);
  return {
    mchid: parsed.mchid,
    appids: parsed.appids,
    apiV3Key: parsed.apiV3Key,
    certificateSerial: parsed.certificateSerial.toUpperCase(),
    publicKey: createPublicKey(parsed.publicKeyPem),
  };
}

/** A fresh merchant with its own RSA key, APIv3 key and certificate serial (for tests and the demo). */
export async function generateTestMerchant(
  overrides: { mchid?: string; appid?: string } = {},
): Promise<TestMerchant> {
  const pair = await generateRsaKeyPair();
  const appid = overrides.appid ?? 'wxd678efh567hg6787';
  return {
    mchid: overrides.mchid ?? '1900009191',
    appid,
    appids: [appid],
    apiV3Key: randomAlphanumeric(32),
    certificateSerial: randomBytes(20).toString('hex').toUpperCase(),
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
