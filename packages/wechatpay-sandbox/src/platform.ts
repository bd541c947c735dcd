import type { KeyObject } from 'node:crypto';
import { PUBLIC_KEY_ID_PREFIX } from '@paysync/wechatpay';
import { SandboxError } from './errors.ts';
import {
  generatePlatformCertificate,
  generatePlatformPublicKey,
  type PlatformCertificate,
  type PlatformPublicKey,
} from './keys.ts';
import type { Clock } from './time.ts';

/** Which of the sandbox's keys WeChat Pay would sign with. */
export interface Signer {
  /** Goes into `Wechatpay-Serial`: a certificate serial or a `PUB_KEY_ID_…`. */
  serial: string;
  privateKey: KeyObject;
}

export type KeyMode = 'certificate' | 'publicKey' | 'both';

export interface RotateOptions {
  /** When the new certificate starts signing: at once (default), or only on `activateCertificate`. */
  activate?: 'now' | 'manual';
  /** Stop serving the previous certificates once the new one signs. Default false (both are served). */
  retirePrevious?: boolean;
}

export interface PublicKeyOptions {
  /** Public key only: /v3/certificates answers 404 and no certificate signs any more. Default false. */
  only?: boolean;
}

/** Public view of the sandbox's verification keys, for configuring a merchant's verifier. */
export interface PlatformKeysView {
  certificates: { serialNo: string; certificatePem: string; effectiveTime: string; expireTime: string }[];
  signingSerial: string | null;
  publicKey: { id: string; publicKeyPem: string } | null;
  notificationSigner: 'certificate' | 'publicKey';
  certificatesServed: boolean;
}

/**
 * The platform's key material: certificates (served by /v3/certificates, one of them signing) and
 * optionally a WeChat Pay public key. Rotation and the switch to public-key mode happen here.
 */
export class Platform {
  readonly #clock: Clock;
  #certificates: PlatformCertificate[] = [];
  #signing: PlatformCertificate | null = null;
  #publicKey: PlatformPublicKey | null = null;
  #notificationSigner: 'certificate' | 'publicKey' = 'certificate';

  private constructor(clock: Clock) {
    this.#clock = clock;
  }

  static async create(mode: KeyMode, clock: Clock): Promise<Platform> {
    const platform = new Platform(clock);
    if (mode !== 'publicKey') {
      const cert = await generatePlatformCertificate(clock());
      platform.#certificates.push(cert);
      platform.#signing = cert;
    }
    if (mode !== 'certificate') platform.#publicKey = await generatePlatformPublicKey();
    if (mode === 'publicKey') platform.#notificationSigner = 'publicKey';
    return platform;
  }

  /** Certificates listed by /v3/certificates (empty in public-key-only mode). */
  get certificates(): readonly PlatformCertificate[] {
    return this.#certificates;
  }

  get certificatesServed(): boolean {
    return this.#certificates.length > 0;
  }

  get publicKey(): PlatformPublicKey | null {
    return this.#publicKey;
  }

  /** The key notifications are signed with now. */
  notificationSigner(): Signer {
    if (this.#notificationSigner === 'publicKey' && this.#publicKey)
      return this.#publicSigner(this.#publicKey);
    if (this.#signing) return { serial: this.#signing.serialNo, privateKey: this.#signing.privateKey };
    if (this.#publicKey) return this.#publicSigner(this.#publicKey);
    throw new Error('the sandbox has no platform key');
  }

  /**
   * The key an API response is signed with: the public key when the request asked for it with
   * `Wechatpay-Serial: PUB_KEY_ID_…` (or when no certificate signs), otherwise the signing certificate.
   */
  responseSigner(requestedSerial: string | undefined): Signer {
    const wantsPublicKey = requestedSerial?.startsWith(PUBLIC_KEY_ID_PREFIX) ?? false;
    if (wantsPublicKey && this.#publicKey && requestedSerial === this.#publicKey.id) {
      return this.#publicSigner(this.#publicKey);
    }
    if (this.#signing) return { serial: this.#signing.serialNo, privateKey: this.#signing.privateKey };
    if (this.#publicKey) return this.#publicSigner(this.#publicKey);
    throw new Error('the sandbox has no platform key');
  }

  /** Adds a new certificate to /v3/certificates; it signs at once unless `activate: 'manual'`. */
  async rotateCertificate(options: RotateOptions = {}): Promise<PlatformCertificate> {
    const cert = await generatePlatformCertificate(this.#clock());
    this.#certificates.push(cert);
    if ((options.activate ?? 'now') === 'now') this.activateCertificate(cert.serialNo, options);
    return cert;
  }

  /** Makes a served certificate the one that signs (the "configurable point" of a rotation). */
  activateCertificate(serialNo: string, options: Pick<RotateOptions, 'retirePrevious'> = {}): void {
    const cert = this.#certificates.find((c) => c.serialNo === serialNo);
    if (!cert) throw new SandboxError(404, 'NOT_FOUND', 'no such certificate is served');
    this.#signing = cert;
    if (options.retirePrevious) this.#certificates = [cert];
  }

  /** Notifications are signed with the WeChat Pay public key from now on (created if needed). */
  async usePublicKey(options: PublicKeyOptions = {}): Promise<PlatformPublicKey> {
    this.#publicKey ??= await generatePlatformPublicKey();
    this.#notificationSigner = 'publicKey';
    if (options.only) {
      this.#certificates = [];
      this.#signing = null;
    }
    return this.#publicKey;
  }

  /** Notifications go back to being signed with the current certificate (if there is one). */
  useCertificate(): void {
    if (!this.#signing)
      throw new SandboxError(409, 'NO_CERTIFICATE', 'no certificate is available to sign with');
    this.#notificationSigner = 'certificate';
  }

  view(): PlatformKeysView {
    return {
      certificates: this.#certificates.map((c) => ({
        serialNo: c.serialNo,
        certificatePem: c.certificatePem,
        effectiveTime: new Date(c.effectiveTime).toISOString(),
        expireTime: new Date(c.expireTime).toISOString(),
      })),
      signingSerial: this.#signing?.serialNo ?? null,
      publicKey: this.#publicKey
        ? { id: this.#publicKey.id, publicKeyPem: this.#publicKey.publicKeyPem }
        : null,
      notificationSigner: this.notificationSigner().serial.startsWith(PUBLIC_KEY_ID_PREFIX)
        ? 'publicKey'
        : 'certificate',
      certificatesServed: this.certificatesServed,
    };
  }

  #publicSigner(key: PlatformPublicKey): Signer {
    return { serial: key.id, privateKey: key.privateKey };
  }
}
