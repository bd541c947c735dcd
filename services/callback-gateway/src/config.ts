import {
  ConfigError,
  type ConfigIssue,
  durationMsFromEnv,
  intFromEnv,
  isProductionMode,
  listFromEnv,
  loadConfig,
  logLevelFromEnv,
  mysqlEnvShape,
  nodeEnvFromEnv,
  portFromEnv,
  resolveMysqlUrl,
  resolveSecret,
  secretContext,
  secretEnvShape,
} from '@paysync/config';
import { type KafkaSecurity, kafkaEnvShape, readKafkaSecurity } from '@paysync/kafka';
import {
  apiV2SignTypeEnvShape,
  readPrivateKeyFile,
  readSecretFile,
  readVerificationSecrets,
  sandboxSettingIssues,
  type V2Key,
  type WeChatPayVerificationSecrets,
  wechatPayEnvShape,
} from '@paysync/wechatpay';
import { z } from 'zod';

const gatewayFields = z.object({
  NODE_ENV: nodeEnvFromEnv.optional().describe('production makes every start-up check fatal.'),
  PAYSYNC_MODE: z
    .enum(['production', 'development'])
    .optional()
    .describe('production (same as NODE_ENV=production) or development. Default development.'),
  ...mysqlEnvShape(
    'MySQL/MariaDB URL of the paysync database (the gateway’s account: see packages/db grants).',
  ),
  ...kafkaEnvShape,
  GATEWAY_ROLE: z
    .enum(['all', 'receiver', 'orders'])
    .default('all')
    .describe(
      'What this process serves. receiver: the public notification receiver (WeChat Pay callbacks only; holds no merchant private key, verifies with the APIv3 key, the WeChat Pay public key and the certificates archived in MySQL). orders: the private order service (order API: create, confirm, refunds; signs requests to WeChat Pay). all: both, for a laptop and tests — refused in production mode.',
    ),
  GATEWAY_HOST: z.string().default('0.0.0.0').describe('Address the public HTTP server listens on.'),
  GATEWAY_PORT: portFromEnv
    .default(8080)
    .describe('Port of the public HTTP server (callbacks and order API).'),
  METRICS_HOST: z.string().default('0.0.0.0').describe('Address the ops server listens on.'),
  METRICS_PORT: portFromEnv.default(9464).describe('Port of /healthz, /readyz and /metrics.'),
  LOG_LEVEL: logLevelFromEnv.default('info').describe('pino log level.'),

  ...wechatPayEnvShape,
  WECHATPAY_MCHID: wechatPayEnvShape.WECHATPAY_MCHID.describe(
    'Merchant id; notifications for another mchid are refused.',
  ),
  WECHATPAY_MERCHANT_SERIAL_NO: wechatPayEnvShape.WECHATPAY_MERCHANT_SERIAL_NO.optional().describe(
    'Serial number of the merchant API certificate (roles orders and all).',
  ),
  WECHATPAY_PRIVATE_KEY_FILE: wechatPayEnvShape.WECHATPAY_PRIVATE_KEY_FILE.optional().describe(
    'Path of the merchant API private key (roles orders and all). The receiver must not have it: refused there in production mode.',
  ),
  WECHATPAY_APPID: listFromEnv
    .pipe(z.array(z.string().min(1).max(32)).min(1))
    .describe(
      'App id(s), comma-separated: the first is used for new orders; notifications for others are refused.',
    ),
  WECHATPAY_API_V2_KEY_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Path of the APIv2 key; enables POST /api/payment/wechat/callback/v2 (XML).'),
  ...apiV2SignTypeEnvShape,
  WECHATPAY_ALLOW_INSECURE_HTTP: wechatPayEnvShape.WECHATPAY_ALLOW_INSECURE_HTTP.describe(
    'Allow http:// WeChat Pay origins (a local sandbox). Refused in production mode.',
  ),
  WECHATPAY_NOTIFY_URL: z
    .string()
    .min(1)
    .describe(
      'The public notify URL sent with every prepay: https, public host, path /api/payment/wechat/callback.',
    ),

  ...secretEnvShape(
    'GATEWAY_API_TOKEN',
    'the bearer token of the merchant back end: create and read orders, refunds (at least 24 characters; roles orders and all)',
  ),
  ...secretEnvShape(
    'GATEWAY_API_READ_TOKEN',
    'an optional read-only bearer token: GET /api/payment/orders/:outTradeNo only (at least 24 characters)',
  ),
  GATEWAY_MAX_BODY_BYTES: intFromEnv({ min: 1024, max: 1024 * 1024 })
    .default(64 * 1024)
    .describe('Largest callback body accepted; larger is 413 without reading it.'),
  GATEWAY_KAFKA_PUBLISH_TIMEOUT: durationMsFromEnv
    .pipe(z.number().int().min(100).max(4500))
    .default(3000)
    .describe('How long a notification waits for the Kafka acknowledgement before 503 (under WeChat’s 5 s).'),
  GATEWAY_MAX_IN_FLIGHT: intFromEnv({ min: 1, max: 100_000 })
    .default(512)
    .describe('Callbacks handled at once; beyond it 503 at once instead of queueing.'),
  GATEWAY_API_MAX_IN_FLIGHT: intFromEnv({ min: 1, max: 100_000 })
    .default(64)
    .describe('Order API requests handled at once; beyond it 503 at once.'),
  GATEWAY_MAX_POINTS_PER_FEN: z.coerce
    .number()
    .positive()
    .max(1_000_000)
    .default(2)
    .describe(
      'Most points (with bonus) an order may credit per fen paid; an order asking for more is refused (400 POINTS_EXCEED_RATE), so a leaked API token cannot mint balance. Set it to your best rate, bonus included.',
    ),
  GATEWAY_FIRST_CHECK_DELAY: durationMsFromEnv
    .default(60_000)
    .describe('When the reconciler first queries a new order (next_check_at = created + this).'),
  GATEWAY_DEFAULT_ORDER_TTL: durationMsFromEnv
    .default(30 * 60_000)
    .describe('time_expire of an order created without expires_in_seconds/time_expire.'),
  GATEWAY_CONFIRM_WAIT: durationMsFromEnv
    .pipe(z.number().int().min(0).max(10_000))
    .default(2000)
    .describe('How long ?confirm=true waits for the ledger to settle a payment WeChat confirmed.'),
  GATEWAY_CONFIRM_MIN_INTERVAL: durationMsFromEnv
    .default(2000)
    .describe('Least time between two ?confirm=true calls for one order (per replica); sooner is 429.'),
  GATEWAY_DB_POOL_SIZE: intFromEnv({ min: 1, max: 100 }).default(10).describe('MySQL connections.'),
  GATEWAY_SHUTDOWN_GRACE: durationMsFromEnv
    .default(10_000)
    .describe('How long shutdown waits for in-flight requests before closing their connections.'),
});
/** The signing settings the order API needs (every role but the receiver). */
const SIGNING_VARIABLES = [
  'WECHATPAY_PRIVATE_KEY_FILE',
  'WECHATPAY_MERCHANT_SERIAL_NO',
  'GATEWAY_API_TOKEN',
] as const;

// Checked with every other problem (`when`), so one start-up names them all.
export const gatewayEnv = SIGNING_VARIABLES.reduce(
  (schema, variable) =>
    schema.refine(
      (env) =>
        env.GATEWAY_ROLE === 'receiver' ||
        env[variable] !== undefined ||
        (variable === 'GATEWAY_API_TOKEN' && env.GATEWAY_API_TOKEN_FILE !== undefined),
      {
        path: [variable],
        message: 'is required unless GATEWAY_ROLE=receiver (the order API signs requests to WeChat Pay)',
        when: () => true,
      },
    ),
  gatewayFields,
);

export type GatewayEnv = z.output<typeof gatewayEnv>;

/**
 * Secrets read from the files the environment names (Kubernetes Secret volumes). The merchant
 * private key only where requests to WeChat Pay are signed (the order service).
 */
export type GatewaySecrets = WeChatPayVerificationSecrets & {
  privateKeyPem: string | undefined;
  apiV2Key: V2Key | undefined;
};

/** What a role serves. */
export function servesCallbacks(role: GatewayEnv['GATEWAY_ROLE']): boolean {
  return role !== 'orders';
}
export function servesOrders(role: GatewayEnv['GATEWAY_ROLE']): boolean {
  return role !== 'receiver';
}

export type GatewayConfig = GatewayEnv & {
  production: boolean;
  secrets: GatewaySecrets;
  kafkaSecurity: KafkaSecurity;
  /** Development conveniences a production start would refuse (logged at start-up). */
  warnings: ConfigIssue[];
};

/** True when either NODE_ENV or PAYSYNC_MODE says production. */
export const isProduction = isProductionMode;

/** Reads and checks the environment and the key files it names; every problem reported at once. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = loadConfig('callback-gateway', gatewayEnv, env);
  const issues: ConfigIssue[] = [];
  const secret = secretContext(parsed);
  const MYSQL_URL = resolveMysqlUrl(parsed, secret);
  const tokens = {
    GATEWAY_API_TOKEN: resolveSecret('GATEWAY_API_TOKEN', parsed, secret),
    GATEWAY_API_READ_TOKEN: resolveSecret('GATEWAY_API_READ_TOKEN', parsed, secret),
  };
  for (const [variable, token] of Object.entries(tokens)) {
    if (
      token !== undefined &&
      token.length < 24 &&
      !secret.issues.some((i) => i.variable.startsWith(variable))
    ) {
      issues.push({ variable, message: 'expected at least 24 characters' });
    }
  }
  issues.push(...secret.issues);
  const production = isProduction(parsed);
  const role = parsed.GATEWAY_ROLE;
  let privateKeyPem: string | undefined;
  if (servesOrders(role) && parsed.WECHATPAY_PRIVATE_KEY_FILE !== undefined) {
    privateKeyPem = readPrivateKeyFile(parsed.WECHATPAY_PRIVATE_KEY_FILE, issues);
  } else if (production && parsed.WECHATPAY_PRIVATE_KEY_FILE !== undefined) {
    // The public edge never holds the key that can move money (refunds, transfers).
    issues.push({
      variable: 'WECHATPAY_PRIVATE_KEY_FILE',
      message: 'the notification receiver must not hold the merchant private key: do not mount or name it',
    });
  }
  if (production && role === 'all') {
    issues.push({
      variable: 'GATEWAY_ROLE',
      message:
        'production runs the public receiver and the private order service apart: set receiver or orders',
    });
  }
  const shared = readVerificationSecrets(parsed, issues);
  const apiV2Key =
    parsed.WECHATPAY_API_V2_KEY_FILE === undefined
      ? undefined
      : readSecretFile('WECHATPAY_API_V2_KEY_FILE', parsed.WECHATPAY_API_V2_KEY_FILE, issues);
  if (apiV2Key === '') {
    // An empty key would let anyone sign an APIv2 notification.
    issues.push({ variable: 'WECHATPAY_API_V2_KEY_FILE', message: 'the APIv2 key file is empty' });
  }
  issues.push(...sandboxSettingIssues(parsed, production));
  const kafkaSecurity = readKafkaSecurity(parsed, issues, env);
  if (issues.length > 0 || shared === undefined) throw new ConfigError('callback-gateway', issues);
  return {
    ...parsed,
    MYSQL_URL,
    ...tokens,
    production,
    secrets: {
      ...shared,
      privateKeyPem,
      apiV2Key: apiV2Key ? { key: apiV2Key, signType: parsed.WECHATPAY_API_V2_SIGN_TYPE } : undefined,
    },
    kafkaSecurity,
    warnings: secret.warnings,
  };
}
