import type { KeyObject } from 'node:crypto';
import type { PlatformCertificate } from './certificates.ts';
import { PUBLIC_KEY_ID_PREFIX } from './constants.ts';
import { InvalidConfigError, WeChatPayApiError, WeChatPayError } from './errors.ts';
import { toPublicKey } from './sign.ts';
import type { Clock, VerificationKeySource } from './verify-message.ts';

const TWELVE_HOURS_MS = 12 * 60 * 60 * 1000;

export interface PublicKeyConfig {
  /** `PUB_KEY_ID_…` as shown in the merchant platform. */
  id: string;
  /** PEM (SPKI) or KeyObject. */
  key: KeyObject | string;
}

export type RefreshReason = 'start' | 'scheduled' | 'unknown_serial' | 'manual';
export type RefreshOutcome = 'ok' | 'not_available' | 'failed';

export interface KeyStoreEvent {
  type: 'refresh';
  reason: RefreshReason;
  outcome: RefreshOutcome;
  /** Number of platform certificates held after the refresh. */
  certificates: number;
  /** The typed error code when outcome is 'failed'. */
  errorCode?: string;
}

export interface VerificationKeyStoreOptions {
  /** Downloads and decrypts platform certificates (usually `client.downloadCertificates`). Omit in pure public-key mode. */
  download?: () => Promise<PlatformCertificate[]>;
  publicKeys?: PublicKeyConfig[];
  certificates?: PlatformCertificate[];
  /** Scheduled refresh period; must be under 12 h. Default 6 h. */
  refreshIntervalMs?: number;
  /**
   * Least time between two refreshes triggered by unknown serials (the first one is immediate), so
   * that forged serials cannot make us hammer WeChat. Default 60 s; tests may set 0.
   */
  unknownSerialCooldownMs?: number;
  clock?: Clock;
  onEvent?: (event: KeyStoreEvent) => void;
  /** Every successful download, e.g. to archive the certificates for later checks of evidence. */
  onCertificates?: (certificates: PlatformCertificate[]) => void;
}

/** True for `RESOURCE_NOT_EXISTS` from /v3/certificates: a public-key-only merchant, not a fault. */
function isNotAvailable(error: unknown): boolean {
  return error instanceof WeChatPayApiError && error.wechatCode === 'RESOURCE_NOT_EXISTS';
}

/**
 * Platform certificates and WeChat Pay public keys, side by side, chosen per message by serial.
 * Certificates are refreshed on an interval and once (single flight) when an unknown serial appears.
 */
export class VerificationKeyStore implements VerificationKeySource {
  readonly #download: (() => Promise<PlatformCertificate[]>) | undefined;
  readonly #publicKeys = new Map<string, KeyObject>();
  #certificates = new Map<string, PlatformCertificate>();
  readonly #intervalMs: number;
  readonly #cooldownMs: number;
  readonly #clock: Clock;
  readonly #onEvent: ((event: KeyStoreEvent) => void) | undefined;
  readonly #onCertificates: ((certificates: PlatformCertificate[]) => void) | undefined;
  #inFlight: Promise<RefreshOutcome> | undefined;
  #lastOnDemandAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: VerificationKeyStoreOptions = {}) {
    this.#download = options.download;
    this.#intervalMs = options.refreshIntervalMs ?? 6 * 60 * 60 * 1000;
    if (!(this.#intervalMs > 0 && this.#intervalMs < TWELVE_HOURS_MS)) {
      throw new InvalidConfigError('refreshIntervalMs must be positive and under 12 hours');
    }
    this.#cooldownMs = options.unknownSerialCooldownMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
    this.#onEvent = options.onEvent;
    this.#onCertificates = options.onCertificates;
    for (const pk of options.publicKeys ?? []) this.setPublicKey(pk);
    this.addCertificates(options.certificates ?? []);
  }

  /** Adds (or replaces) a WeChat Pay public key. */
  setPublicKey(config: PublicKeyConfig): void {
    if (!config.id.startsWith(PUBLIC_KEY_ID_PREFIX) || config.id.length === PUBLIC_KEY_ID_PREFIX.length) {
      throw new InvalidConfigError(`public key id must start with ${PUBLIC_KEY_ID_PREFIX}`);
    }
    this.#publicKeys.set(config.id, toPublicKey(config.key));
  }

  /** Adds certificates beside the ones held (tests and pre-seeding). */
  addCertificates(certificates: PlatformCertificate[]): void {
    for (const cert of certificates) this.#certificates.set(cert.serialNo, cert);
  }

  /** Serials currently usable. */
  serials(): { certificates: string[]; publicKeys: string[] } {
    return { certificates: [...this.#certificates.keys()], publicKeys: [...this.#publicKeys.keys()] };
  }

  /** The key for `serial` from what is held now; never refreshes. */
  peekKey(serial: string): KeyObject | undefined {
    if (serial.startsWith(PUBLIC_KEY_ID_PREFIX)) return this.#publicKeys.get(serial);
    const cert = this.#certificates.get(serial);
    if (!cert) return undefined;
    // An expired certificate no longer signs anything WeChat sends.
    if (Date.parse(cert.expireTime) <= this.#clock()) return undefined;
    return cert.publicKey;
  }

  async getKey(serial: string): Promise<KeyObject | undefined> {
    const known = this.peekKey(serial);
    if (known || serial.startsWith(PUBLIC_KEY_ID_PREFIX) || !this.#download) return known;
    if (!this.#inFlight) {
      const now = this.#clock();
      if (this.#lastOnDemandAt !== undefined && now - this.#lastOnDemandAt < this.#cooldownMs)
        return undefined;
      this.#lastOnDemandAt = now;
    }
    await this.#refresh('unknown_serial');
    return this.peekKey(serial);
  }

  /** Downloads certificates now (joining a refresh already running). Never throws; reports the outcome. */
  refresh(): Promise<RefreshOutcome> {
    return this.#refresh('manual');
  }

  /**
   * Loads certificates and starts the refresh timer (unref'd). Throws only when the store ends up with
   * no key at all, since then nothing could ever verify.
   */
  async start(): Promise<void> {
    if (this.#download) {
      await this.#refresh('start');
      this.#timer ??= setInterval(() => void this.#refresh('scheduled'), this.#intervalMs);
      this.#timer.unref();
    }
    if (this.#certificates.size === 0 && this.#publicKeys.size === 0) {
      throw new InvalidConfigError('no platform certificate and no WeChat Pay public key is available');
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #refresh(reason: RefreshReason): Promise<RefreshOutcome> {
    if (!this.#download) return Promise.resolve('not_available');
    this.#inFlight ??= this.#runRefresh(reason, this.#download).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #runRefresh(
    reason: RefreshReason,
    download: () => Promise<PlatformCertificate[]>,
  ): Promise<RefreshOutcome> {
    let outcome: RefreshOutcome;
    let errorCode: string | undefined;
    try {
      const certificates = await download();
      this.#certificates = new Map(certificates.map((cert) => [cert.serialNo, cert]));
      outcome = 'ok';
      this.#onCertificates?.(certificates);
    } catch (error) {
      if (isNotAvailable(error)) {
        this.#certificates = new Map();
        outcome = 'not_available';
      } else {
        outcome = 'failed';
        errorCode = error instanceof WeChatPayError ? error.code : 'UNKNOWN';
      }
    }
    this.#onEvent?.({
      type: 'refresh',
      reason,
      outcome,
      certificates: this.#certificates.size,
      ...(errorCode ? { errorCode } : {}),
    });
    return outcome;
  }
}
