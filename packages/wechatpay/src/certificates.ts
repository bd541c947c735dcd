import { type KeyObject, X509Certificate } from 'node:crypto';
import { aesGcmDecrypt } from './aead.ts';
import { CertificateError } from './errors.ts';
import { certificatesResponseSchema, parseJson, parseWith } from './schemas.ts';

/** A WeChat Pay platform certificate, decrypted and checked. */
export interface PlatformCertificate {
  /** Upper-case hex serial, as in `Wechatpay-Serial`. */
  serialNo: string;
  effectiveTime: string;
  expireTime: string;
  certificate: X509Certificate;
  publicKey: KeyObject;
  pem: string;
}

/** Builds a PlatformCertificate from a PEM, checking that its serial matches `meta.serialNo` if given. */
export function platformCertificateFromPem(
  pem: string,
  meta: { serialNo?: string; effectiveTime?: string; expireTime?: string } = {},
): PlatformCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (cause) {
    throw new CertificateError('platform certificate PEM cannot be parsed', { cause });
  }
  const serialNo = normaliseSerial(certificate.serialNumber);
  if (meta.serialNo !== undefined && normaliseSerial(meta.serialNo) !== serialNo) {
    throw new CertificateError('platform certificate serial does not match its serial_no');
  }
  return {
    serialNo,
    effectiveTime: meta.effectiveTime ?? new Date(certificate.validFrom).toISOString(),
    expireTime: meta.expireTime ?? new Date(certificate.validTo).toISOString(),
    certificate,
    publicKey: certificate.publicKey,
    pem,
  };
}

/** Serials compare as upper-case hex without colons, the way `Wechatpay-Serial` carries them. */
export function normaliseSerial(serial: string): string {
  return serial.replace(/:/g, '').toUpperCase();
}

/**
 * Decodes a `GET /v3/certificates` body: decrypts every `encrypt_certificate` with the APIv3 key,
 * parses the PEM and checks its serial. Does NOT verify the response signature (the caller does, with
 * the union of known keys and these certificates, since the first download has nothing else).
 */
export function decodeCertificatesBody(
  body: Buffer | string,
  apiV3Key: string | Buffer,
): PlatformCertificate[] {
  const parsed = parseWith(
    certificatesResponseSchema,
    parseJson(body, 'certificates response'),
    'certificates response',
  );
  return parsed.data.map((entry) => {
    const encrypted = entry.encrypt_certificate;
    const pem = aesGcmDecrypt(
      apiV3Key,
      encrypted.nonce,
      encrypted.associated_data,
      encrypted.ciphertext,
    ).toString('utf8');
    return platformCertificateFromPem(pem, {
      serialNo: entry.serial_no,
      effectiveTime: entry.effective_time,
      expireTime: entry.expire_time,
    });
  });
}
