import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import { type AlertingWorld, createAlertingWorld, domainAlert } from '../world.ts';

let world: AlertingWorld;

beforeAll(async () => {
  world = await createAlertingWorld('alerting_breaker');
});
afterAll(async () => {
  await world?.close();
});

function breakerValue(text: string, channel: string): number | undefined {
  const m = new RegExp(`paysync_alerting_breaker_state\\{[^}]*channel="${channel}"[^}]*\\} (\\d)`).exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('a channel that is down', () => {
  it('opens its breaker while the others deliver, and its queued deliveries go out when it recovers', async () => {
    const service = await world.startService();
    await world.wecom.setFault('refuse');
    const alerts = Array.from({ length: 4 }, () => domainAlert({ severity: 'critical' }));
    await world.publish(...alerts);

    // Email and DingTalk deliver every alert while WeCom is refused.
    await eventually(
      'email and DingTalk to deliver every alert',
      async () =>
        alerts.every((a) => {
          const c = world.counts(a.outTradeNo!);
          return c.email === 1 && c.dingtalk === 1;
        })
          ? true
          : undefined,
      { timeoutMs: 20_000 },
    );
    const open = await eventually('the WeCom breaker to open', async () => {
      const text = await service.registry.metrics();
      return breakerValue(text, 'wecom') === 2 ? text : undefined;
    });
    expect(breakerValue(open, 'email')).toBe(0);
    expect(breakerValue(open, 'dingtalk')).toBe(0);
    expect(world.wecom.messages).toHaveLength(0);
    expect(open).toMatch(/paysync_alerting_pending_deliveries\{[^}]*channel="wecom"[^}]*\} 4/);
    expect(open).toMatch(
      /paysync_alerting_deliveries_total\{[^}]*channel="wecom",outcome="retry"[^}]*\} [1-9]/,
    );

    // WeCom comes back: after the reset timeout one trial message closes the breaker and the rest follow.
    await world.wecom.setFault('none');
    await eventually(
      'every queued WeCom delivery to go out',
      async () => (alerts.every((a) => world.counts(a.outTradeNo!).wecom === 1) ? true : undefined),
      { timeoutMs: 20_000 },
    );
    const closed = await service.registry.metrics();
    expect(breakerValue(closed, 'wecom')).toBe(0);
    for (const a of alerts) {
      expect(world.counts(a.outTradeNo!)).toEqual({ email: 1, dingtalk: 1, wecom: 1 });
      const rows = await world.deliveries(a.dedupeKey);
      expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent']);
    }
    await world.stopService(service);
  });

  it('keeps deliveries queued across a restart and sends them once the channel answers again', async () => {
    await world.smtp.setFailing(true);
    const first = await world.startService();
    const alert = domainAlert({ severity: 'critical' });
    await world.publish(alert);
    await eventually('DingTalk and WeCom to deliver', async () => {
      const c = world.counts(alert.outTradeNo!);
      return c.dingtalk === 1 && c.wecom === 1 ? true : undefined;
    });
    const emailRow = await eventually('the email delivery to be retried', async () => {
      const rows = await world.deliveries(alert.dedupeKey);
      const email = rows.find((r) => r.channel === 'email');
      return email && email.state === 'pending' && email.last_error ? email : undefined;
    });
    expect(String(emailRow.last_error)).toMatch(/^email: SMTP \w+ reply 451/);
    await world.stopService(first);

    world.smtp.setFailing(false);
    const second = await world.startService();
    await eventually('the queued email to go out from the new process', async () =>
      world.counts(alert.outTradeNo!).email === 1 ? true : undefined,
    );
    expect(world.counts(alert.outTradeNo!)).toEqual({ email: 1, dingtalk: 1, wecom: 1 });
    await world.stopService(second);
  });
});
