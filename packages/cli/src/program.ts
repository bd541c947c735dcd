import { readFileSync } from 'node:fs';
import { ConfigError } from '@paysync/config';
import { isConnectionFailure } from '@paysync/db';
import { classifyKafkaError } from '@paysync/kafka';
import { ReconcileError } from '@paysync/reconcile';
import { WeChatPayError } from '@paysync/wechatpay';
import { Command, CommanderError } from 'commander';
import { billListCommand, billResolveCommand, billRunCommand, billShowCommand } from './commands/bill.ts';
import { dlqListCommand, dlqResolveCommand, dlqRetryCommand } from './commands/dlq.ts';
import { migrateCommand } from './commands/migrate.ts';
import { checkNotifyUrlCommand } from './commands/notify-url.ts';
import { orderCommand } from './commands/order.ts';
import { refundCommand } from './commands/refund.ts';
import { replayCommand } from './commands/replay.ts';
import { reviewListCommand, reviewResolveCommand } from './commands/review.ts';
import { repairCommand, syncCommand } from './commands/sync.ts';
import { CommandFailedError, EXIT_FAILED, EXIT_USAGE, type ExitCode, UsageError } from './errors.ts';
import { type Io, processIo } from './io.ts';
import { Resources } from './resources.ts';

const EXAMPLES = `
Examples:
  payctl order RECHARGE_ORDER_20260501_0001
  payctl sync RECHARGE_ORDER_20260501_0001 --reason "INC-1234 user paid, still pending"
  payctl repair --status pending --from 2026-05-01T00:00:00+08:00 --to 2026-05-02T00:00:00+08:00 --dry-run
  payctl repair --status pending --from 24h --to now --reason "INC-1234 notify URL was localhost"
  payctl replay RECHARGE_ORDER_20260501_0001 --reason "downstream missed order-settled"
  payctl check-notify-url https://pay.example.com/api/payment/wechat/callback
  payctl dlq list && payctl dlq retry 0:17 --resolve --reason "order row restored"
  payctl dlq resolve 0:18 0:19 --reason "INC-1234 test payments, refunded"
  payctl bill run 2026-05-01 && payctl bill show 2026-05-01 && payctl bill resolve 17 --reason "INC-1240 refunded by hand"
  payctl review list && payctl review resolve 7 --resolution kept --reason "INC-1241 paid at the last second, kept"

Exit codes: 0 done; 1 the command ran but did not (fully) succeed, or MySQL/Kafka/WeChat Pay could not be
reached; 2 usage or configuration; 3 payctl order found differences between paysync and WeChat Pay.
Who acts: --actor, else $PAYCTL_ACTOR, else $USER (unset in a pod); dry runs need none.
Without a terminal, a sync or repair prints one line per step on stderr and a summary at the end.
Configuration comes from the environment (MYSQL_URL, KAFKA_BROKERS, WECHATPAY_*): see packages/cli/README.md.`;

type Globals = { json?: boolean; actor?: string };

/** payctl's version: the version of @paysync/cli (its package.json, shipped with the sources). */
export const PAYCTL_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export type PayctlOptions = {
  /** What commands connect to (tests: a stand-in that refuses to connect). */
  resources?: (io: Io) => Resources;
};

/**
 * Runs payctl with `argv` (the arguments after the program name) and returns the exit code.
 * Everything it prints goes through `io`, so tests run it in-process.
 */
export async function runPayctl(
  argv: readonly string[],
  io: Io = processIo(),
  opts: PayctlOptions = {},
): Promise<number> {
  const res = opts.resources ? opts.resources(io) : new Resources(io);
  let code: ExitCode = 0;
  const set = (c: ExitCode) => {
    code = c;
  };
  const program = new Command('payctl')
    .description(
      'paysync operator tool: inspect, sync, repair and replay orders (audited); notify URL; migrations; DLQ; trade bill; payment reviews',
    )
    .version(PAYCTL_VERSION, '-V, --version', 'print payctl’s version')
    .option('--json', 'machine-readable output on stdout')
    .option('--actor <name>', 'who is acting, for the audit log (default: $USER)')
    .addHelpText('after', EXAMPLES)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(payctl --help lists the commands)');
  const globals = (cmd: Command) => cmd.optsWithGlobals() as Globals & Record<string, unknown>;

  program
    .command('order')
    .description(
      'our state, journal and ledger entries beside WeChat Pay’s live state, differences highlighted',
    )
    .argument('<out_trade_no>')
    .option('--no-wechat', 'do not query WeChat Pay')
    .action(async (no: string, _o, cmd: Command) => {
      const g = globals(cmd);
      set(await orderCommand(res, io, no, { json: Boolean(g.json), wechat: g.wechat !== false }));
    });

  const syncOptions = (c: Command) =>
    c
      .option('--dry-run', 'query WeChat and print what would change and why; change nothing')
      .option(
        '--reason <text>',
        'why (required unless --dry-run; goes into the audit log and every observation)',
      )
      .option('--qps <n>', 'WeChat Pay calls per second (default $PAYCTL_QPS or 20)')
      .option('--concurrency <n>', 'orders at once (default $PAYCTL_CONCURRENCY or 4)')
      .option(
        '--wait <duration>',
        'how long to wait for the ledger before recording the after-state (default 15s)',
      );

  syncOptions(
    program
      .command('sync')
      .description(
        'query these orders at WeChat Pay and publish what it says (closing pending orders past expiry)',
      )
      .argument('<out_trade_no...>'),
  ).action(async (nos: string[], _o, cmd: Command) => {
    set(await syncCommand(res, io, nos, globals(cmd)));
  });

  syncOptions(
    program
      .command('repair')
      .description('sync every order in a status created in a time range')
      .option('--status <status>', 'order status to select', 'pending')
      .option('--from <time>', 'created at or after (RFC 3339, "now", or a duration ago such as 24h)')
      .option('--to <time>', 'created before')
      .option('--limit <n>', 'at most this many orders (default 10000)'),
  ).action(async (_o, cmd: Command) => {
    set(await repairCommand(res, io, globals(cmd)));
  });

  program
    .command('replay')
    .description('publish the order’s last journaled observation again (resends order-settled)')
    .argument('<out_trade_no>')
    .option('--reapply', 'publish it as a new manual observation, so the ledger decides again')
    .option('--dry-run', 'print what would be published')
    .option('--reason <text>', 'why (required unless --dry-run)')
    .option('--wait <duration>', 'how long to wait for the ledger (with --reapply)')
    .action(async (no: string, _o, cmd: Command) => {
      set(await replayCommand(res, io, no, globals(cmd)));
    });

  program
    .command('refund')
    .description(
      'refund (part of) a paid order at WeChat Pay: points held, then reversed when WeChat says SUCCESS',
    )
    .argument('<out_trade_no>')
    .option('--amount <fen>', 'how much to refund, in fen')
    .option('--reason <text>', 'why (required unless --dry-run); shown to the user by WeChat (80 characters)')
    .option('--merchant-refund-no <no>', 'your own refund number: running again with it never refunds twice')
    .option('--dry-run', 'check the refund and print what would be refunded and held; change nothing')
    .action(async (no: string, _o, cmd: Command) => {
      set(await refundCommand(res, io, no, globals(cmd)));
    });

  program
    .command('check-notify-url')
    .description('check the notify URL against WeChat Pay’s rules and probe it as WeChat would')
    .argument('[url]', 'default: $WECHATPAY_NOTIFY_URL')
    .option('--probe-url <url>', 'send the probe here instead (same route through another address)')
    .option('--timeout <duration>', 'probe timeout', '5s')
    .option('--allow-insecure', 'skip WeChat’s rules (a local sandbox on http://127.0.0.1)')
    .action(async (url: string | undefined, _o, cmd: Command) => {
      set(await checkNotifyUrlCommand(io, url, globals(cmd)));
    });

  program
    .command('migrate')
    .description('apply pending database migrations (or list them with --status)')
    .option('--status', 'only list applied and pending migrations')
    .option(
      '--grants [components]',
      'then create every component’s database user with exactly its grants (or only the listed ones, comma-separated)',
    )
    .action(async (_o, cmd: Command) => {
      set(await migrateCommand(res, io, globals(cmd)));
    });

  const dlq = program.command('dlq').description('observations the ledger could not apply');
  dlq
    .command('list')
    .description('list dead-lettered observations')
    .option('--limit <n>', 'show the last n (default 100)')
    .option('--unhandled', 'only the entries not yet marked handled (dlq resolve)')
    .action(async (_o, cmd: Command) => {
      set(await dlqListCommand(res, io, globals(cmd)));
    });
  dlq
    .command('retry')
    .description('publish dead-lettered observations again (same observation id: applied at most once)')
    .argument('[id...]', 'entries as partition:offset (see dlq list)')
    .option('--all', 'every retriable entry')
    .option('--resolve', 'then mark the entries published handled (as dlq resolve does)')
    .option('--dry-run', 'print what would be published')
    .option('--reason <text>', 'why (required unless --dry-run)')
    .action(async (ids: string[], _o, cmd: Command) => {
      set(await dlqRetryCommand(res, io, ids, globals(cmd)));
    });
  dlq
    .command('resolve')
    .description(
      'mark dead letters handled (clears the PaysyncDlqNotEmpty alert); a partition is handled up to an offset, so earlier unhandled entries must be named too',
    )
    .argument('[id...]', 'entries as partition:offset (see dlq list)')
    .option('--all', 'every entry in the DLQ')
    .option('--dry-run', 'print what would be marked handled')
    .option('--reason <text>', 'why (required unless --dry-run)')
    .action(async (ids: string[], _o, cmd: Command) => {
      set(await dlqResolveCommand(res, io, ids, globals(cmd)));
    });

  const bill = program.command('bill').description('T+1 reconciliation with WeChat Pay’s trade bill');
  bill
    .command('run')
    .description(
      'reconcile one Beijing day (default yesterday) with its trade bill; exit 1 on critical differences',
    )
    .argument('[date]', 'YYYY-MM-DD (Beijing) or "yesterday"')
    .option('--hold-days <n>', 'later bills a payment absent from the bill is held for (default 1)')
    .action(async (date: string | undefined, _o, cmd: Command) => {
      set(await billRunCommand(res, io, date, globals(cmd)));
    });
  bill
    .command('show')
    .description('the day’s run and its differences')
    .argument('[date]', 'YYYY-MM-DD (Beijing) or "yesterday"')
    .action(async (date: string | undefined, _o, cmd: Command) => {
      set(await billShowCommand(res, io, date, globals(cmd)));
    });
  bill
    .command('list')
    .description('the last runs, or with --open every difference not resolved')
    .option('--open', 'list open and held differences instead of runs')
    .option('--limit <n>', 'at most n (default 30)')
    .action(async (_o, cmd: Command) => {
      set(await billListCommand(res, io, globals(cmd)));
    });
  bill
    .command('resolve')
    .description('close a difference a person handled (who and why are kept, and audited)')
    .argument('<id>', 'the difference id (bill show / bill list --open)')
    .option('--reason <text>', 'what was done (required)')
    .action(async (id: string, _o, cmd: Command) => {
      set(await billResolveCommand(res, io, id, globals(cmd)));
    });

  const review = program
    .command('review')
    .description('mismatches and late payments a person must decide about (open until resolved)');
  review
    .command('list')
    .description('the open reviews (PaysyncSettlementMismatch, PaysyncLatePayments fire while any is open)')
    .option('--all', 'resolved ones too')
    .option('--order <out_trade_no>', 'every review of one order')
    .option('--limit <n>', 'at most n (default 100)')
    .action(async (_o, cmd: Command) => {
      set(await reviewListCommand(res, io, globals(cmd)));
    });
  review
    .command('resolve')
    .description('record what a person decided: who, the answer and why are kept, and audited')
    .argument('<id>', 'the review id (review list)')
    .option(
      '--resolution <answer>',
      'kept (a late payment kept), refunded (refunded at WeChat Pay), not_ours (another merchant or app), other',
    )
    .option('--reason <text>', 'what was done (required unless --dry-run)')
    .option('--dry-run', 'check the review and the answer; change nothing')
    .action(async (id: string, _o, cmd: Command) => {
      set(await reviewResolveCommand(res, io, id, globals(cmd)));
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    code = exitCodeFor(err, io);
  } finally {
    await res.close();
  }
  return code;
}

function exitCodeFor(err: unknown, io: Io): ExitCode {
  if (err instanceof CommanderError) {
    // Help and version end here too (exit code 0); commander already printed the message.
    return err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (err instanceof UsageError || err instanceof ConfigError) {
    io.err(`payctl: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof CommandFailedError || err instanceof ReconcileError || err instanceof WeChatPayError) {
    io.err(`payctl: ${err.message}\n`);
    return EXIT_FAILED;
  }
  const unreachable = unreachableDependency(err, io.env);
  if (unreachable) {
    io.err(`payctl: ${unreachable}\n`);
    return EXIT_FAILED;
  }
  io.err(`payctl: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT_FAILED;
}

/**
 * A dependency payctl could not reach, said with the variable that configures it: MySQL by the
 * host and port of MYSQL_URL (never its account or password), Kafka by KAFKA_BROKERS. A Kafka error
 * counts when classifyKafkaError calls it the cluster's (not records Kafka refused, not a bug).
 */
export function unreachableDependency(err: unknown, env: Io['env']): string | undefined {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  const detail = typeof e?.message === 'string' && e.message !== '' ? e.message : String(e?.code);
  if (classifyKafkaError(err) === 'infrastructure') {
    return `cannot reach Kafka at ${env.KAFKA_BROKERS ?? '(KAFKA_BROKERS unset)'} (KAFKA_BROKERS): ${detail}`;
  }
  if (isConnectionFailure(err)) {
    let where = '(MYSQL_URL unset)';
    try {
      if (env.MYSQL_URL) where = new URL(env.MYSQL_URL).host;
    } catch {
      where = '(MYSQL_URL is not a URL)';
    }
    return `cannot reach MySQL at ${where} (MYSQL_URL): ${String(e?.code)}`;
  }
  return undefined;
}
