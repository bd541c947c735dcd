import {
  boolFromEnv,
  ConfigError,
  type ConfigIssue,
  durationMsFromEnv,
  intFromEnv,
  listFromEnv,
  readSecretFile,
} from '@paysync/config';

export { readSecretFile };

import { z } from 'zod';
import type { PlatformCertificate } from './certificates.ts';
import { WeChatPayClient } from './client.ts';
import type { PublicKeyConfig } from './key-store.ts';
import { toPrivateKey } from './sign.ts';
import type { ClientEvent } from './transport.ts';
import type { VerificationKeySource } from './verify-message.ts';

/**
 * The WeChat Pay client's environment variables, one set of names for every component (gateway,
 * reconciler, operator, payctl), so one Secret/ConfigMap serves them all. Spread into a process's
 * env schema; a later key in the object literal overrides a field (e.g. its description).
 */
export const wechatPayEnvShape = {
  WECHATPAY_MCHID: z
    .string()
    .regex(/^\d{6,32}$/)
    .describe('Merchant id (mchid) the orders belong to.'),
  WECHATPAY_MERCHANT_SERIAL_NO: z
    .string()
    .regex(/^[0-9A-Fa-f]{8,40}$/)
    .describe('Serial number of the merchant API certificate.'),
  WECHATPAY_PRIVATE_KEY_FILE: z.string().min(1).describe('Path of the merchant API private key (PEM).'),
  WECHATPAY_API_V3_KEY_FILE: z.string().min(1).describe('Path of a file holding the 32-byte APIv3 key.'),
  WECHATPAY_PUBLIC_KEY_ID: z
    .string()
    .startsWith('PUB_KEY_ID_')
    .optional()
    .describe('WeChat Pay public key id (public-key mode); needs WECHATPAY_PUBLIC_KEY_FILE.'),
  WECHATPAY_PUBLIC_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Path of the WeChat Pay public key (PEM).'),
  WECHATPAY_BASE_URLS: listFromEnv
    .pipe(z.array(z.url()).min(1))
    .default(['https://api.mch.weixin.qq.com', 'https://api2.mch.weixin.qq.com'])
    .describe('WeChat Pay API origins, primary first.'),
  WECHATPAY_ALLOW_INSECURE_HTTP: boolFromEnv
    .default(false)
    .describe('Allow http:// WeChat Pay origins (a local sandbox only).'),
  WECHATPAY_TIMEOUT: durationMsFromEnv.default(5000).describe('Per-attempt timeout of WeChat Pay calls.'),
  WECHATPAY_RETRIES: intFromEnv({ min: 0, max: 5 })
    .default(2)
    .describe('Extra attempts after a 5xx, network error or timeout (same signed request, backup host).'),
  WECHATPAY_BREAKER_VOLUME: intFromEnv({ min: 1, max: 10_000 })
    .default(20)
    .describe('Calls in the breaker window before it may open.'),
  WECHATPAY_BREAKER_ERROR_PERCENT: intFromEnv({ min: 1, max: 100 })
    .default(50)
    .describe(
      'Share (%) of failing calls (5xx, timeouts, network errors) in the window that opens the breaker.',
    ),
  WECHATPAY_BREAKER_RESET: durationMsFromEnv
    .default(30_000)
    .describe('How long the breaker stays open before one trial call.'),
};

const wechatPayEnv = z.object(wechatPayEnvShape);

/** The one sign type APIv2 notifications are checked with (gateway and ledger read the same). */
export const apiV2SignTypeEnvShape = {
  WECHATPAY_API_V2_SIGN_TYPE: z
    .enum(['HMAC-SHA256', 'MD5'])
    .default('HMAC-SHA256')
    .describe(
      'Sign type of APIv2 notifications (as set for the merchant): a notification declaring another is refused.',
    ),
};

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * Settings for a local sandbox only, refused in production mode by every component (services and
 * payctl): http:// origins allowed, or an origin that is not https or is a loopback host.
 */
export function sandboxSettingIssues(
  env: Pick<WeChatPayEnv, 'WECHATPAY_ALLOW_INSECURE_HTTP' | 'WECHATPAY_BASE_URLS'>,
  production: boolean,
): ConfigIssue[] {
  if (!production) return [];
  const issues: ConfigIssue[] = [];
  if (env.WECHATPAY_ALLOW_INSECURE_HTTP) {
    issues.push({
      variable: 'WECHATPAY_ALLOW_INSECURE_HTTP',
      message: 'http:// WeChat Pay origins are for a local sandbox only; unset it in production mode',
    });
  }
  const local = env.WECHATPAY_BASE_URLS.filter((u) => {
    const url = new URL(u);
    return url.protocol !== 'https:' || LOOPBACK.test(url.hostname);
  });
  if (local.length > 0) {
    issues.push({
      variable: 'WECHATPAY_BASE_URLS',
      message: `${local.join(', ')}: a local sandbox origin is refused in production mode (https WeChat Pay origins only)`,
    });
  }
  return issues;
}
export type WeChatPayEnv = z.output<typeof wechatPayEnv>;

/** The variables that name the key files. */
export type WeChatPayKeyFiles = Pick<
  WeChatPayEnv,
  | 'WECHATPAY_PRIVATE_KEY_FILE'
  | 'WECHATPAY_API_V3_KEY_FILE'
  | 'WECHATPAY_PUBLIC_KEY_ID'
  | 'WECHATPAY_PUBLIC_KEY_FILE'
>;

export type WeChatPaySecrets = { privateKeyPem: string; apiV3Key: string; publicKeyPem: string | undefined };

/** What verifies and decrypts WeChat's messages — never the merchant private key (it signs requests). */
export type WeChatPayVerificationSecrets = Omit<WeChatPaySecrets, 'privateKeyPem'>;

/**
 * Reads and checks the key files the environment names, appending every problem to `issues`
 * (never a key's content). Returns the secrets only when they all are usable; for a process that
 * has checks of its own to report in the same ConfigError.
 */
export function readWeChatPaySecrets(
  env: WeChatPayKeyFiles,
  issues: ConfigIssue[],
): WeChatPaySecrets | undefined {
  const before = issues.length;
  const privateKeyPem = readPrivateKeyFile(env.WECHATPAY_PRIVATE_KEY_FILE, issues);
  const verification = readVerificationSecrets(env, issues);
  if (issues.length > before || privateKeyPem === undefined || verification === undefined) return undefined;
  return { privateKeyPem, ...verification };
}

/** Reads WECHATPAY_PRIVATE_KEY_FILE and checks it is an RSA private key (never quoting it). */
export function readPrivateKeyFile(path: string, issues: ConfigIssue[]): string | undefined {
  const pem = readSecretFile('WECHATPAY_PRIVATE_KEY_FILE', path, issues);
  if (pem === undefined) return undefined;
  try {
    toPrivateKey(pem);
    return pem;
  } catch {
    issues.push({
      variable: 'WECHATPAY_PRIVATE_KEY_FILE',
      message: 'is not a readable RSA private key (PEM)',
    });
    return undefined;
  }
}

/**
 * Reads the APIv3 key and the WeChat Pay public key (public-key mode): what a component that only
 * verifies WeChat's messages needs. Appends every problem to `issues`.
 */
export function readVerificationSecrets(
  env: Omit<WeChatPayKeyFiles, 'WECHATPAY_PRIVATE_KEY_FILE'>,
  issues: ConfigIssue[],
): WeChatPayVerificationSecrets | undefined {
  const before = issues.length;
  const apiV3Key = readSecretFile('WECHATPAY_API_V3_KEY_FILE', env.WECHATPAY_API_V3_KEY_FILE, issues);
  const publicKeyPem =
    env.WECHATPAY_PUBLIC_KEY_FILE === undefined
      ? undefined
      : readSecretFile('WECHATPAY_PUBLIC_KEY_FILE', env.WECHATPAY_PUBLIC_KEY_FILE, issues);
  if (apiV3Key !== undefined && Buffer.byteLength(apiV3Key, 'utf8') !== 32) {
    issues.push({ variable: 'WECHATPAY_API_V3_KEY_FILE', message: 'the APIv3 key must be exactly 32 bytes' });
  }
  if ((env.WECHATPAY_PUBLIC_KEY_ID === undefined) !== (env.WECHATPAY_PUBLIC_KEY_FILE === undefined)) {
    issues.push({
      variable: 'WECHATPAY_PUBLIC_KEY_ID',
      message: 'WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE go together',
    });
  }
  if (issues.length > before || apiV3Key === undefined) return undefined;
  return { apiV3Key, publicKeyPem };
}

/**
 * Reads the key files the environment names; throws a ConfigError for `component` with every
 * problem at once, never a key's content.
 */
export function loadWeChatPaySecrets(component: string, env: WeChatPayKeyFiles): WeChatPaySecrets {
  const issues: ConfigIssue[] = [];
  const secrets = readWeChatPaySecrets(env, issues);
  if (secrets === undefined) throw new ConfigError(component, issues);
  return secrets;
}

/** The WeChat Pay public key (public-key mode) the environment configures, if any. */
export function wechatPayPublicKey(
  env: Pick<WeChatPayEnv, 'WECHATPAY_PUBLIC_KEY_ID'>,
  secrets: Pick<WeChatPaySecrets, 'publicKeyPem'>,
): PublicKeyConfig | undefined {
  return env.WECHATPAY_PUBLIC_KEY_ID && secrets.publicKeyPem
    ? { id: env.WECHATPAY_PUBLIC_KEY_ID, key: secrets.publicKeyPem }
    : undefined;
}

export type CreateWeChatClientOptions = {
  onEvent?: (event: ClientEvent) => void;
  userAgent?: string;
  /** A key source shared with a notification verifier; otherwise the client builds its own store. */
  keys?: VerificationKeySource;
  /** Every certificate download of the client's own store (to archive them for the ledger). */
  onCertificates?: (certificates: PlatformCertificate[]) => void;
};

/** A WeChat Pay client from the environment (call `start()` to load platform certificates). */
export function createWeChatClient(
  env: WeChatPayEnv,
  secrets: WeChatPaySecrets,
  opts: CreateWeChatClientOptions = {},
): WeChatPayClient {
  const publicKey = wechatPayPublicKey(env, secrets);
  return new WeChatPayClient({
    mchid: env.WECHATPAY_MCHID,
    merchantSerialNo: env.WECHATPAY_MERCHANT_SERIAL_NO,
    // Parsed once: a PEM string would be parsed again for every signed request.
    privateKey: toPrivateKey(secrets.privateKeyPem),
    apiV3Key: secrets.apiV3Key,
    ...(publicKey ? { publicKey } : {}),
    baseUrls: env.WECHATPAY_BASE_URLS,
    allowInsecureHttp: env.WECHATPAY_ALLOW_INSECURE_HTTP,
    timeoutMs: env.WECHATPAY_TIMEOUT,
    retries: env.WECHATPAY_RETRIES,
    breaker: {
      volumeThreshold: env.WECHATPAY_BREAKER_VOLUME,
      errorThresholdPercentage: env.WECHATPAY_BREAKER_ERROR_PERCENT,
      resetTimeoutMs: env.WECHATPAY_BREAKER_RESET,
    },
    ...(opts.keys ? { keys: opts.keys } : {}),
    ...(opts.onCertificates ? { onCertificates: opts.onCertificates } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
  });
}
