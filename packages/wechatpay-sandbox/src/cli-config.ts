import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { merchantSchema } from './merchants.ts';
import type { SandboxOptionsInput } from './options.ts';
import type { Sandbox } from './sandbox.ts';

const number = z.coerce.number();

/** Flags win over PAYSYNC_SANDBOX_* environment variables; both are validated here. */
const cliSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port: number.pipe(z.number().int().min(0).max(65535)).optional(),
  timeScale: number.pipe(z.number().positive()).optional(),
  keyMode: z.enum(['certificate', 'publicKey', 'both']).optional(),
  queryQps: number.pipe(z.number().min(0)).optional(),
  seed: number.pipe(z.number().int()).optional(),
  notifyTimeoutMs: number.pipe(z.number().int().positive()).optional(),
  httpsOnly: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')])
    .optional(),
  merchantsFile: z.string().min(1).optional(),
  credentialsOut: z.string().min(1).optional(),
});

export interface CliConfig {
  options: SandboxOptionsInput;
  credentialsOut: string | undefined;
}

const NAMES = [
  'host',
  'port',
  'time-scale',
  'key-mode',
  'query-qps',
  'seed',
  'notify-timeout-ms',
  'https-only',
  'merchants-file',
  'credentials-out',
] as const;

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const envName = (name: string) => `PAYSYNC_SANDBOX_${name.toUpperCase().replaceAll('-', '_')}`;

export async function loadCliConfig(
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): Promise<CliConfig> {
  const raw: Record<string, unknown> = {};
  for (const name of NAMES) {
    const value = flags[name] ?? env[envName(name)];
    if (value !== undefined && value !== '') raw[camel(name)] = value;
  }
  const result = cliSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const cli = result.data;
  const merchants = cli.merchantsFile
    ? z
        .array(merchantSchema)
        .min(1)
        .parse(JSON.parse(await readFile(cli.merchantsFile, 'utf8')))
    : [];
  const options: SandboxOptionsInput = { merchants };
  if (cli.host !== undefined) options.host = cli.host;
  if (cli.port !== undefined) options.port = cli.port;
  if (cli.timeScale !== undefined) options.timeScale = cli.timeScale;
  if (cli.keyMode !== undefined) options.keyMode = cli.keyMode;
  if (cli.queryQps !== undefined) options.queryQps = cli.queryQps;
  if (cli.seed !== undefined) options.seed = cli.seed;
  if (cli.notifyTimeoutMs !== undefined) options.notifyTimeoutMs = cli.notifyTimeoutMs;
  if (cli.httpsOnly) options.allowInsecureNotifyUrl = false;
  return { options, credentialsOut: cli.credentialsOut };
}

/**
 * Writes what a merchant-side process needs to talk to this sandbox: the generated merchant's
 * private key and settings, and the platform's certificates / public key. Files are mode 0600.
 */
export async function writeCredentials(dir: string, sandbox: Sandbox): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, text: string) => writeFile(path.join(dir, name), text, { mode: 0o600 });
  const keys = sandbox.keys();
  const merchant = sandbox.merchant;
  if (merchant) await write('merchant_private_key.pem', merchant.privateKeyPem);
  await write(
    'sandbox.json',
    `${JSON.stringify(
      {
        url: sandbox.url,
        merchant: merchant
          ? {
              mchid: merchant.mchid,
              appid: merchant.appid,
              apiV3Key: merchant.apiV3Key,
              certificateSerial: merchant.certificateSerial,
              privateKeyFile: 'merchant_private_key.pem',
            }
          : null,
        platformCertificates: keys.certificates.map((c) => ({
          serialNo: c.serialNo,
          file: `platform_${c.serialNo}.pem`,
        })),
        publicKey: keys.publicKey ? { id: keys.publicKey.id, file: 'wechatpay_public_key.pem' } : null,
      },
      null,
      2,
    )}\n`,
  );
  for (const cert of keys.certificates) await write(`platform_${cert.serialNo}.pem`, cert.certificatePem);
  if (keys.publicKey) await write('wechatpay_public_key.pem', keys.publicKey.publicKeyPem);
}
