#!/usr/bin/env node
// reconciler's process: `sweep` and `bill` run once (a CronJob execution) and exit with their status;
// `operator` runs until SIGTERM. The kernel (@paysync/observability) owns configuration errors,
// signals and exit codes (docs/operations.md); this file picks the mode from the arguments.
import { parseArgs } from 'node:util';
import { EXIT_CODES, runOnce, runService } from '@paysync/observability';
import { BILL_DATE_PATTERN } from '@paysync/reconcile';

const USAGE = `usage: paysync-reconciler sweep [--shard i/n] | bill [--date YYYY-MM-DD] | operator
  sweep            one reconciliation run: check every due pending order at WeChat Pay, then exit
                   (0: done, or another run holds the lock; 1: the run failed; 2: bad configuration)
  --shard i/n      only orders with CRC32(out_trade_no) % n == i (overrides RECONCILER_SHARD)
  bill             T+1 trade-bill reconciliation of one Beijing day (default yesterday), then exit
                   (0: reconciled, differences recorded; 1: the bill could not be reconciled)
  operator         the PaymentRepair operator: leader-elected, executes PaymentRepair resources
Configuration comes from the environment: see services/reconciler/README.md.`;

function parse() {
  return parseArgs({
    allowPositionals: true,
    options: { shard: { type: 'string' }, date: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}
let args: ReturnType<typeof parse>;
try {
  args = parse();
} catch (err) {
  console.error(`paysync-reconciler: ${(err as Error).message}\n${USAGE}`);
  process.exit(EXIT_CODES.badConfiguration);
}
const [mode, ...rest] = args.positionals;
const { shard, date, help } = args.values;
if (help) {
  console.log(USAGE);
  process.exit(EXIT_CODES.ok);
}
if (date !== undefined && !BILL_DATE_PATTERN.test(date)) {
  console.error(`paysync-reconciler: --date must be YYYY-MM-DD (got "${date}")`);
  process.exit(EXIT_CODES.badConfiguration);
}
if (mode === 'operator') {
  const { operatorService } = await import('./operator/run.ts');
  await runService(operatorService);
} else if (mode === 'bill' && rest.length === 0) {
  const { billJob } = await import('./bill-main.ts');
  await runOnce(billJob(date));
} else if (mode === 'sweep' && rest.length === 0) {
  const { sweepJob } = await import('./sweep-main.ts');
  await runOnce(sweepJob(shard));
} else {
  console.error(USAGE);
  process.exit(EXIT_CODES.badConfiguration);
}
