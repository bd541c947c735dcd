import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@paysync/testkit';
import { WeChatPayClient } from '@paysync/wechatpay';
import type { Sandbox, TestMerchant } from '@paysync/wechatpay-sandbox';

/** A notification exactly as the sandbox (WeChat) delivered it: real keys, fresh timestamp. */
export type Captured = { headers: Record<string, string>; body: string; outTradeNo: string };

/**
 * Receives what the sandbox sends to a notify URL and keeps it, so a test can replay genuine
 * notifications to the gateway, or tamper with them first.
 */
export async function startCapture(): Promise<{
  url: string;
  take(outTradeNo: string): Promise<Captured>;
  close(): Promise<void>;
}> {
  const seen: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/payment/wechat/callback`,
    async take(outTradeNo) {
      const hit = await eventually(`a notification for ${outTradeNo}`, async () => seen.shift());
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const [k, v] of Object.entries(hit.headers)) {
        if (k.startsWith('wechatpay-') || k === 'request-id') headers[k] = String(v);
      }
      return { headers, body: hit.body, outTradeNo };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A client of `merchant` at the sandbox (for orders the gateway does not create). */
export function merchantClient(sandbox: Sandbox, merchant: TestMerchant): WeChatPayClient {
  return new WeChatPayClient({
    mchid: merchant.mchid,
    merchantSerialNo: merchant.certificateSerial,
    privateKey: merchant.privateKey,
    apiV3Key: merchant.apiV3Key,
    baseUrls: [sandbox.url],
    allowInsecureHttp: true,
  });
}

/**
 * Has the sandbox notify a payment to the capture receiver and returns that notification.
 * One at a time: the capture keeps deliveries in arrival order.
 */
export async function capturePayment(
  sandbox: Sandbox,
  client: WeChatPayClient,
  capture: Awaited<ReturnType<typeof startCapture>>,
  opts: { appid: string; mchid?: string; amountTotal?: number } = { appid: '' },
): Promise<Captured> {
  const outTradeNo = `CAP${randomBytes(10).toString('hex')}`.slice(0, 32);
  await client.prepayNative({
    appid: opts.appid,
    description: 'captured',
    outTradeNo,
    notifyUrl: capture.url,
    amountTotal: opts.amountTotal ?? 1000,
  });
  sandbox.pay(outTradeNo, opts.mchid ? { mchid: opts.mchid } : {});
  await sandbox.idle();
  return capture.take(outTradeNo);
}
