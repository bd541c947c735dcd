import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import { type Fault, startHttpReceiver } from '../receivers/index.ts';
import { type AlertingWorld, createAlertingWorld, domainAlert } from '../world.ts';

const SIGNING_SECRET = 'whsec-test-4f1c';
type Received = {
  headers: IncomingHttpHeaders;
  body: { version: string; channel: string; notices: { dedupeKey: string; type: string }[] };
};
const received: Received[] = [];
let receiver: Awaited<ReturnType<typeof startHttpReceiver>>;
let world: AlertingWorld;

beforeAll(async () => {
  // A ticketing system's endpoint: it checks the bearer token and the HMAC signature.
  receiver = await startHttpReceiver((req, url, body) => {
    if (url.pathname !== '/hooks/paysync') return { status: 404, body: {} };
    if (req.headers.authorization !== 'Bearer tickets-token') return { status: 401, body: {} };
    const ts = String(req.headers['x-paysync-timestamp'] ?? '');
    const expected = createHmac('sha256', SIGNING_SECRET)
      .update(`${ts}.${body.toString('utf8')}`)
      .digest();
    const given = Buffer.from(
      String(req.headers['x-paysync-signature'] ?? '').replace(/^sha256=/, ''),
      'hex',
    );
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { status: 403, body: {} };
    received.push({ headers: req.headers, body: JSON.parse(body.toString('utf8')) as Received['body'] });
    return { status: 202, body: { ok: true } };
  });
  world = await createAlertingWorld('alerting_webhook', {
    extraChannels: `
  tickets:
    type: webhook
    url: { env: TEST_TICKETS_URL }
    headers: { Authorization: { env: TEST_TICKETS_AUTH } }
    signingSecret: { env: TEST_TICKETS_SECRET }
    batchMax: 1`,
    extraRoutes: `
  - match: { type: [late_payment] }
    channels: [tickets]`,
    env: {
      TEST_TICKETS_URL: `${receiver.url}/hooks/paysync`,
      TEST_TICKETS_AUTH: 'Bearer tickets-token',
      TEST_TICKETS_SECRET: SIGNING_SECRET,
    },
  });
});
afterAll(async () => {
  await world?.close();
  await receiver?.close();
});

describe('the generic webhook channel', () => {
  it('posts each alert as signed JSON with the configured headers, one per request when batchMax is 1', async () => {
    const service = await world.startService();
    const alerts = [domainAlert({ type: 'late_payment' }), domainAlert({ type: 'late_payment' })];
    await world.publish(...alerts);
    await eventually('both alerts at the webhook', async () => (received.length >= 2 ? true : undefined));
    expect(received.map((r) => r.body.notices.length)).toEqual([1, 1]);
    expect(received.map((r) => r.body.notices[0]?.dedupeKey).sort()).toEqual(
      alerts.map((a) => a.dedupeKey).sort(),
    );
    expect(received[0]?.body).toMatchObject({ version: '1', channel: 'tickets' });
    // The first matching route decides: a late payment goes to the tickets only.
    expect(world.counts(alerts[0]!.outTradeNo!)).toEqual({ email: 0, dingtalk: 0, wecom: 0 });
    await world.stopService(service);
  });

  it('counts a refused request as a failure to retry', async () => {
    const service = await world.startService();
    const fault: Fault = 'error';
    await receiver.setFault(fault);
    const alert = domainAlert({ type: 'late_payment' });
    await world.publish(alert);
    const row = await eventually('a retry after the 502', async () => {
      const [r] = await world.deliveries(alert.dedupeKey);
      return r?.last_error ? r : undefined;
    });
    expect(row.last_error).toBe('tickets: answered HTTP 502');
    await receiver.setFault('none');
    await eventually('the retry to go through', async () =>
      received.some((r) => r.body.notices[0]?.dedupeKey === alert.dedupeKey) ? true : undefined,
    );
    await world.stopService(service);
  });
});
