import { type KeyObject, X509Certificate } from 'node:crypto';
import { type ApiV3Key, aesGcmDecrypt } from './aead.ts';
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
  /** The certificate as WeChat delivered it, still encrypted with the APIv3 key (when downloaded). */
  sealed?: SealedCertificate;
}

/**
 * A `/v3/certificates` entry as received: only a holder of the APIv3 key can open it, and what it
 * opens to comes from WeChat (AES-GCM authenticates it), so it can be stored anywhere and trusted
 * again later — the ledger keeps every certificate it ever saw this way, retired ones included.
 */
export interface SealedCertificate {
  serialNo: string;
  effectiveTime: string;
  expireTime: string;
  nonce: string;
  associatedData: string;
  ciphertext: string;
}

/** Opens a sealed certificate with the APIv3 key and checks its serial. */
export function openSealedCertificate(sealed: SealedCertificate, apiV3Key: ApiV3Key): PlatformCertificate {
  const pem = aesGcmDecrypt(apiV3Key, sealed.nonce, sealed.associatedData, sealed.ciphertext).toString(
    'utf8',
  );
  return {
    ...platformCertificateFromPem(pem, {
      serialNo: sealed.serialNo,
      effectiveTime: sealed.effectiveTime,
      expireTime: sealed.expireTime,
    }),
    sealed,
  };
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
export function decodeCertificatesBody(body: Buffer | string, apiV3Key: ApiV3Key): PlatformCertificate[] {
  const parsed = parseWith(
    certificatesResponseSchema,
    parseJson(body, 'certificates response'),
    'certificates response',
  );
  return parsed.data.map((entry) =>
    openSealedCertificate(
      {
        serialNo: entry.serial_no,
        effectiveTime: entry.effective_time,
        expireTime: entry.expire_time,
        nonce: entry.encrypt_certificate.nonce,
        associatedData: entry.encrypt_certificate.associated_data,
        ciphertext: entry.encrypt_certificate.ciphertext,
      },
      apiV3Key,
    ),
  );
}
