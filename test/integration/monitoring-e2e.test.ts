import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@paysync/testkit';
import { dashboardQueries, withGrafanaVariables } from '../../services/alerting/test/monitoring/files.ts';
import {
  alertmanagerConfig,
  query,
  type Server,
  startAlertmanager,
  startPrometheus,
  startPushgateway,
} from '../monitoring/prometheus.ts';
import {
  ALERT_FROM,
  ALERT_TO,
  type PaysyncStack,
  SMTP_USER,
  startPaysyncStack,
} from '../monitoring/stack.ts';

// End to end with Debian's Prometheus, Alertmanager and Pushgateway: the services are scraped, a
// healthy stack fires nothing but the watchdog, a
// missed notification (WeChat cannot reach the notify URL, as in the incident) is found by a
// reconciler sweep, the rule fires, Alertmanager calls the alerting service, and an email and a
// DingTalk message arrive. Every panel of the Grafana board has data meanwhile.

let stack: PaysyncStack;
let pushgateway: Server;
let alertmanager: Server;
let prometheus: Server;
const servers: Server[] = [];

beforeAll(async () => {
  stack = await startPaysyncStack('mon_e2e');
  pushgateway = await startPushgateway();
  servers.push(pushgateway);
  alertmanager = await startAlertmanager(
    stack.dir,
    await alertmanagerConfig({
      webhookUrl: `${stack.alertingUrl}/alertmanager`,
      tokenFile: stack.files.webhookToken,
      smtp: {
        host: stack.smtp.host,
        port: stack.smtp.port,
        user: SMTP_USER,
        passwordFile: stack.files.smtpPassword,
      },
    }),
  );
  servers.push(alertmanager);
  prometheus = await startPrometheus(stack.dir, {
    targets: {
      'paysync-points-ledger': stack.ops.ledger,
      'paysync-callback-gateway': stack.ops.gateway,
      'paysync-alerting': stack.ops.alerting,
    },
    pushgateway: pushgateway.url,
    alertmanager: alertmanager.url,
  });
  servers.push(prometheus);
}, 120_000);

afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) {
    for (const p of [...(stack?.procs ?? []), ...servers.map((s) => s.proc)]) {
      process.stderr.write(`\n===== ${p.name}\n${p.lines.slice(-60).join('\n')}\n`);
    }
  }
  for (const s of servers.reverse()) await s.proc.stop();
  await stack?.close();
}, 60_000);

async function firingAlerts(): Promise<string[]> {
  const res = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
    data: { alerts: { labels: Record<string, string>; state: string }[] };
  };
  return res.data.alerts
    .filter((a) => a.state === 'firing')
    .map((a) => a.labels.alertname ?? '')
    .sort();
}

async function scalar(expr: string): Promise<number | undefined> {
  const [first] = await query(prometheus.url, expr);
  return first ? Number(first.value[1]) : undefined;
}

describe('monitoring end to end', () => {
  // Generous waits (each only matters when something is late): on a loaded CI machine scrapes, rule
  // evaluation and Alertmanager's group_wait all run behind.
  it('turns a missed notification into an email and a DingTalk message, with data on every board panel', async () => {
    // Every scrape target is up.
    await eventually('every target to be up', async () => {
      const up = await query(prometheus.url, 'up');
      return up.length === 4 && up.every((s) => s.value[1] === '1') ? up : undefined;
    });

    // Normal traffic: orders created through the gateway, paid, notified, settled by the ledger.
    const notified = [await stack.createOrder(1000), await stack.createOrder(2000)];
    await stack.createOrder(3000); // never paid
    for (const no of notified) stack.sandbox.pay(no);
    await eventually('the notified orders to settle', async () =>
      (await Promise.all(notified.map((no) => stack.orderStatus(no)))).every((s) => s === 'paid')
        ? true
        : undefined,
    );

    // A first sweep finds nothing missed; Prometheus must see the counter at 0 before it moves.
    const baseline = await stack.sweep(pushgateway.url);
    // The daily trade-bill run, as its CronJob does it: yesterday's bill (the board's bill row).
    const bill = await stack.bill(pushgateway.url);
    expect({ code: bill.code, tail: bill.code === 0 ? [] : bill.lines.slice(-5) }).toEqual({
      code: 0,
      tail: [],
    });
    expect(baseline.code).toBe(0);
    await eventually('the baseline sweep in Prometheus', async () =>
      (await scalar('sum(paysync_reconciler_missed_notifications_total)')) === 0 ? true : undefined,
    );
    await eventually('the bill run in Prometheus', async () =>
      (await scalar('count(paysync_reconciler_bill_last_success_day_timestamp_seconds)')) === 1
        ? true
        : undefined,
    );

    // A healthy stack pages nothing: once every rule group has evaluated with all of that in
    // Prometheus (every `for` at 0s), only the watchdog fires (always, by design).
    const healthyAt = Date.now();
    await eventually('every rule group to evaluate after the baseline', async () => {
      const res = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
        data: { groups: { lastEvaluation: string }[] };
      };
      const groups = res.data.groups;
      return groups.length > 0 && groups.every((g) => Date.parse(g.lastEvaluation) > healthyAt)
        ? true
        : undefined;
    });
    // The one exception: the local stack's notify URL is http://127.0.0.1, which WeChat Pay could
    // never reach, and the gateway says so (paysync_gateway_notify_url_valid 0) as it must.
    expect(await firingAlerts()).toEqual(['PaysyncNotifyUrlUnhealthy', 'PaysyncWatchdog']);

    // The incident: WeChat Pay cannot reach the notify URL. The user pays; no notification arrives.
    stack.sandbox.setFaults({ notifyUnreachable: 'not_attempted' });
    const missed = await stack.createOrder(5000);
    stack.sandbox.pay(missed);
    await new Promise((r) => setTimeout(r, 1500)); // at least one scrape of the counter at 0
    const sweep = await stack.sweep(pushgateway.url);
    expect(sweep.code).toBe(0);
    expect(sweep.lines.join('\n')).toContain('missed notification: paid at WeChat, never notified');
    await eventually('the reconciler to settle the missed order', async () =>
      (await stack.orderStatus(missed)) === 'paid' ? true : undefined,
    );
    // And an observation the ledger cannot apply, for the dead-letter panels.
    await stack.publishUnknownOrderObservation();

    // The rule fires and Alertmanager hands it to the alerting service.
    await eventually(
      'PaysyncMissedNotifications to fire in Prometheus',
      async () => {
        const res = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: Record<string, string>; state: string }[] };
        };
        return res.data.alerts.find(
          (a) => a.labels.alertname === 'PaysyncMissedNotifications' && a.state === 'firing',
        );
      },
      { timeoutMs: 60_000 },
    );
    const mail = await eventually(
      'the alert by email',
      async () => stack.smtp.mails.find((m) => m.text.includes('PaysyncMissedNotifications')),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(mail.envelope.from).toBe(ALERT_FROM);
    expect(mail.envelope.to).toEqual([ALERT_TO]);
    expect(mail.user).toBe(SMTP_USER);
    expect(mail.subject).toContain('Missed notifications found by the reconciler');
    // increase() extrapolates over the window: about one order.
    expect(mail.text).toMatch(/About [12] order\(s\) in the last 15 minutes were paid at WeChat Pay/);
    // A link that came with the Alertmanager request is shown, marked unverified and not clickable.
    expect(mail.text).toContain(
      'Runbook (unverified): https[:]//github.com/paysync/paysync/blob/main/docs/runbooks/missed-notifications.md',
    );
    const ding = await eventually(
      'the alert on DingTalk',
      async () => stack.dingtalk.messages.find((m) => m.text.includes('PaysyncMissedNotifications')),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(ding.text).toContain('对账任务发现已支付但未收到支付通知的订单');
    expect(stack.dingtalk.refusals).toEqual([]);

    // The reconciler's domain alert about the order itself went the Kafka way to the same people.
    await eventually('the domain alert about the order', async () =>
      stack.smtp.mails.find((m) => m.text.includes(missed) && m.text.includes('missed-notifications.md')),
    );

    // Every query of every panel returns data.
    const queries = dashboardQueries();
    const empty = await eventually(
      'every dashboard query to return data',
      async () => {
        const missing: string[] = [];
        for (const q of queries) {
          const result = await query(prometheus.url, withGrafanaVariables(q.expr, '1m'));
          if (result.length === 0) missing.push(`${q.panel} ${q.refId}: ${q.expr}`);
        }
        return missing.length === 0 ? missing : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    ).catch(async () => {
      const missing: string[] = [];
      for (const q of queries) {
        if ((await query(prometheus.url, withGrafanaVariables(q.expr, '1m'))).length === 0)
          missing.push(`${q.panel} ${q.refId}`);
      }
      return missing;
    });
    expect(empty).toEqual([]);

    // Secrets never reach a log line.
    const logs = stack.procs.flatMap((p) => p.lines).join('\n');
    for (const secret of Object.values(stack.secrets)) expect(logs).not.toContain(secret);
  }, 300_000);
});
