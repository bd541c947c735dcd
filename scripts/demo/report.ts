// The demo's live progress line and its one-screen summary.
import type { Progress, ScenarioResult } from './scenario.ts';

const n = (v: number) => v.toLocaleString('en-US');

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function progressLine(p: Progress, total: number): string {
  const s = p.snap;
  const alerts = s.alertsSent.reduce((a, b) => a + b.n, 0);
  const settled = s.settledVia.notification + s.settledVia.query + s.settledVia.manual;
  return `[${duration(p.elapsedMs).padStart(5)}] ${[
    `orders ${p.created}/${total}`,
    `paid at WeChat ${p.paidAtWeChat}`,
    `settled ${settled} (notified ${s.settledVia.notification}, reconciled ${s.settledVia.query})`,
    `lost notifications ${s.notificationsLost}`,
    `missed detected ${s.missedDetected ?? '?'}`,
    `alerts ${alerts}`,
    `pending ${s.byStatus.pending ?? 0}`,
    `expired ${s.byStatus.expired ?? 0}`,
  ].join(' · ')}`;
}

export function summary(r: ScenarioResult): string[] {
  const s = r.snap;
  const settled = s.settledVia.notification + s.settledVia.query + s.settledVia.manual;
  const row = (label: string, value: number | string, note = '') =>
    `  ${label.padEnd(52)}${String(typeof value === 'number' ? n(value) : value).padStart(8)}   ${note}`.trimEnd();
  const byType = new Map<string, { n: number; channels: Set<string> }>();
  for (const a of s.alertsSent) {
    const t = byType.get(a.type) ?? { n: 0, channels: new Set<string>() };
    t.n += a.n;
    t.channels.add(a.channel);
    byType.set(a.type, t);
  }
  const alertLines = [...byType].map(
    ([type, t]) => `      ${type}: ${t.n} message(s) to ${[...t.channels].join(', ')}`,
  );
  const inv = r.invariants;
  const rule = '─'.repeat(96);
  return [
    rule,
    `  paysync demo — ${r.created} recharge orders in ${duration(r.elapsedMs)}${r.quiet ? '' : ' (stopped waiting: not quiet yet)'}`,
    rule,
    row('orders created through the order service’s order API', r.created),
    row('paid at WeChat Pay (the sandbox)', r.paidAtWeChat),
    row('  settled from WeChat’s payment notification', s.settledVia.notification),
    row(
      '  settled by the reconciler (it queried WeChat)',
      s.settledVia.query,
      `${s.notificationsLost} notifications were lost by the sandbox`,
    ),
    row(
      '  paid at WeChat, not settled here yet',
      r.paidAtWeChat - settled,
      r.paidAtWeChat === settled ? '' : 'still being checked',
    ),
    row('duplicate notifications delivered', s.duplicatesDelivered, 'absorbed: one ledger entry per order'),
    row('never paid: closed at WeChat at expiry, expired', s.byStatus.expired ?? 0),
    row('never paid: still pending (checked until final)', s.byStatus.pending ?? 0),
    row(
      'missed notifications detected by the reconciler',
      s.missedDetected ?? 'n/a',
      'paysync_reconciler_missed_notifications_total',
    ),
    row(
      'alert messages delivered to the local sinks',
      s.alertsSent.reduce((a, b) => a + b.n, 0),
    ),
    ...alertLines,
    row('points credited', s.pointsCredited, `to ${s.usersCredited} users`),
    row(
      'refunds through the order API (a third, whole, in three parts)',
      r.refunds.requested,
      r.refunds.quiet ? '' : 'stopped waiting: some still processing',
    ),
    row(
      '  succeeded at WeChat, points reversed once each',
      r.refunds.succeeded,
      `${r.refunds.pointsReversed} points; ${r.refunds.learntByQuery} learnt by the reconciler's query (notification lost)`,
    ),
    ...billLines(r),
    row(
      'invariants (docs/DESIGN.md 1–3, 5–8)',
      inv.ok ? 'OK' : 'BROKEN',
      `checked ${n(inv.checked.orders ?? 0)} orders, ${n(inv.checked.accounts ?? 0)} accounts, ${inv.checked.paidAtWeChat} paid at WeChat`,
    ),
    ...inv.violations.map((v) => `      ✗ ${v}`),
    rule,
  ];
}

/** The trade-bill phase: what was planted, payctl's own output of each step, and the outcome. */
function billLines(r: ScenarioResult): string[] {
  const b = r.bill;
  const indent = (text: string) => text.split('\n').map((l) => `      ${l}`);
  const step = (what: string, run: BillPhaseRun) => [
    `    $ payctl ${run.args.join(' ')}    # ${what} (exit ${run.exitCode})`,
    ...indent(run.output),
  ];
  const planted = b.platformRefund
    ? `a refund of ${b.platformRefund.amount} fen on ${b.platformRefund.outTradeNo} made in the merchant platform, never notified; a payment row for an order paysync never created`
    : 'a payment row for an order paysync never created (no order left for a platform refund)';
  return [
    `  T+1 trade bill of ${b.billDate} (Beijing) — planted at the sandbox: ${planted}`,
    ...step('the run: download, verify, diff, act', b.first),
    `      → the refund query's answer went to the ledger: ${b.reversed ? 'points reversed once' : 'NOT applied yet'}`,
    ...step('the day’s differences, acted on', b.show),
    ...step('the same day again, the extra row gone: both cleared, nothing done twice', b.again),
    `  trade bill phase ${b.ok ? 'OK' : 'NOT as expected'}`,
  ];
}

type BillPhaseRun = ScenarioResult['bill']['first'];
