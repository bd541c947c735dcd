import { aesGcmEncrypt, randomNonce } from '../../src/index.ts';
import { API_V3_KEY, type TestCertificate } from './keys.ts';

/** A `GET /v3/certificates` body as WeChat sends it: each PEM encrypted with associated_data "certificate". */
export function certificatesBody(
  certs: TestCertificate[],
  options: { apiV3Key?: string; serialOverride?: string; associatedData?: string } = {},
): string {
  return JSON.stringify({
    data: certs.map((cert) => {
      const nonce = randomNonce().slice(0, 12);
      const associatedData = options.associatedData ?? 'certificate';
      return {
        serial_no: options.serialOverride ?? cert.serial,
        effective_time: '2025-01-01T00:00:00+08:00',
        expire_time: '2030-01-01T00:00:00+08:00',
        encrypt_certificate: {
          algorithm: 'AEAD_AES_256_GCM',
          nonce,
          associated_data: associatedData,
          ciphertext: aesGcmEncrypt(options.apiV3Key ?? API_V3_KEY, nonce, associatedData, cert.pem),
        },
      };
    }),
  });
}
