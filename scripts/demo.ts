// npm run demo: paysync at work in about two minutes, against the stack `npm start` runs (or one it
// starts itself when none runs, and stops at the end).
//
//   npm run demo                    the scenario: orders, payments, lost and duplicated notifications,
//                                   the reconciler, alerts, the invariants, a summary
//   npm run demo -- order [fen]     one order through the gateway, paid at the sandbox (needs npm start)
//   npm run demo -- incident on|off WeChat Pay cannot reach the notify URL any more / again (npm start)
//
// Exit 1 when an invariant is broken or the stack could not be reached.
import { createPool, type RowDataPacket } from '@paysync/db';
import { progressLine, summary } from './demo/report.ts';
import { runScenario, SCENARIO_FAULTS } from './demo/scenario.ts';
import { type DemoTarget, demoTarget, runningTarget } from './demo/target.ts';
import { GatewayClient, rechargeOrder, SandboxControl } from './start/clients.ts';
import { StackError } from './start/errors.ts';

const USAGE = `usage: npm run demo [-- order [amount_fen] | -- incident on|off]
  (no argument)       the demo scenario (~2 minutes), against npm start's stack or a stack of its own
  order [amount_fen]  create one recharge order through the gateway and pay it at the sandbox
  incident on|off     make the notify URL unreachable for WeChat Pay (the incident), or reachable again`;

const say = (line: string) => process.stdout.write(`${line}\n`);
// Output to a terminal that went away is dropped; the demo still stops what it started.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scenario(): Promise<number> {
  const target = await demoTarget(say);
  // The scenario loses and duplicates notifications on purpose: a stack that keeps running after
  // the demo gets its previous sandbox faults back, whatever happens.
  const sandbox = new SandboxControl(target.sandboxUrl);
  const before = await sandbox.faults();
  let stopping: Promise<void> | undefined;
  const stopTarget = () => {
    const restore = Object.fromEntries(SCENARIO_FAULTS.map((k) => [k, before[k]]));
    stopping ??= sandbox
      .setFaults(restore)
      .catch(() => {})
      .then(() => target.stop());
    return stopping;
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) return; // one Ctrl-C arrives twice: from the terminal and through paysync.sh
      interrupted = true;
      say(`\n${signal}: stopping the demo${target.own ? ' and its stack' : ''}…`);
      void stopTarget().finally(() => process.exit(130));
    });
  }
  try {
    const orders = 60;
    say(
      `paysync demo: ${orders} recharge orders at 3/s through ${target.ordersUrl}; the sandbox loses 25 % of the\n` +
        `payment notifications and sends 15 % twice; 1 order in 7 is never paid (it expires after 60 s).\n` +
        `The reconciler sweeps every ${Math.round(target.sweepEveryMs / 1000)} s.` +
        (target.own ? '' : ' Watch the npm start terminal: the sinks print every alert.'),
    );
    const tty = process.stdout.isTTY === true;
    let lastPrinted = 0;
    const result = await runScenario(target, {
      orders,
      rate: 3,
      dropShare: 0.25,
      duplicateShare: 0.15,
      expiresInSeconds: 60,
      deadlineMs: 150_000,
      // A refund whose notification was lost ends at the reconciler's next query of it (a minute).
      refundDeadlineMs: 150_000,
      onProgress: (p) => {
        const line = progressLine(p, orders);
        if (tty) process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 200) - 1)}`);
        else if (Date.now() - lastPrinted >= 5000) {
          lastPrinted = Date.now();
          say(line);
        }
      },
    });
    if (tty) process.stdout.write('\n');
    for (const line of summary(result)) say(line);
    return result.invariants.ok && result.bill.ok ? 0 : 1;
  } finally {
    await stopTarget();
  }
}

async function oneOrder(target: DemoTarget, amount: number): Promise<number> {
  const gateway = new GatewayClient(target.ordersUrl, target.apiToken);
  const sandbox = new SandboxControl(target.sandboxUrl);
  const order = await gateway.createOrder(rechargeOrder('demo-user', amount));
  say(`created ${order.out_trade_no} (${amount} fen) through ${target.ordersUrl}/api/payment/orders`);
  await sandbox.pay(order.out_trade_no);
  say('paid at the sandbox (WeChat Pay): waiting for paysync to settle it…');
  const started = Date.now();
  const limit = target.sweepEveryMs * 3 + 30_000;
  let hinted = false;
  const pool = createPool({ url: target.mysqlUrl, connectionLimit: 1 });
  try {
    while (Date.now() - started < limit) {
      const [[o]] = await pool.query<RowDataPacket[]>(
        'SELECT status, settled_via FROM payment_orders WHERE out_trade_no = ?',
        [order.out_trade_no],
      );
      if (o?.status === 'paid') {
        const via =
          o.settled_via === 'query' ? 'by the reconciler (no notification arrived)' : 'from its notification';
        say(`paid after ${((Date.now() - started) / 1000).toFixed(1)} s, settled ${via}`);
        say(`look at it: .cache/run/stack/payctl order ${order.out_trade_no}`);
        return 0;
      }
      if (!hinted && Date.now() - started > 3000) {
        hinted = true;
        say(
          'no notification yet (is the incident switch on?): the reconciler will find it at its next sweeps…',
        );
      }
      await sleep(500);
    }
  } finally {
    await pool.end();
  }
  say(`not settled after ${Math.round(limit / 1000)} s: see the npm start terminal`);
  return 1;
}

async function incident(target: DemoTarget, on: boolean): Promise<number> {
  const sandbox = new SandboxControl(target.sandboxUrl);
  await sandbox.setFaults({ notifyUnreachable: on ? 'refused' : 'off' });
  say(
    on
      ? 'incident ON: WeChat Pay (the sandbox) can no longer reach the notify URL, as when it was localhost.\n' +
          'Payments still happen; their notifications fail and are retried on WeChat’s schedule (sped up).\n' +
          'Pay an order (npm run demo -- order): the reconciler settles it, counts a missed notification and\n' +
          'alerts; Prometheus fires PaysyncMissedNotifications — watch the npm start terminal.'
      : 'incident OFF: notifications reach the gateway again (pending retries deliver on their schedule).',
  );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    say(USAGE);
    return 0;
  }
  if (command === undefined || command === 'run') return scenario();
  if (command === 'order') {
    const amount = arg === undefined ? 1000 : Number(arg);
    if (!Number.isInteger(amount) || amount <= 0)
      throw new StackError('CONFIG_INVALID', `amount must be fen > 0: ${arg}`);
    return oneOrder(runningTarget(), amount);
  }
  if (command === 'incident' && (arg === 'on' || arg === 'off'))
    return incident(runningTarget(), arg === 'on');
  say(USAGE);
  return 2;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof StackError) {
    process.stderr.write(`demo: ${err.message}\n${err.details ? `${err.details}\n` : ''}`);
  } else {
    process.stderr.write(`demo: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exitCode = 1;
}
// kafkajs or mysql2 timers must not keep a finished demo alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
