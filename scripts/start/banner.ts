// What `npm start` prints once everything is ready: where each part is, why the gateway warns
// about its notify URL, and what to try.
import { rel } from '../infra/config.ts';
import type { Stack } from './stack.ts';
import type { StackState } from './state.ts';

export function banner(stack: Stack, state: StackState, readyInSeconds: number): string[] {
  const u = stack.urls;
  const token = rel(state.files.apiToken);
  const payctl = rel(state.files.payctl);
  const sweepEvery = `${Math.round(state.sweepEveryMs / 1000)}s`;
  const rule = '─'.repeat(100);
  const row = (what: string, where: string | undefined, note: string) =>
    where ? `  ${what.padEnd(20)}${where.padEnd(34)}${note}` : undefined;
  return [
    rule,
    `  paysync is ready (${readyInSeconds.toFixed(1)} s) — everything on 127.0.0.1; Ctrl-C stops all of it`,
    rule,
    row('receiver', u.gateway, 'WeChat Pay callbacks (/api/payment/wechat/callback): the public edge'),
    row('order service', u.orders, 'order API (/api/payment/orders): private, signs with the merchant key'),
    row('WeChat Pay sandbox', u.sandbox, 'stands in for WeChat Pay; control API under /sandbox'),
    row('Prometheus', u.prometheus, 'the chart’s rules loaded — open /alerts'),
    row('Alertmanager', u.alertmanager, 'routes every alert to the alerting service'),
    row('Pushgateway', u.pushgateway, 'the reconciler’s run metrics'),
    row('metrics', u.gatewayMetrics, 'receiver'),
    row('', u.ordersMetrics, 'order service'),
    row('', u.ledgerMetrics, 'points-ledger'),
    row('', u.alertingMetrics, 'alerting'),
    row(
      'alert sinks',
      stack.sinks ? 'mail, DingTalk, WeCom' : undefined,
      'local stand-ins: what they receive is printed below',
    ),
    row(
      'reconciler',
      `one sweep every ${sweepEvery}`,
      'the CronJob; a missed notification is found within ~30 s',
    ),
    row('files', rel(stack.marker), 'logs/ (raw, per process), paysync.env, payctl, secrets/'),
    row(
      'database users',
      'one per process',
      'production grants (packages/db/src/grants.ts); Kafka: plaintext',
    ),
    '',
    '  The receiver warns "NOTIFY URL UNUSABLE BY WECHAT PAY": expected here, and the point of it.',
    `  The notify URL is ${stack.notifyUrl}: plain http on loopback,`,
    '  which the real WeChat Pay could never reach — the incident. The sandbox runs on this machine, so',
    '  it can. In production mode the receiver refuses to start with such a URL; here Prometheus fires',
    '  PaysyncNotifyUrlUnhealthy after 5 minutes and you will see it arrive at the sinks.',
    '',
    '  Try it, in another terminal:',
    '    npm run demo                      # ~2 min: orders, lost notifications, the reconciler, alerts, invariants',
    '    npm run demo -- order 1000        # one 1000-fen order through the order service, paid at the sandbox',
    '    npm run demo -- incident on       # the incident: WeChat Pay can no longer reach the notify URL',
    '    npm run demo -- incident off',
    `    ${payctl} order <out_trade_no>          # our order beside WeChat’s live answer, journal, ledger`,
    `    ${payctl} repair --from 1h --to now --dry-run`,
    `    ${payctl} check-notify-url`,
    `    ${payctl} bill run yesterday           # T+1: WeChat’s trade bill vs the books (the daily CronJob)`,
    `    ${payctl} bill run $(TZ=Asia/Shanghai date +%F)   # today’s orders so far, from the sandbox’s bill`,
    '  or by hand:',
    `    T=$(cat ${token})`,
    `    curl -s ${u.orders}/api/payment/orders -H "authorization: Bearer $T" -H 'content-type: application/json' \\`,
    `      -d '{"merchant_order_no":"try-1","user_id":"alice","amount_fen":1000,"points":100,"trade_type":"NATIVE","description":"100 points"}'`,
    `    curl -s -X POST ${u.sandbox}/sandbox/orders/<out_trade_no>/pay          # the user pays`,
    `    curl -s ${u.orders}/api/payment/orders/<out_trade_no> -H "authorization: Bearer $T"`,
    `    curl -s -X PATCH ${u.sandbox}/sandbox/faults -d '{"notifyUnreachable":"refused"}'   # the incident`,
    `    curl -s -X DELETE ${u.sandbox}/sandbox/faults                                  # healed`,
    rule,
  ].filter((l): l is string => l !== undefined);
}
