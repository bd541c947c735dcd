import type { PaymentObservation } from '@paysync/contracts';
import { sandboxClient as startedSandboxClient } from '@paysync/testkit';
import type { WeChatPayClient, WeChatPayClientOptions } from '@paysync/wechatpay';
import type { Sandbox } from '@paysync/wechatpay-sandbox';
import type { AlertInput, Publisher, SyncOrder } from '../src/index.ts';

/** The library's client pointed at the sandbox. */
export function sandboxClient(
  sandbox: Sandbox,
  overrides: Partial<WeChatPayClientOptions> = {},
): Promise<WeChatPayClient> {
  return startedSandboxClient(sandbox, { timeoutMs: 2000, ...overrides });
}

let seq = 0;
export function newOutTradeNo(tag = 'S'): string {
  seq += 1;
  return `RC${tag}${Date.now().toString(36)}${process.pid.toString(36)}${String(seq).padStart(5, '0')}`.slice(
    0,
    32,
  );
}

/** Creates the order at the sandbox (as the gateway's prepay does) and returns it as the sync sees it. */
export async function prepaidOrder(
  client: WeChatPayClient,
  sandbox: Sandbox,
  o: Partial<SyncOrder> & { payableForMs?: number } = {},
): Promise<SyncOrder> {
  const outTradeNo = o.outTradeNo ?? newOutTradeNo();
  const amountTotal = o.amountTotal ?? 1000;
  const payableUntil = new Date(Date.now() + (o.payableForMs ?? 3_600_000));
  await client.prepayNative({
    appid: sandbox.merchant!.appid,
    description: 'points recharge',
    outTradeNo,
    notifyUrl: 'http://127.0.0.1:9/api/payment/wechat/callback',
    amountTotal,
    timeExpire: payableUntil.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
  });
  return {
    id: 1,
    outTradeNo,
    status: 'pending',
    userId: 'user-sync',
    mchid: sandbox.merchant!.mchid,
    appid: sandbox.merchant!.appid,
    amountTotal,
    points: amountTotal,
    bonusPoints: 0,
    refundedAmount: 0,
    transactionId: null,
    timeExpire: payableUntil,
    createdAt: new Date(),
    nextCheckAt: new Date(),
    checkAttempts: 0,
    lastCheckedAt: null,
    lastWechatState: null,
    settledAt: null,
    ...o,
  };
}

/** Collects what a sync publishes (the Kafka path itself is covered by the integration tests). */
export function recordingPublisher(): Publisher & { observed: PaymentObservation[]; alerted: AlertInput[] } {
  const observed: PaymentObservation[] = [];
  const alerted: AlertInput[] = [];
  return {
    observed,
    alerted,
    observations: async (items) => {
      observed.push(...items);
    },
    alerts: async (items) => {
      alerted.push(...items);
    },
    idle: async () => {},
  };
}
