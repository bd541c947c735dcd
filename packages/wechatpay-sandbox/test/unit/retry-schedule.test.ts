import { afterEach, describe, expect, it } from '@jest/globals';
import type { WeChatPayClient } from '@paysync/wechatpay';
import { NOTIFY_RETRY_SCHEDULE_MS, type Sandbox, startSandbox } from '../../src/index.ts';
import { clientFor, createNativeOrder, type Receiver, startReceiver } from './support.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** WeChat's published intervals: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h. */
const WECHAT_SCHEDULE = [
  15_000,
  15_000,
  30_000,
  3 * MINUTE,
  10 * MINUTE,
  20 * MINUTE,
  30 * MINUTE,
  30 * MINUTE,
  30 * MINUTE,
  60 * MINUTE,
  3 * HOUR,
  3 * HOUR,
  3 * HOUR,
  6 * HOUR,
  6 * HOUR,
];
const TIME_SCALE = 0.00002; // 24 h 4 min of retries in about 1.7 s

let sandbox: Sandbox | undefined;
let receiver: Receiver | undefined;
let client: WeChatPayClient | undefined;

afterEach(async () => {
  await client?.close();
  await sandbox?.close();
  await receiver?.close();
});

async function setUp(answer: Receiver['answer']) {
  sandbox = await startSandbox({ timeScale: TIME_SCALE });
  receiver = await startReceiver(answer);
  client = clientFor(sandbox);
  return { sandbox, receiver, client };
}

describe('notification retries', () => {
  it('uses exactly WeChat’s 15 intervals (24 h 4 min in all), scaled, then gives up', async () => {
    expect(NOTIFY_RETRY_SCHEDULE_MS).toEqual(WECHAT_SCHEDULE);
    const { sandbox, receiver, client } = await setUp(() => 500);
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.pay(no);
    await sandbox.idle();

    const [record] = sandbox.notifications({ outTradeNo: no });
    expect(record?.state).toBe('exhausted');
    const attempts = record?.attempts ?? [];
    expect(attempts).toHaveLength(16);
    expect(attempts.map((a) => a.attempt)).toEqual([...Array(16).keys()]);
    expect(attempts.every((a) => a.outcome === 'rejected' && a.status === 500)).toBe(true);
    // The first delivery is immediate; each retry waits WeChat's interval, multiplied by the time scale.
    expect(attempts[0]?.scheduledDelayMs).toBe(0);
    const retryDelays = attempts.slice(1).map((a) => a.scheduledDelayMs);
    expect(retryDelays).toEqual(WECHAT_SCHEDULE);
    expect(retryDelays.reduce((sum, d) => sum + d, 0)).toBe(24 * HOUR + 4 * MINUTE);
    for (const a of attempts.slice(1))
      expect(a.scaledDelayMs).toBeCloseTo(a.scheduledDelayMs * TIME_SCALE, 9);
    // Attempts happened in order.
    const times = attempts.map((a) => Date.parse(a.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);

    expect(receiver.received).toHaveLength(16);
    const ids = new Set(receiver.received.map((r) => JSON.parse(r.body.toString('utf8')).id));
    expect(ids.size).toBe(1); // every retry is the same notification
    expect(sandbox.counters().notifications).toMatchObject({ attempts: 16, failed: 16, exhausted: 1 });
  });

  it('stops retrying after the first 200/204', async () => {
    const { sandbox, receiver, client } = await setUp((index) => (index < 3 ? 503 : 204));
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.pay(no);
    await sandbox.idle();

    const [record] = sandbox.notifications({ outTradeNo: no });
    expect(record?.state).toBe('delivered');
    expect(record?.attempts.map((a) => [a.scheduledDelayMs, a.outcome])).toEqual([
      [0, 'rejected'],
      [15_000, 'rejected'],
      [15_000, 'rejected'],
      [30_000, 'acknowledged'],
    ]);
    expect(receiver.received).toHaveLength(4);
    expect(sandbox.counters().notifications).toMatchObject({ attempts: 4, acknowledged: 1, failed: 3 });
  });

  it('counts a 2xx other than 200/204 as a failure, as WeChat does', async () => {
    const { sandbox, receiver, client } = await setUp((index) => (index === 0 ? 202 : 200));
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.pay(no);
    await sandbox.idle();
    const [record] = sandbox.notifications({ outTradeNo: no });
    expect(record?.attempts.map((a) => a.status)).toEqual([202, 200]);
  });

  it('keeps retrying on schedule while the notify URL is unreachable, never reaching the receiver', async () => {
    const { sandbox, receiver, client } = await setUp(() => 204);
    sandbox.setFaults({ notifyUnreachable: 'refused' });
    const no = await createNativeOrder(client, sandbox, receiver.url);
    sandbox.pay(no);
    await sandbox.idle();
    const [record] = sandbox.notifications({ outTradeNo: no });
    expect(record?.state).toBe('exhausted');
    expect(record?.attempts).toHaveLength(16);
    expect(record?.attempts.every((a) => a.outcome === 'connection_refused')).toBe(true);
    expect(receiver.received).toHaveLength(0);
    // WeChat still says SUCCESS: only a query finds out.
    expect((await client.queryByOutTradeNo(no)).trade_state).toBe('SUCCESS');
  });
});
