import type { KeyObject } from 'node:crypto';
import type { Clock } from '@paysync/contracts';
import {
  type ApiV3Key,
  type KeyAt,
  openSealedCertificate,
  type PlatformCertificate,
  PUBLIC_KEY_ID_PREFIX,
  type PublicKeyConfig,
  type SealedCertificate,
  toPublicKey,
  type V2Key,
} from '@paysync/wechatpay';
import { EvidenceReader } from './evidence.ts';

/** What the archive needs of a MySQL pool (a `@paysync/db` Pool is one). */
export type Queryable = { query(sql: string, values?: unknown): Promise<[unknown, unknown]> };

/** Stores every platform certificate seen, sealed as WeChat delivered it (never deletes one). */
export async function archiveCertificates(
  pool: Queryable,
  certificates: readonly PlatformCertificate[],
): Promise<number> {
  const sealed = certificates.flatMap((c) => (c.sealed ? [c.sealed] : []));
  if (sealed.length === 0) return 0;
  const [result] = await pool.query(
    `INSERT IGNORE INTO wechatpay_platform_certificates
       (serial_no, effective_time, expire_time, nonce, associated_data, ciphertext) VALUES ?`,
    [sealed.map((s) => [s.serialNo, s.effectiveTime, s.expireTime, s.nonce, s.associatedData, s.ciphertext])],
  );
  return (result as { affectedRows: number }).affectedRows;
}

/** Every archived certificate, opened with the APIv3 key; a row that does not open is skipped. */
export async function loadArchivedCertificates(
  pool: Queryable,
  apiV3Key: ApiV3Key,
  onUnopenable?: (serialNo: string, error: unknown) => void,
): Promise<PlatformCertificate[]> {
  const [rows] = await pool.query(
    `SELECT serial_no AS serialNo, effective_time AS effectiveTime, expire_time AS expireTime,
            nonce, associated_data AS associatedData, ciphertext
       FROM wechatpay_platform_certificates`,
  );
  const out: PlatformCertificate[] = [];
  for (const row of rows as SealedCertificate[]) {
    try {
      out.push(openSealedCertificate(row, apiV3Key));
    } catch (err) {
      // A row that does not open with our APIv3 key was not written from WeChat's answer.
      onUnopenable?.(row.serialNo, err);
    }
  }
  return out;
}

export type EvidenceKeysOptions = {
  /** WeChat Pay public keys, current and retired (public-key mode has no certificates). */
  publicKeys?: readonly PublicKeyConfig[];
  /** Certificates held from the start (tests). */
  certificates?: readonly PlatformCertificate[];
  /** Loads every certificate ever archived, retired ones included (see archiveCertificates). */
  loadCertificates?: () => Promise<PlatformCertificate[]>;
  /** Least time between two reloads for an unknown serial (default 1 s; the first is immediate). */
  reloadCooldownMs?: number;
  clock?: Clock;
};

/**
 * The keys evidence is checked with, chosen by serial and by the evidence's own time: a platform
 * certificate only within its X.509 validity (retired certificates stay usable for what they signed
 * while valid), a WeChat Pay public key while it is configured. An unknown serial reloads the
 * archive once (single flight, with a cool-down so that forged serials cannot hammer MySQL).
 */
export class EvidenceKeys {
  readonly #publicKeys = new Map<string, KeyObject>();
  #certificates = new Map<string, PlatformCertificate>();
  readonly #load: (() => Promise<PlatformCertificate[]>) | undefined;
  readonly #cooldownMs: number;
  readonly #clock: Clock;
  #lastLoadAt: number | undefined;
  #loading: Promise<void> | undefined;

  constructor(options: EvidenceKeysOptions) {
    for (const pk of options.publicKeys ?? []) {
      if (!pk.id.startsWith(PUBLIC_KEY_ID_PREFIX))
        throw new Error(`public key id must start with ${PUBLIC_KEY_ID_PREFIX}`);
      this.#publicKeys.set(pk.id, toPublicKey(pk.key));
    }
    for (const c of options.certificates ?? []) this.#certificates.set(c.serialNo, c);
    this.#load = options.loadCertificates;
    this.#cooldownMs = options.reloadCooldownMs ?? 1000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Loads the archive now. */
  async reload(): Promise<void> {
    const load = this.#load;
    if (!load) return;
    this.#loading ??= (async () => {
      this.#lastLoadAt = this.#clock();
      try {
        for (const c of await load()) this.#certificates.set(c.serialNo, c);
      } finally {
        this.#loading = undefined;
      }
    })();
    await this.#loading;
  }

  /** Serials held, for diagnostics. */
  serials(): { certificates: string[]; publicKeys: string[] } {
    return { certificates: [...this.#certificates.keys()], publicKeys: [...this.#publicKeys.keys()] };
  }

  readonly keyAt: KeyAt = async (serial, timestampSeconds) => {
    if (serial.startsWith(PUBLIC_KEY_ID_PREFIX)) return this.#publicKeys.get(serial);
    let cert = this.#certificates.get(serial);
    if (!cert && this.#load) {
      const now = this.#clock();
      if (this.#loading || this.#lastLoadAt === undefined || now - this.#lastLoadAt >= this.#cooldownMs) {
        await this.reload();
        cert = this.#certificates.get(serial);
      }
    }
    if (!cert) return undefined;
    const at = timestampSeconds * 1000;
    const from = Date.parse(cert.certificate.validFrom);
    const to = Date.parse(cert.certificate.validTo);
    return at >= from && at <= to ? cert.publicKey : undefined;
  };
}

/**
 * A key store's `onCertificates` hook that archives every download, for the components that talk
 * to WeChat (gateway, reconciler, operator, payctl). A failed write is reported and made again at
 * the next download (every refresh, every sweep): the ledger reloads the archive on an unknown serial.
 */
export function certificateArchiver(
  pool: Queryable,
  onError: (error: unknown) => void,
): (certificates: PlatformCertificate[]) => void {
  return (certificates) => {
    archiveCertificates(pool, certificates).catch(onError);
  };
}

export type ArchiveEvidenceOptions = {
  pool: Queryable;
  apiV3Key: ApiV3Key;
  /** WeChat Pay public keys, current and retired. */
  publicKeys?: readonly PublicKeyConfig[];
  /** Checks APIv2 notifications; without it they are refused. */
  apiV2Key?: V2Key | undefined;
  /** An archived row that does not open with the APIv3 key (reported, then ignored). */
  onUnopenable?: (serialNo: string, error: unknown) => void;
};

/**
 * The ledger's evidence reader: the configured public keys, and every platform certificate in the
 * archive (loaded again on an unknown serial). Call `keys.reload()` at start.
 */
export function archiveEvidenceReader(options: ArchiveEvidenceOptions): {
  reader: EvidenceReader;
  keys: EvidenceKeys;
} {
  const keys = new EvidenceKeys({
    publicKeys: options.publicKeys ?? [],
    loadCertificates: () => loadArchivedCertificates(options.pool, options.apiV3Key, options.onUnopenable),
  });
  const reader = new EvidenceReader({
    keyAt: keys.keyAt,
    apiV3Key: options.apiV3Key,
    apiV2Key: options.apiV2Key,
  });
  return { reader, keys };
}
