import 'reflect-metadata';
import { KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { PUBLIC_KEY_ID_PREFIX } from '@paysync/wechatpay';
import * as x509 from '@peculiar/x509';
import { randomDigits } from './random.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

const FIVE_YEARS_MS = 5 * 365 * 24 * 3600_000;

export interface RsaKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A platform certificate the sandbox signs with, as WeChat's would be. */
export interface PlatformCertificate extends RsaKeyPair {
  /** 40 upper-case hex characters. */
  serialNo: string;
  certificatePem: string;
  effectiveTime: number;
  expireTime: number;
}

/** A WeChat Pay public key (the certificate-less mode WeChat introduced in 2024). */
export interface PlatformPublicKey extends RsaKeyPair {
  /** `PUB_KEY_ID_` followed by digits. */
  id: string;
  publicKeyPem: string;
}

export async function generateRsaKeyPair(): Promise<RsaKeyPair> {
  const pair = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  return { privateKey: KeyObject.from(pair.privateKey), publicKey: KeyObject.from(pair.publicKey) };
}

/** 20 random bytes with the top bit clear and a non-zero first nibble: always 40 hex digits, positive. */
function certificateSerial(): string {
  const bytes = randomBytes(20);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

/** A self-signed RSA-2048 certificate valid for five years from `now`. */
export async function generatePlatformCertificate(now: number): Promise<PlatformCertificate> {
  const keys = await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
  const notBefore = new Date(Math.floor(now / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + FIVE_YEARS_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: certificateSerial(),
    name: 'C=CN, ST=Guangdong, L=Shenzhen, O=Tenpay.com, OU=paysync sandbox, CN=Tenpay.com sign',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: RSA,
  });
  const certificatePem = cert.toString('pem');
  const parsed = new X509Certificate(certificatePem);
  return {
    serialNo: parsed.serialNumber.toUpperCase(),
    certificatePem,
    privateKey: KeyObject.from(keys.privateKey),
    publicKey: parsed.publicKey,
    effectiveTime: notBefore.getTime(),
    expireTime: notAfter.getTime(),
  };
}

export async function generatePlatformPublicKey(): Promise<PlatformPublicKey> {
  const pair = await generateRsaKeyPair();
  return {
    ...pair,
    id: `${PUBLIC_KEY_ID_PREFIX}01${randomDigits(26)}`,
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
