import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { loadCliConfig } from '../../src/cli-config.ts';
import { type Sandbox, startSandbox } from '../../src/index.ts';
import { clientFor, createNativeOrder, type Receiver, startReceiver } from './support.ts';

let sandbox: Sandbox;
let receiver: Receiver;
let client: WeChatPayClient;

beforeAll(async () => {
  sandbox = await startSandbox({ timeScale: 0.0001 });
  receiver = await startReceiver();
  client = clientFor(sandbox);
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
  await receiver.close();
});

async function control(method: string, path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/sandbox${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('control API over HTTP', () => {
  it('pays an order, lists it and shows its notification attempts', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url);
    const paid = await control('POST', `/orders/${no}/pay`, { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(paid).toMatchObject({ status: 200, body: { out_trade_no: no, trade_state: 'SUCCESS' } });
    expect(paid.body.success_time).toMatch(/\+08:00$/);
    await control('POST', '/idle');
    const listed = await control('GET', '/orders');
    expect((listed.body.orders as { out_trade_no: string }[]).map((o) => o.out_trade_no)).toContain(no);
    const notifications = await control('GET', `/notifications?out_trade_no=${no}`);
    expect(notifications.body.notifications).toEqual([
      expect.objectContaining({
        state: 'delivered',
        attempts: [expect.objectContaining({ outcome: 'acknowledged' })],
      }),
    ]);
  });

  it('refuses to pay twice with 400 ORDERPAID and an unknown order with 404', async () => {
    const no = await createNativeOrder(client, sandbox, receiver.url);
    await control('POST', `/orders/${no}/pay`);
    expect(await control('POST', `/orders/${no}/pay`)).toMatchObject({
      status: 400,
      body: { code: 'ORDERPAID' },
    });
    expect(await control('POST', '/orders/NO_SUCH_ORDER/pay')).toMatchObject({
      status: 404,
      body: { code: 'ORDER_NOT_EXIST' },
    });
  });

  it('sets, validates and resets faults', async () => {
    expect(await control('PATCH', '/faults', { failNextQueries: 3 })).toMatchObject({
      status: 200,
      body: { failNextQueries: 3, notifyUnreachable: 'off' },
    });
    expect(await control('PATCH', '/faults', { dropNotificationShare: 2 })).toMatchObject({
      status: 400,
      body: { code: 'PARAM_ERROR' },
    });
    expect(await control('PATCH', '/faults', { noSuchFault: true })).toMatchObject({ status: 400 });
    expect(await control('DELETE', '/faults')).toMatchObject({ body: { failNextQueries: 0 } });
  });

  it('counts requests by route template and status', async () => {
    await control('POST', '/counters/reset');
    const no = await createNativeOrder(client, sandbox, receiver.url);
    await client.queryByOutTradeNo(no);
    const counters = await control('GET', '/counters');
    expect(counters.body.requests).toMatchObject({
      'POST /v3/pay/transactions/native': { '200': 1 },
      'GET /v3/pay/transactions/out-trade-no/:out_trade_no': { '200': 1 },
    });
  });

  it('rotates the certificate and switches to public-key mode', async () => {
    const rotated = await control('POST', '/certificates/rotate', {});
    expect(rotated.body.serialNo).toMatch(/^[0-9A-F]{40}$/);
    expect((await control('GET', '/keys')).body.signingSerial).toBe(rotated.body.serialNo);
    const publicKey = await control('POST', '/public-key', {});
    expect(publicKey.body.id).toMatch(/^PUB_KEY_ID_\d+$/);
    expect((await control('GET', '/keys')).body.notificationSigner).toBe('publicKey');
    await control('POST', '/certificate-mode');
    expect((await control('GET', '/keys')).body.notificationSigner).toBe('certificate');
  });
});

describe('paysync-sandbox command', () => {
  it('reads flags over environment variables and refuses invalid values', async () => {
    const config = await loadCliConfig(
      { port: '8123', 'https-only': true },
      { PAYSYNC_SANDBOX_PORT: '9000', PAYSYNC_SANDBOX_TIME_SCALE: '0.001' },
    );
    expect(config.options).toMatchObject({ port: 8123, timeScale: 0.001, allowInsecureNotifyUrl: false });
    await expect(loadCliConfig({ 'key-mode': 'nope' }, {})).rejects.toThrow(/keyMode/);
  });

  it('starts from src/bin.ts, prints its URL, serves and stops on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../../src/bin.ts', import.meta.url));
    const child = spawn(process.execPath, [bin, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const started = JSON.parse(line.toString('utf8').split('\n')[0] as string) as { url: string };
      const health = await fetch(`${started.url}/sandbox/healthz`);
      expect(await health.json()).toEqual({ ok: true });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
