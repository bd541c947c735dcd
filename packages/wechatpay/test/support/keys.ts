import 'reflect-metadata';
import { generateKeyPairSync, KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { PlatformCertificate } from '../../src/index.ts';
import { platformCertificateFromPem } from '../../src/index.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const API_V3_KEY = 'Paysync0Test0ApiV3Key0ThirtyTwo!';

export interface RsaPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function rsaPair(): RsaPair {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export interface TestCertificate extends RsaPair {
  serial: string;
  pem: string;
  platform: PlatformCertificate;
}

/** A self-signed RSA-2048 certificate like a WeChat platform certificate, with a 40-hex serial. */
export async function makeCertificate(
  serial: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<TestCertificate> {
  const algorithm = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: 'CN=Tenpay.com Root CA Test, O=paysync tests',
    notBefore: validity.notBefore ?? new Date(Date.now() - 86_400_000),
    notAfter: validity.notAfter ?? new Date(Date.now() + 5 * 365 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
  });
  const pem = cert.toString('pem');
  return {
    serial,
    pem,
    privateKey: KeyObject.from(keys.privateKey),
    publicKey: KeyObject.from(keys.publicKey),
    platform: platformCertificateFromPem(pem, { serialNo: serial }),
  };
}

let counter = 0x1000;
/** A fresh 40-upper-hex serial (first digit < 8 so it stays positive in DER). */
export function nextSerial(): string {
  counter += 1;
  return `5${counter.toString(16).toUpperCase().padStart(39, '0')}`;
}
