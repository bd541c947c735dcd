// Signed WeChat Pay payment notifications, built before a measured window: a bench must not spend
// its load generator's CPU on RSA private-key operations while it measures paysync.
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildNotificationBody,
  buildSignedHeaders,
  encryptResource,
  messageSignString,
  randomNonce,
  rsaSignAsync,
} from '@paysync/wechatpay';

export type Notification = { outTradeNo: string; body: string; headers: Record<string, string> };

/**
 * A WeChat Pay platform key pair of the bench's own, in public-key mode: the services verify with
 * its public key (WECHATPAY_PUBLIC_KEY_ID/FILE), the bench signs with the private key.
 */
export type BenchPlatform = {
  privateKey: KeyObject;
  publicKeyId: string;
  /** The env that makes a gateway or ledger accept notifications signed by this platform. */
  env: { WECHATPAY_PUBLIC_KEY_ID: string; WECHATPAY_PUBLIC_KEY_FILE: string };
};

/** Distinct transaction ids across every batch of one process. */
let serial = 0;

export async function benchPlatform(dir: string): Promise<BenchPlatform> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyId = 'PUB_KEY_ID_0114000000000000000000000000000001';
  const file = join(dir, 'wechatpay-public.pem');
  await writeFile(file, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    privateKey,
    publicKeyId,
    env: { WECHATPAY_PUBLIC_KEY_ID: publicKeyId, WECHATPAY_PUBLIC_KEY_FILE: file },
  };
}

/**
 * One TRANSACTION.SUCCESS notification per order, signed now (the timestamp window starts here).
 * Signatures are computed on libuv's thread pool, so both cores sign.
 */
export async function signedNotifications(opts: {
  platform: BenchPlatform;
  apiV3Key: string;
  mchid: string;
  appid: string;
  outTradeNos: readonly string[];
  amountFen: number;
}): Promise<Notification[]> {
  const timestamp = Math.floor(Date.now() / 1000);
  const successTime = new Date(Date.now() + 8 * 3_600_000).toISOString().replace(/\.\d+Z$/, '+08:00');
  const out: Notification[] = new Array(opts.outTradeNos.length);
  const CHUNK = 256;
  for (let start = 0; start < opts.outTradeNos.length; start += CHUNK) {
    const chunk = opts.outTradeNos.slice(start, start + CHUNK);
    await Promise.all(
      chunk.map(async (outTradeNo, k) => {
        const i = start + k;
        serial += 1;
        const resource = encryptResource({
          apiV3Key: opts.apiV3Key,
          originalType: 'transaction',
          data: {
            appid: opts.appid,
            mchid: opts.mchid,
            out_trade_no: outTradeNo,
            transaction_id: `4200${timestamp}${String(serial).padStart(14, '0')}`,
            trade_type: 'NATIVE',
            trade_state: 'SUCCESS',
            trade_state_desc: '支付成功',
            bank_type: 'OTHERS',
            attach: '',
            success_time: successTime,
            payer: { openid: `oBENCH${i}` },
            amount: {
              total: opts.amountFen,
              payer_total: opts.amountFen,
              currency: 'CNY',
              payer_currency: 'CNY',
            },
          },
        });
        const body = buildNotificationBody({
          id: randomUUID(),
          createTime: successTime,
          eventType: 'TRANSACTION.SUCCESS',
          resource,
        });
        const nonce = randomNonce();
        const signature = await rsaSignAsync(
          opts.platform.privateKey,
          messageSignString(timestamp, nonce, body),
        );
        const headers = buildSignedHeaders({
          privateKey: opts.platform.privateKey,
          serial: opts.platform.publicKeyId,
          body,
          timestamp,
          nonce,
          signatureOverride: signature,
          requestId: randomBytes(16).toString('hex').toUpperCase(),
        });
        out[i] = { outTradeNo, body, headers: { ...headers, 'content-type': 'application/json' } };
      }),
    );
  }
  return out;
}
