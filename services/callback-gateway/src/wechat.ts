import {
  NotificationVerifier,
  type PublicKeyConfig,
  VerificationKeyStore,
  WeChatPayClient,
} from '@paysync/wechatpay';
import type { GatewayMetrics } from './metrics.ts';

export type WeChatSetup = {
  mchid: string;
  merchantSerialNo: string;
  privateKeyPem: string;
  apiV3Key: string;
  publicKey?: PublicKeyConfig | undefined;
  baseUrls?: string[];
  allowInsecureHttp?: boolean;
  timeoutMs?: number;
  unknownSerialCooldownMs?: number;
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
  let client: WeChatPayClient | undefined;
  const keyStore = new VerificationKeyStore({
    download: () => (client as WeChatPayClient).downloadCertificates(),
    publicKeys: setup.publicKey ? [setup.publicKey] : [],
    ...(setup.unknownSerialCooldownMs !== undefined
      ? { unknownSerialCooldownMs: setup.unknownSerialCooldownMs }
      : {}),
    onEvent: (e) => metrics.keyRefreshes.inc({ reason: e.reason, outcome: e.outcome }),
  });
  client = new WeChatPayClient({
    mchid: setup.mchid,
    merchantSerialNo: setup.merchantSerialNo,
    privateKey: setup.privateKeyPem,
    apiV3Key: setup.apiV3Key,
    keys: keyStore,
    ...(setup.publicKey ? { publicKey: setup.publicKey } : {}),
    ...(setup.baseUrls ? { baseUrls: setup.baseUrls } : {}),
    ...(setup.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
    ...(setup.timeoutMs ? { timeoutMs: setup.timeoutMs } : {}),
    onEvent: (e) => {
      if (e.type === 'call') metrics.wechatCalls.inc({ operation: e.operation, outcome: e.outcome });
    },
  });
  const verifier = new NotificationVerifier({ keys: keyStore, apiV3Key: setup.apiV3Key });
  return { client, keyStore, verifier };
}
