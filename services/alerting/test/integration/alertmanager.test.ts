import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, uniqueName } from '@paysync/testkit';
import { type AlertingWorld, createAlertingWorld, sleep } from '../world.ts';

let world: AlertingWorld;

beforeAll(async () => {
  world = await createAlertingWorld('alerting_am');
});
afterAll(async () => {
  await world?.close();
});

/** An Alertmanager 0.25 webhook payload (version 4) for one alert. */
function payload(
  status: 'firing' | 'resolved',
  name: string,
  opts: { severity?: string; startsAt?: string } = {},
) {
  const startsAt = opts.startsAt ?? '2026-11-26T04:00:00.000Z';
  const labels = {
    alertname: name,
    severity: opts.severity ?? 'critical',
    service: 'reconciler',
    job: 'pushgateway',
  };
  return {
    receiver: 'paysync-alerting',
    status,
    alerts: [
      {
        status,
        labels,
        annotations: {
          summary: `${name}: 3 missed notifications in 15m`,
          summary_zh: `${name}：15 分钟内 3 笔支付通知丢失`,
          description: 'The reconciler found paid orders that no notification settled.',
          runbook_url: 'https://runbooks.example.com/paysync/missed-notifications.md',
        },
        startsAt,
        endsAt: status === 'resolved' ? '2026-11-26T04:20:00.000Z' : '0001-01-01T00:00:00Z',
        generatorURL:
          'http://prometheus:9090/graph?g0.expr=increase%28paysync_reconciler_missed_notifications_total%5B15m%5D%29',
        fingerprint: uniqueName('fp').slice(0, 16),
      },
    ],
    groupLabels: { alertname: name },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: `{}:{alertname="${name}"}`,
    truncatedAlerts: 0,
  };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('POST /alertmanager', () => {
  it('delivers a firing alert once per channel across repeats and replicas, then its resolution', async () => {
    const a = await world.startService();
    const b = await world.startService({ ALERTING_GROUP_ID: uniqueName('alerting-b') });
    const name = `PaysyncMissed${uniqueName('x').replace(/_/g, '')}`.slice(0, 60);
    const firing = payload('firing', name);
    // Two Alertmanager replicas send the same notification to two alerting replicas, twice.
    const answers = await Promise.all([post(a.httpUrl(), firing), post(b.httpUrl(), firing)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(answers.reduce((sum, r) => sum + Number(r.body.queued), 0)).toBe(3);
    expect((await post(a.httpUrl(), firing)).body).toMatchObject({ status: 'accepted', duplicate: 3 });

    await eventually('the firing alert on every channel', async () => {
      const c = world.counts(name);
      return c.email === 1 && c.dingtalk === 1 && c.wecom === 1 ? c : undefined;
    });
    const ding = world.dingtalk.messages.find((m) => m.text.includes(name))!;
    expect(ding.text).toContain('15 分钟内 3 笔支付通知丢失');
    // Links from the request are marked and not clickable.
    expect(ding.text).toContain('https[:]//runbooks.example.com/paysync/missed-notifications.md');
    expect(ding.text).not.toContain('](http');
    expect(ding.text).toContain('paysync has not checked them');
    expect(ding.text).toContain('service: reconciler');

    const resolved = payload('resolved', name);
    resolved.alerts[0]!.fingerprint = firing.alerts[0]!.fingerprint;
    expect((await post(b.httpUrl(), resolved)).body).toMatchObject({ queued: 3 });
    await eventually('the resolution on every channel', async () => {
      const mails = world.smtp.mails.filter((m) => m.text.includes(name));
      return mails.length === 2 && world.counts(name).wecom === 2 ? mails : undefined;
    });
    const resolvedMail = world.smtp.mails.filter((m) => m.text.includes(name))[1]!;
    expect(resolvedMail.subject).toContain('RESOLVED');
    expect(resolvedMail.text).toContain('Resolved: 2026-11-26 04:20:00 UTC');
    await sleep(300);
    expect(world.counts(name)).toEqual({ email: 2, dingtalk: 2, wecom: 2 });
    await world.stopService(a);
    await world.stopService(b);
  });

  it('does not announce the resolution of an alert nobody was told about', async () => {
    const service = await world.startService();
    const name = `PaysyncQuiet${uniqueName('q').replace(/_/g, '')}`.slice(0, 60);
    const resolved = payload('resolved', name);
    expect((await post(service.httpUrl(), resolved)).body).toMatchObject({ suppressed: 3, queued: 0 });
    await service.dispatcher.tick();
    expect(world.counts(name)).toEqual({ email: 0, dingtalk: 0, wecom: 0 });
    await world.stopService(service);
  });

  it('refuses what Alertmanager must not retry with 4xx, and answers 503 when the database is down', async () => {
    const service = await world.startService();
    const url = service.httpUrl();
    expect((await post(url, { ...payload('firing', 'X'), version: '3' })).status).toBe(400);
    expect((await post(url, '{not json')).status).toBe(400);
    const noName = payload('firing', 'X');
    noName.alerts[0]!.labels = { severity: 'critical' } as never;
    expect((await post(url, noName)).status).toBe(400);
    const text = await fetch(`${url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expect((await fetch(`${url}/alertmanager`)).status).toBe(405);
    await world.stopService(service);

    // A database that does not answer: the claim cannot be recorded, so Alertmanager must retry.
    const down = await world.startService({
      ALERTING_GROUP_ID: uniqueName('alerting-dead'),
      MYSQL_URL: 'mysql://paysync:x@127.0.0.1:1/paysync',
    });
    const answer = await post(down.httpUrl(), payload('firing', 'PaysyncDbDown'));
    expect(answer.status).toBe(503);
    await world.stopService(down);
  });

  it('takes at most 500 alerts per request, counts unknown alert names as other, and never renders a sent link', async () => {
    const service = await world.startService();
    const url = service.httpUrl();
    const many = payload('firing', 'PaysyncWatchdog');
    many.alerts = Array.from({ length: 501 }, () => ({ ...many.alerts[0]! }));
    const tooMany = await post(url, many);
    expect(tooMany.status).toBe(413);
    expect(String(tooMany.body.error)).toMatch(/at most 500 per request/);

    const names = [1, 2, 3].map((i) => `Phish${i}${uniqueName('n').replace(/_/g, '')}`.slice(0, 60));
    for (const name of names) {
      const p = payload('firing', name);
      p.alerts[0]!.annotations.summary =
        'Urgent: log in at [paysync console](https://evil.example.com/login)';
      expect((await post(url, p)).status).toBe(200);
    }
    const received =
      (await service.registry.getSingleMetric('paysync_alerting_alerts_received_total')?.get())?.values ?? [];
    const types = received.filter((v) => v.labels.source === 'alertmanager').map((v) => v.labels.type);
    expect(types).toContain('other');
    for (const name of names) expect(types).not.toContain(name);

    await eventually('the phishing alerts on DingTalk', async () =>
      names.every((n) => world.dingtalk.messages.some((m) => m.text.includes(n))) ? true : undefined,
    );
    for (const name of names) {
      const text = world.dingtalk.messages.find((m) => m.text.includes(name))!.text;
      expect(text).not.toContain('](https://evil');
      expect(text).toContain('https[:]//evil.example.com/login');
    }
    await world.stopService(service);
  });

  it('requires the bearer token when one is configured', async () => {
    const service = await world.startService({
      ALERTING_WEBHOOK_TOKEN_FILE: await world.file('webhook-token', 's3cret-token\n'),
    });
    const name = `PaysyncToken${uniqueName('t').replace(/_/g, '')}`.slice(0, 60);
    expect((await post(service.httpUrl(), payload('firing', name))).status).toBe(401);
    expect(
      (await post(service.httpUrl(), payload('firing', name), { authorization: 'Bearer wrong' })).status,
    ).toBe(401);
    const ok = await post(service.httpUrl(), payload('firing', name), {
      authorization: 'Bearer s3cret-token',
    });
    expect(ok.status).toBe(200);
    await world.stopService(service);
  });
});
