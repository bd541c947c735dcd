import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { createPool, migrateUp, type Pool } from '@paysync/db';
import { createIsolatedDatabase } from '@paysync/testkit';
import {
  beijingDayRange,
  fenToYuan,
  TRADE_BILL_ALL_HEADER,
  TRADE_BILL_ALL_SUMMARY_HEADER,
} from '@paysync/wechatpay';
import type { Scenario } from '../result.ts';

// T+1 trade-bill reconciliation at scale: a bill of 1,000,000 rows (gzip, WeChat's exact format)
// against a MariaDB holding those 1,000,000 orders, with 200 planted differences of each of eight
// classes. Verify (gunzip + SHA-1), parse and diff in a child process that spawns nothing: its peak
// RSS is the kernel's high-water mark of that process (VmHWM in /proc/self/status, read right after
// the run), its wall and CPU time (process.cpuUsage: user + system), and the I/O floor (gunzip +
// SHA-1 + line split of the same bytes) timed the same two ways in the same process. The machine may
// be shared: the CPU ratio is the steadier figure; MariaDB's own work is in the wall time only. As
// in runTradeBill, the day's paid orders are read while the file downloads and is verified, so
// verify_seconds includes that overlap.

const ROWS = Number(process.env.BENCH_BILL_ROWS ?? 1_000_000);
const PLANT = 200;
const MCHID = '1900009191';
const APPID = 'wxd678efh567hg6787';
const BILL_DATE = '2026-05-01';
const CHILD = fileURLToPath(new URL('../bill/child.ts', import.meta.url));
// The V8 flags the bill CronJob runs with (reconciler.bill.nodeOptions → NODE_OPTIONS in the chart).
const NODE_FLAGS = (process.env.BENCH_BILL_NODE_FLAGS ?? '--max-old-space-size=128 --max-semi-space-size=16')
  .split(' ')
  .filter(Boolean);
const DIGITS =
  '(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';

// Orders 0 … ROWS-1. Planted ranges (each PLANT orders, from `at`):
const P = {
  notSettled: 0, // expired here, paid in the bill                      → paid_not_settled
  amount: 1, // 999 fen here, 1000 in the bill                          → amount_mismatch
  missing: 2, // paid here, no row in the bill                          → missing_at_wechat
  refundNotReversed: 3, // a SUCCESS refund row, no reversal here       → refund_not_reversed
  refundProcessing: 4, // a PROCESSING refund row                        → refund_processing
  reversedOnlyHere: 5, // a reversal here, no refund row                 → reversal_not_at_wechat
  revoked: 6, // a REVOKED row beside the payment row                    → revoked
  refundMatched: 7, // a SUCCESS refund row and its reversal here         → nothing
  pending: 8, // 4 × PLANT pending here and not in the bill: with the missing ones, room for the 1000 extra rows → nothing
} as const;
const at = (k: keyof typeof P) => P[k] * PLANT;
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
/** A step through the orders that visits each once (coprime with ROWS) and jumps far each time. */
const SCATTER = (() => {
  let step = Math.floor(ROWS * 0.6180339887) | 1;
  while (gcd(step, ROWS) !== 1) step += 2;
  return step;
})();
const no = (n: number) => `BB${String(n).padStart(12, '0')}`;
const dayStartMs = beijingDayRange(BILL_DATE).start.getTime();
const successMs = (n: number) => dayStartMs + (n % 86_000) * 1000;
const beijing = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');

async function fillDatabase(pool: Pool): Promise<void> {
  for (let start = 0; start < ROWS; start += 100_000) {
    const size = Math.min(100_000, ROWS - start);
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
         status, transaction_id, time_expire, success_time, created_at)
       SELECT CONCAT('BB', LPAD(n, 12, '0')), CONCAT('bench-user-', n % 50000), ?, ?, 'NATIVE', 'points recharge',
         IF(n >= ? AND n < ?, 999, 1000), 1000,
         CASE WHEN n < ? THEN 'expired' WHEN n >= ? AND n < ? THEN 'pending' ELSE 'paid' END,
         CASE WHEN n < ? OR (n >= ? AND n < ?) THEN NULL ELSE CONCAT('42', LPAD(n, 26, '0')) END,
         ? + INTERVAL 1 DAY,
         CASE WHEN n < ? OR (n >= ? AND n < ?) THEN NULL ELSE ? + INTERVAL (n % 86000) SECOND END,
         ?
       FROM (SELECT ${start} + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d AS n
               FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} e, ${DIGITS} f) seq
       WHERE n < ${start + size}`,
      [
        MCHID,
        APPID,
        at('amount'),
        at('amount') + PLANT,
        at('notSettled') + PLANT,
        at('pending'),
        at('pending') + 4 * PLANT,
        at('notSettled') + PLANT,
        at('pending'),
        at('pending') + 4 * PLANT,
        new Date(dayStartMs),
        at('notSettled') + PLANT,
        at('pending'),
        at('pending') + 4 * PLANT,
        new Date(dayStartMs),
        new Date(dayStartMs - 3600_000),
      ],
    );
  }
  const reversals: unknown[][] = [];
  for (const k of ['reversedOnlyHere', 'refundMatched'] as const)
    for (let n = at(k); n < at(k) + PLANT; n++)
      reversals.push([
        'bench-user',
        no(n),
        'refund_reversal',
        `RF${no(n)}`,
        -100,
        0,
        new Date(successMs(n) + 600_000),
      ]);
  await pool.query(
    `INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, balance_after, created_at) VALUES ?`,
    [reversals],
  );
}

/** Writes the bill (gzip) and returns the SHA-1 of its decompressed bytes. */
async function writeBill(file: string): Promise<{ sha1: string; rows: number }> {
  const hash = createHash('sha1');
  const sums = { rows: 0, settlement: 0, refund: 0, fee: 0, order: 0, requested: 0 };
  const fields = (n: number, ms: number, state: string, f: Partial<Record<string, string>>) => {
    const total = 1000; // WeChat says 1000 fen for every order (the books say 999 for some)
    return [
      beijing(ms),
      APPID,
      MCHID,
      '0',
      '',
      `42${String(n).padStart(26, '0')}`,
      f.outTradeNo ?? no(n),
      'oBenchPayerOpenid000000000000',
      'NATIVE',
      state,
      'OTHERS',
      'CNY',
      f.settlement ?? fenToYuan(total),
      '0.00',
      f.refundId ?? '0',
      f.outRefundNo ?? '0',
      f.refund ?? '0.00',
      '0.00',
      f.refundType ?? '',
      f.refundStatus ?? '',
      'points recharge',
      '',
      f.fee ?? '0.06000',
      '0.60%',
      f.order ?? fenToYuan(total),
      f.requested ?? '0.00',
      '',
    ];
  };
  function* lines(): Generator<string> {
    yield `\uFEFF${TRADE_BILL_ALL_HEADER.join(',')}\r\n`;
    const row = (
      cells: string[],
      amounts: { settlement: number; refund: number; fee: number; order: number; requested: number },
    ) => {
      sums.rows += 1;
      sums.settlement += amounts.settlement;
      sums.refund += amounts.refund;
      sums.fee += amounts.fee;
      sums.order += amounts.order;
      sums.requested += amounts.requested;
      return `${cells.map((c) => `\`${c}`).join(',')}\r\n`;
    };
    const payment = { settlement: 1000, refund: 0, fee: 6000, order: 1000, requested: 0 };
    const refund = { settlement: 0, refund: 100, fee: 0, order: 0, requested: 100 };
    // WeChat's rows come in no order paysync could rely on (the real-format sample is sorted neither
    // by time nor by number): the orders are visited in a scattered order, each once.
    for (let k = 0, n = 0; k < ROWS; k++, n = (n + SCATTER) % ROWS) {
      const pendingHere = n >= at('pending') && n < at('pending') + 4 * PLANT;
      const missing = n >= at('missing') && n < at('missing') + PLANT;
      if (!pendingHere && !missing) yield row(fields(n, successMs(n), 'SUCCESS', {}), payment);
      const kind = Math.floor(n / PLANT);
      const refundCells = (status: string) =>
        fields(n, successMs(n) + 300_000, 'REFUND', {
          settlement: '0.00',
          order: '0.00',
          refundId: `50${String(n).padStart(27, '0')}`,
          outRefundNo: `RF${no(n)}`,
          refund: '1.00',
          requested: '1.00',
          refundType: 'ORIGINAL',
          refundStatus: status,
          fee: '0.00000',
        });
      if (kind === P.refundNotReversed || kind === P.refundMatched) yield row(refundCells('SUCCESS'), refund);
      if (kind === P.refundProcessing) yield row(refundCells('PROCESSING'), refund);
      if (kind === P.revoked)
        yield row(
          fields(n, successMs(n) + 60_000, 'REVOKED', { settlement: '0.00', order: '0.00', fee: '0.00000' }),
          { ...payment, settlement: 0, order: 0, fee: 0 },
        );
      if (n < PLANT)
        yield row(
          fields(n, successMs(n), 'SUCCESS', { outTradeNo: `BX${String(n).padStart(12, '0')}` }),
          payment,
        );
    }
    yield `${TRADE_BILL_ALL_SUMMARY_HEADER.join(',')}\r\n`;
    yield `${[
      `${sums.rows}.0`,
      fenToYuan(sums.settlement),
      fenToYuan(sums.refund),
      '0.00',
      fenToYuan(Math.floor((sums.fee + 500) / 1000)),
      fenToYuan(sums.order),
      fenToYuan(sums.requested),
    ]
      .map((c) => `\`${c}`)
      .join(',')}\r\n`;
  }
  const hashed = async function* () {
    let batch = '';
    for (const l of lines()) {
      batch += l;
      if (batch.length > 1 << 16) {
        const b = Buffer.from(batch, 'utf8');
        hash.update(b);
        yield b;
        batch = '';
      }
    }
    const b = Buffer.from(batch, 'utf8');
    hash.update(b);
    yield b;
  };
  await pipeline(hashed, createGzip(), createWriteStream(file));
  return { sha1: hash.digest('hex'), rows: sums.rows };
}

function expectedDifferences(): Set<string> {
  const out = new Set<string>();
  const range = (k: keyof typeof P, cls: string, key: (n: number) => string) => {
    for (let n = at(k); n < at(k) + PLANT; n++) out.add(`${cls}:${key(n)}`);
  };
  range('notSettled', 'paid_not_settled', no);
  range('amount', 'amount_mismatch', no);
  range('missing', 'missing_at_wechat', no);
  range('refundNotReversed', 'refund_not_reversed', (n) => `RF${no(n)}`);
  range('refundProcessing', 'refund_processing', (n) => `RF${no(n)}`);
  range('reversedOnlyHere', 'reversal_not_at_wechat', (n) => `RF${no(n)}`);
  range('revoked', 'revoked', no);
  for (let n = 0; n < PLANT; n++) out.add(`unknown_order:BX${String(n).padStart(12, '0')}`);
  return out;
}

export const scenario: Scenario = {
  name: 'bill-reconcile',
  description: `a ${ROWS.toLocaleString('en')}-row trade bill against ${ROWS.toLocaleString('en')} orders: verify, parse and diff (8 × ${PLANT} planted differences)`,
  async run() {
    const db = await createIsolatedDatabase('bench_bill');
    const pool = createPool({ url: db.url, connectionLimit: 4 });
    const dir = await mkdtemp(join(tmpdir(), 'paysync-bill-bench-'));
    try {
      await migrateUp(pool);
      const loadStart = Date.now();
      await fillDatabase(pool);
      const file = join(dir, `tradebill-ALL-${BILL_DATE}.csv.gz`);
      const { sha1, rows } = await writeBill(file);
      const setupSeconds = (Date.now() - loadStart) / 1000;
      const gzBytes = (await readFile(file)).length;
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [...NODE_FLAGS, CHILD, file, sha1, BILL_DATE, MCHID, db.url],
          { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
      const r = JSON.parse(out.trim().split('\n').at(-1) as string) as {
        totalMs: number;
        verifyMs: number;
        parseDiffMs: number;
        floorMs: number;
        runCpuMs: number;
        floorCpuMs: number;
        parseOnlyMs: number;
        parseOnlyCpuMs: number;
        floorLines: number;
        floorHashOk: boolean;
        rows: number;
        peakRssMb: number;
        differences: string[];
      };
      const expected = expectedDifferences();
      const found = new Set(r.differences);
      const missed = [...expected].filter((d) => !found.has(d)).length;
      const extra = [...found].filter((d) => !expected.has(d)).length;
      const seconds = r.totalMs / 1000;
      const ratio = r.totalMs / r.floorMs;
      const cpuRatio = r.runCpuMs / r.floorCpuMs;
      const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
      console.log(
        `  wall ${round(seconds)} s against the floor's ${round(r.floorMs / 1000)} s (${round(ratio)}×); ` +
          `CPU ${round(r.runCpuMs / 1000)} s against ${round(r.floorCpuMs / 1000)} s (${round(cpuRatio)}×); ` +
          `peak RSS ${round(r.peakRssMb, 1)} MB (VmHWM of the child, which spawns nothing); ` +
          `${found.size} differences, ${missed} missed, ${extra} unexpected`,
      );
      return {
        value: round(seconds),
        unit: 's',
        baseline: { name: 'gunzip + SHA-1 + line split', value: round(r.floorMs / 1000) },
        ratio: round(ratio),
        target: { max_seconds: 60, max_peak_rss_mb: 300, max_ratio: 3 },
        pass:
          seconds < 60 &&
          r.peakRssMb < 300 &&
          ratio <= 3 &&
          missed === 0 &&
          extra === 0 &&
          r.rows === rows &&
          r.floorHashOk,
        extra: {
          rows: r.rows,
          gzip_mb: round(gzBytes / 2 ** 20),
          verify_seconds: round(r.verifyMs / 1000),
          parse_diff_seconds: round(r.parseDiffMs / 1000),
          parse_alone_seconds: round(r.parseOnlyMs / 1000),
          cpu_seconds: round(r.runCpuMs / 1000),
          floor_cpu_seconds: round(r.floorCpuMs / 1000),
          cpu_ratio: round(cpuRatio),
          parse_alone_cpu_seconds: round(r.parseOnlyCpuMs / 1000),
          node_flags: NODE_FLAGS.join(' '),
          peak_rss_mb: round(r.peakRssMb, 1),
          planted: expected.size,
          found: found.size,
          missed,
          unexpected: extra,
          setup_seconds: round(setupSeconds, 1),
        },
      };
    } finally {
      await pool.end();
      await db.drop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  },
};
