import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, uniqueName } from '@paysync/testkit';
import {
  type AlertingWorld,
  createAlertingWorld,
  domainAlert,
  FROM,
  RUNBOOK_BASE,
  sleep,
  TO,
} from '../world.ts';

let world: AlertingWorld;

beforeAll(async () => {
  world = await createAlertingWorld('alerting_delivery');
});
afterAll(async () => {
  await world?.close();
});

describe('domain alerts from Kafka', () => {
  it('reaches each routed channel once although published three times with a restart in between', async () => {
    const alert = domainAlert({ severity: 'critical' });
    const first = await world.startService();
    await world.publish(alert);
    await eventually('the alert on every critical channel', async () => {
      const c = world.counts(alert.outTradeNo!);
      return c.email >= 1 && c.dingtalk >= 1 && c.wecom >= 1 ? c : undefined;
    });
    // The producer publishes it again (a crash before its offset commit, a second sweep).
    await world.publish({ ...alert, alertId: crypto.randomUUID(), occurredAt: new Date().toISOString() });
    await world.waitUntilConsumed();
    await world.stopService(first);

    // Restart: the same group resumes; a new group (offsets lost) reads the topic from the start.
    await world.publish({ ...alert, alertId: crypto.randomUUID(), occurredAt: new Date().toISOString() });
    const second = await world.startService();
    const replayGroup = uniqueName('alerting-replay');
    const replay = await world.startService({ ALERTING_GROUP_ID: replayGroup });
    await world.waitUntilConsumed();
    await world.waitUntilConsumed(replayGroup);
    await second.dispatcher.tick();
    await replay.dispatcher.tick();
    await sleep(500);

    expect(world.counts(alert.outTradeNo!)).toEqual({ email: 1, dingtalk: 1, wecom: 1 });
    const rows = await world.deliveries(alert.dedupeKey);
    expect(rows.map((r) => [r.channel, r.alert_status, r.state])).toEqual([
      ['dingtalk', 'firing', 'sent'],
      ['email', 'firing', 'sent'],
      ['wecom', 'firing', 'sent'],
    ]);
    const claims = await second.registry.getSingleMetricAsString('paysync_alerting_claims_total');
    expect(claims).toMatch(/paysync_alerting_claims_total\{channel="email",result="duplicate"[^}]*\} [1-9]/);
    await world.stopService(second);
    await world.stopService(replay);
  });

  it('sends each channel what a person needs: order, what was seen, runbook, in the channel language', async () => {
    const service = await world.startService();
    const alert = domainAlert({
      severity: 'critical',
      type: 'amount_mismatch',
      dedupeKey: `amount_mismatch:${uniqueName('m')}`,
    });
    await world.publish(alert);
    const no = alert.outTradeNo!;
    const mail = await eventually('the email', async () => world.smtp.mails.find((m) => m.text.includes(no)));
    expect(mail.envelope.from).toBe(FROM);
    expect(mail.envelope.to.sort()).toEqual([...TO].sort());
    expect(mail.subject).toContain('[paysync] [CRITICAL] FIRING Amount mismatch');
    expect(mail.subject).toContain(no);
    expect(mail.text).toContain('delay_seconds: 540');
    expect(mail.text).toContain(`${RUNBOOK_BASE}settlement-mismatch.md`);
    expect(mail.html).toContain(`href="${RUNBOOK_BASE}settlement-mismatch.md"`);

    const ding = await eventually('the DingTalk message', async () =>
      world.dingtalk.messages.find((m) => m.text.includes(no)),
    );
    expect(ding.title).toContain('金额不一致');
    expect(ding.text).toContain('Amount mismatch, not settled');
    expect(ding.text).toContain(`(${RUNBOOK_BASE}settlement-mismatch.md)`);
    expect(ding.text).toContain('@13800000000');
    expect(ding.at).toEqual({ atMobiles: ['13800000000'], isAtAll: false });

    const wecom = await eventually('the WeCom message', async () =>
      world.wecom.messages.find((m) => m.content.includes(no)),
    );
    expect(wecom.content).toContain('【严重】告警 · 金额不一致，未入账');
    expect(wecom.content).not.toContain('Amount mismatch');
    expect(world.dingtalk.refusals).toEqual([]);
    expect(world.wecom.refusals).toEqual([]);
    await world.stopService(service);
  });

  it('tells a warning only where warnings are routed, and skips invalid and stale alerts', async () => {
    const service = await world.startService();
    const warning = domainAlert({ severity: 'warning', type: 'order_needs_attention' });
    const stale = domainAlert({
      severity: 'critical',
      occurredAt: new Date(Date.now() - 2 * 3_600_000).toISOString(),
    });
    await world.publish(warning, stale);
    await world.waitUntilConsumed();
    await service.dispatcher.tick();
    await eventually('the warning on DingTalk', async () =>
      world.dingtalk.messages.find((m) => m.text.includes(warning.outTradeNo!)),
    );
    expect(world.counts(warning.outTradeNo!)).toEqual({ email: 0, dingtalk: 1, wecom: 0 });
    expect(world.counts(stale.outTradeNo!)).toEqual({ email: 0, dingtalk: 0, wecom: 0 });
    expect(await world.deliveries(stale.dedupeKey)).toEqual([]);
    const metrics = await service.registry.metrics();
    expect(metrics).toMatch(/paysync_alerting_stale_alerts_total\{paysync_service="alerting"\} 1/);
    await world.stopService(service);
  });
});
