import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  NotificationVerifier,
  platformCertificateFromPem,
  VerificationKeyStore,
  WeChatPayClient,
  type WeChatPayClientOptions,
} from '@paysync/wechatpay';
import type { Sandbox, TestMerchant } from '../../src/index.ts';

/** One notification as the receiver got it: raw body bytes and headers, untouched. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides the status of the n-th delivery (0-based). Default: 204. */
  answer: (index: number, received: Received) => number;
  close(): Promise<void>;
}

/** A merchant notify endpoint on loopback that records what arrives and answers as told. */
export async function startReceiver(answer: Receiver['answer'] = () => 204): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    answer,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { headers: req.headers, body: Buffer.concat(chunks) };
      receiver.received.push(entry);
      const status = receiver.answer(receiver.received.length - 1, entry);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(status === 200 || status === 204 ? '' : JSON.stringify({ code: 'FAIL', message: 'failed' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechatpay/notify`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

export function merchantOf(sandbox: Sandbox): TestMerchant {
  if (!sandbox.merchant) throw new Error('sandbox has no generated merchant');
  return sandbox.merchant;
}

/** The library's client pointed at the sandbox, fast retries, breaker as given. */
export function clientFor(
  sandbox: Sandbox,
  overrides: Partial<WeChatPayClientOptions> = {},
): WeChatPayClient {
  const merchant = merchantOf(sandbox);
  return new WeChatPayClient({
    mchid: merchant.mchid,
    merchantSerialNo: merchant.certificateSerial,
    privateKey: merchant.privateKey,
    apiV3Key: merchant.apiV3Key,
    baseUrls: [sandbox.url],
    allowInsecureHttp: true,
    retryDelayMs: 1,
    timeoutMs: 2000,
    unknownSerialCooldownMs: 0,
    ...overrides,
  });
}

/** A verifier holding the sandbox's current certificates (no download: unknown serials stay unknown). */
export function staticVerifier(sandbox: Sandbox, options: { apiV3Key?: string; clock?: () => number } = {}) {
  const certificates = sandbox
    .keys()
    .certificates.map((c) => platformCertificateFromPem(c.certificatePem, { serialNo: c.serialNo }));
  const keys = new VerificationKeyStore({ certificates });
  return new NotificationVerifier({
    keys,
    apiV3Key: options.apiV3Key ?? merchantOf(sandbox).apiV3Key,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

let sequence = 0;
/** A fresh out_trade_no per call (6–32 characters). */
export function outTradeNo(prefix = 'RECHARGE_ORDER'): string {
  sequence += 1;
  return `${prefix}${Date.now().toString(36)}${sequence}`.slice(0, 32);
}

/** Creates a Native order at the sandbox through the library's client. */
export async function createNativeOrder(
  client: WeChatPayClient,
  sandbox: Sandbox,
  notifyUrl: string,
  extra: { outTradeNo?: string; amountTotal?: number; timeExpire?: string } = {},
): Promise<string> {
  const no = extra.outTradeNo ?? outTradeNo();
  await client.prepayNative({
    appid: merchantOf(sandbox).appid,
    description: 'points recharge',
    outTradeNo: no,
    notifyUrl,
    amountTotal: extra.amountTotal ?? 1000,
    ...(extra.timeExpire ? { timeExpire: extra.timeExpire } : {}),
  });
  return no;
}

/** Waits (bounded) until `check` is true; for state that changes on a timer outside our control. */
export async function eventually(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
