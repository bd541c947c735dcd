import { readFileSync } from 'node:fs';
import { boolFromEnv, ConfigError, durationMsFromEnv, intFromEnv } from '@paysync/config';
import { type ClientEvent, toPrivateKey, WeChatPayClient } from '@paysync/wechatpay';
import { z } from 'zod';

const list = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * The WeChat Pay client's environment variables — the same names the callback-gateway reads, so one
 * Secret/ConfigMap serves every component. Spread into a service's env schema.
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
  WECHATPAY_BASE_URLS: list
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
export type WeChatPayEnv = z.output<typeof wechatPayEnv>;

export type WeChatPaySecrets = { privateKeyPem: string; apiV3Key: string; publicKeyPem: string | undefined };

function readSecret(variable: string, path: string, issues: { variable: string; message: string }[]) {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    // The path is not secret; the content never appears in a message.
    issues.push({
      variable,
      message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    });
    return undefined;
  }
}

/** Reads the key files the environment names; every problem at once, never a key's content. */
export function loadWeChatPaySecrets(component: string, env: WeChatPayEnv): WeChatPaySecrets {
  const issues: { variable: string; message: string }[] = [];
  const privateKeyPem = readSecret('WECHATPAY_PRIVATE_KEY_FILE', env.WECHATPAY_PRIVATE_KEY_FILE, issues);
  const apiV3Key = readSecret('WECHATPAY_API_V3_KEY_FILE', env.WECHATPAY_API_V3_KEY_FILE, issues);
  const publicKeyPem =
    env.WECHATPAY_PUBLIC_KEY_FILE === undefined
      ? undefined
      : readSecret('WECHATPAY_PUBLIC_KEY_FILE', env.WECHATPAY_PUBLIC_KEY_FILE, issues);
  if (privateKeyPem !== undefined) {
    try {
      toPrivateKey(privateKeyPem);
    } catch {
      issues.push({
        variable: 'WECHATPAY_PRIVATE_KEY_FILE',
        message: 'is not a readable RSA private key (PEM)',
      });
    }
  }
  if (apiV3Key !== undefined && Buffer.byteLength(apiV3Key, 'utf8') !== 32) {
    issues.push({ variable: 'WECHATPAY_API_V3_KEY_FILE', message: 'the APIv3 key must be exactly 32 bytes' });
  }
  if ((env.WECHATPAY_PUBLIC_KEY_ID === undefined) !== (env.WECHATPAY_PUBLIC_KEY_FILE === undefined)) {
    issues.push({
      variable: 'WECHATPAY_PUBLIC_KEY_ID',
      message: 'WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE go together',
    });
  }
  if (issues.length > 0 || privateKeyPem === undefined || apiV3Key === undefined) {
    throw new ConfigError(component, issues);
  }
  return { privateKeyPem, apiV3Key, publicKeyPem };
}

/** A WeChat Pay client from the environment (call `start()` to load platform certificates). */
export function createWeChatClient(
  env: WeChatPayEnv,
  secrets: WeChatPaySecrets,
  opts: { onEvent?: (event: ClientEvent) => void; userAgent?: string } = {},
): WeChatPayClient {
  return new WeChatPayClient({
    mchid: env.WECHATPAY_MCHID,
    merchantSerialNo: env.WECHATPAY_MERCHANT_SERIAL_NO,
    // Parsed once: a PEM string would be parsed again for every signed request.
    privateKey: toPrivateKey(secrets.privateKeyPem),
    apiV3Key: secrets.apiV3Key,
    ...(env.WECHATPAY_PUBLIC_KEY_ID && secrets.publicKeyPem
      ? { publicKey: { id: env.WECHATPAY_PUBLIC_KEY_ID, key: secrets.publicKeyPem } }
      : {}),
    baseUrls: env.WECHATPAY_BASE_URLS,
    allowInsecureHttp: env.WECHATPAY_ALLOW_INSECURE_HTTP,
    timeoutMs: env.WECHATPAY_TIMEOUT,
    retries: env.WECHATPAY_RETRIES,
    breaker: {
      volumeThreshold: env.WECHATPAY_BREAKER_VOLUME,
      errorThresholdPercentage: env.WECHATPAY_BREAKER_ERROR_PERCENT,
      resetTimeoutMs: env.WECHATPAY_BREAKER_RESET,
    },
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
  });
}
