import type { Pool } from '@paysync/db';
import { loadArchivedCertificates } from '@paysync/orders';
import {
  createWeChatClient,
  NotificationVerifier,
  type PlatformCertificate,
  VerificationKeyStore,
  type WeChatPayClient,
  type WeChatPayEnv,
  type WeChatPaySecrets,
  type WeChatPayVerificationSecrets,
  wechatPayPublicKey,
} from '@paysync/wechatpay';
import type { GatewayMetrics } from './metrics.ts';

export type WeChatSetup = {
  /** The WECHATPAY_* settings (timeout, retries, breaker, origins, public-key mode). */
  env: WeChatPayEnv;
  secrets: WeChatPaySecrets;
  unknownSerialCooldownMs?: number;
  /** Every certificate download, to archive them for the ledger's checks of evidence. */
  onCertificates?: (certificates: PlatformCertificate[]) => void;
};

export type WeChat = {
  client: WeChatPayClient;
  keyStore: VerificationKeyStore;
  verifier: NotificationVerifier;
};

/**
 * The WeChat Pay client (prepay, query) and the notification verifier, sharing one key store:
 * platform certificates downloaded and refreshed by the client, and the WeChat Pay public key when
 * configured, so notifications verify in either mode and during a migration between them.
 */
export function createWeChat(setup: WeChatSetup, metrics: GatewayMetrics): WeChat {
  const { env, secrets } = setup;
  const publicKey = wechatPayPublicKey(env, secrets);
  let client: WeChatPayClient | undefined;
  const keyStore = new VerificationKeyStore({
    download: () => (client as WeChatPayClient).downloadCertificates(),
    publicKeys: publicKey ? [publicKey] : [],
    ...(setup.unknownSerialCooldownMs !== undefined
      ? { unknownSerialCooldownMs: setup.unknownSerialCooldownMs }
      : {}),
    onEvent: (e) => metrics.keyRefreshes.inc({ reason: e.reason, outcome: e.outcome }),
    ...(setup.onCertificates ? { onCertificates: setup.onCertificates } : {}),
  });
  client = createWeChatClient(env, secrets, {
    keys: keyStore,
    onEvent: (e) => {
      if (e.type === 'call') metrics.wechatCalls.inc({ operation: e.operation, outcome: e.outcome });
    },
  });
  const verifier = new NotificationVerifier({ keys: keyStore, apiV3Key: secrets.apiV3Key });
  return { client, keyStore, verifier };
}

export type ReceiverKeys = { keyStore: VerificationKeyStore; verifier: NotificationVerifier };

/**
 * The public notification receiver's keys, without the merchant private key: the WeChat Pay public
 * key when configured, and the platform certificates the signing components (order service,
 * reconciler, operator) downloaded and archived sealed in MySQL — opened here with the APIv3 key,
 * reloaded when a notification names a serial not yet held.
 */
export function createReceiverKeys(
  setup: {
    env: Pick<WeChatPayEnv, 'WECHATPAY_PUBLIC_KEY_ID'>;
    secrets: WeChatPayVerificationSecrets;
    pool: Pool;
    unknownSerialCooldownMs?: number;
    onUnopenable?: (serialNo: string, error: unknown) => void;
  },
  metrics: GatewayMetrics,
): ReceiverKeys {
  const publicKey = wechatPayPublicKey(setup.env, setup.secrets);
  const keyStore = new VerificationKeyStore({
    download: () => loadArchivedCertificates(setup.pool, setup.secrets.apiV3Key, setup.onUnopenable),
    publicKeys: publicKey ? [publicKey] : [],
    ...(setup.unknownSerialCooldownMs !== undefined
      ? { unknownSerialCooldownMs: setup.unknownSerialCooldownMs }
      : {}),
    onEvent: (e) => metrics.keyRefreshes.inc({ reason: e.reason, outcome: e.outcome }),
  });
  const verifier = new NotificationVerifier({ keys: keyStore, apiV3Key: setup.secrets.apiV3Key });
  return { keyStore, verifier };
}
