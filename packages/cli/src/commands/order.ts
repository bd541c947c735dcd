import { listRefunds, type RefundRow, type RowDataPacket } from '@paysync/db';
import { orderJournal } from '@paysync/reconcile';
import { OrderNotExistError, WeChatPayError } from '@paysync/wechatpay';
import { compareWithWeChat, type OurOrder, type TheirOrder } from '../compare.ts';
import { CommandFailedError, EXIT_DIFFERENCES, type ExitCode } from '../errors.ts';
import { iso, json, table } from '../format.ts';
import { type Io, paint } from '../io.ts';
import type { Resources } from '../resources.ts';

type Row = RowDataPacket & Record<string, unknown>;

/** payctl order: our state, journal and ledger entries beside WeChat's live state, differences first. */
export async function orderCommand(
  res: Resources,
  io: Io,
  outTradeNo: string,
  opts: { json: boolean; wechat: boolean },
): Promise<ExitCode> {
  const pool = res.pool();
  const [orders] = await pool.query<Row[]>(
    `SELECT out_trade_no, merchant_order_no, user_id, mchid, appid, trade_type, amount_total, currency, points,
            bonus_points, status, transaction_id, time_expire, next_check_at, check_attempts, last_checked_at,
            last_wechat_state, settled_via, success_time, settled_at, refunded_amount, created_at, updated_at
       FROM payment_orders WHERE out_trade_no = ?`,
    [outTradeNo],
  );
  const order = orders[0];
  const journal = order ? await orderJournal(pool, outTradeNo) : [];
  const [ledger] = order
    ? await pool.query<Row[]>(
        `SELECT entry_type, reference_no, points_delta, bonus_points, balance_after, created_at
           FROM point_transactions WHERE out_trade_no = ? ORDER BY id`,
        [outTradeNo],
      )
    : [[] as Row[]];
  const refunds = order ? await listRefunds(pool, outTradeNo) : [];

  let theirs: TheirOrder | undefined;
  if (opts.wechat) {
    try {
      const tx = await (await res.wechat()).queryByOutTradeNo(
        outTradeNo,
        order ? String(order.mchid) : undefined,
      );
      theirs = {
        state: tx.trade_state,
        amountTotal: tx.amount?.total,
        mchid: tx.mchid,
        appid: tx.appid,
        transactionId: tx.transaction_id,
      };
    } catch (err) {
      if (err instanceof OrderNotExistError) theirs = { state: 'ORDER_NOT_EXIST' };
      else if (err instanceof WeChatPayError) theirs = { error: `${err.code}: ${err.message}` };
      else throw err;
    }
  }

  const ours: OurOrder | undefined = order
    ? {
        outTradeNo,
        status: String(order.status),
        amountTotal: Number(order.amount_total),
        mchid: String(order.mchid),
        appid: String(order.appid),
        transactionId: (order.transaction_id as string | null) ?? null,
        timeExpire: order.time_expire as Date,
      }
    : undefined;
  const differences = ours && theirs ? compareWithWeChat(ours, theirs, new Date()) : [];

  if (opts.json) {
    json(io, {
      order: order ?? null,
      wechat: theirs ?? null,
      differences,
      journal: journal.map(({ payload: _payload, ...e }) => e),
      ledger,
      refunds,
    });
  } else {
    io.out(render(io, outTradeNo, order, theirs, differences, journal, ledger, refunds));
  }
  if (!order) throw new CommandFailedError(`${outTradeNo} is not in the database`);
  return differences.length > 0 ? EXIT_DIFFERENCES : 0;
}

/** "none", "300 of 1000 fen (partial)" or "1000 of 1000 fen (full)". */
export function refundedText(refunded: number, total: number): string {
  if (refunded <= 0) return 'none';
  return `${refunded} of ${total} fen (${refunded >= total ? 'full' : 'partial'})`;
}

function render(
  io: Io,
  outTradeNo: string,
  order: Row | undefined,
  theirs: TheirOrder | undefined,
  differences: ReturnType<typeof compareWithWeChat>,
  journal: Awaited<ReturnType<typeof orderJournal>>,
  ledger: Row[],
  refunds: RefundRow[],
): string {
  const out: string[] = [];
  const differs = new Set(differences.map((d) => d.field));
  const mark = (field: string, text: string) => (differs.has(field) ? paint(io, 'red', `${text} ≠`) : text);
  const wechatOf = (field: string): string => {
    if (!theirs) return '(not queried)';
    if ('error' in theirs) return field === 'status' ? paint(io, 'yellow', theirs.error) : '';
    const v = {
      status: theirs.state,
      amount_total: theirs.amountTotal,
      mchid: theirs.mchid,
      appid: theirs.appid,
      transaction_id: theirs.transactionId,
    }[field];
    return v === undefined ? '-' : mark(field, String(v));
  };
  out.push(paint(io, 'bold', `Order ${outTradeNo}`));
  if (!order) {
    out.push(paint(io, 'red', 'not in the database'));
  }
  const ourOf = (field: string, value: unknown) =>
    order ? mark(field, value === null ? '-' : String(value)) : '-';
  out.push(
    table(
      ['field', 'ours', 'wechat pay (live)'],
      [
        ['status', ourOf('status', order?.status), wechatOf('status')],
        ['amount_total (fen)', ourOf('amount_total', order?.amount_total), wechatOf('amount_total')],
        ['mchid', ourOf('mchid', order?.mchid), wechatOf('mchid')],
        ['appid', ourOf('appid', order?.appid), wechatOf('appid')],
        [
          'transaction_id',
          ourOf('transaction_id', order?.transaction_id ?? null),
          wechatOf('transaction_id'),
        ],
      ],
    ),
  );
  if (order) {
    out.push(
      table(
        ['', ''],
        [
          ['user', String(order.user_id)],
          ['points + bonus', `${order.points} + ${order.bonus_points}`],
          ['created', iso(order.created_at as Date)],
          ['time_expire', iso(order.time_expire as Date)],
          ['settled', `${iso(order.settled_at as Date | null)} via ${order.settled_via ?? '-'}`],
          ['refunded', refundedText(Number(order.refunded_amount), Number(order.amount_total))],
          [
            'checks',
            `${order.check_attempts} (last ${iso(order.last_checked_at as Date | null)}: ${order.last_wechat_state ?? '-'}; next ${iso(order.next_check_at as Date | null)})`,
          ],
        ],
      ).replace(/^.*\n/, ''),
    );
  }
  if (differences.length > 0) {
    out.push(paint(io, 'bold', 'Differences'));
    for (const d of differences)
      out.push(paint(io, 'red', `  ${d.field}: ours ${d.ours}, WeChat ${d.wechat} — ${d.hint}`));
    out.push('');
  } else if (order && theirs && !('error' in theirs)) {
    out.push(paint(io, 'green', 'In step with WeChat Pay.\n'));
  }
  out.push(paint(io, 'bold', `Journal (${journal.length})`));
  out.push(
    journal.length === 0
      ? '  (empty)\n'
      : table(
          ['recorded', 'source', 'trade_state', 'outcome', 'status', 'detail'],
          journal.map((e) => [
            iso(e.recordedAt),
            e.source,
            e.tradeState,
            e.outcome,
            `${e.statusBefore} → ${e.statusAfter}`,
            e.detail ?? '',
          ]),
        ),
  );
  out.push(paint(io, 'bold', `Ledger (${ledger.length})`));
  out.push(
    ledger.length === 0
      ? '  (none)\n'
      : table(
          ['created', 'entry', 'points', 'bonus', 'balance after', 'reference'],
          ledger.map((l) => [
            iso(l.created_at as Date),
            String(l.entry_type),
            String(l.points_delta),
            String(l.bonus_points),
            String(l.balance_after),
            String(l.reference_no || '-'),
          ]),
        ),
  );
  out.push(paint(io, 'bold', `Refunds (${refunds.length})`));
  out.push(
    refunds.length === 0
      ? '  (none)\n'
      : table(
          ['created', 'out_refund_no', 'origin', 'fen', 'status', 'held', 'reversed', 'note'],
          refunds.map((r) => [
            iso(r.createdAt),
            r.outRefundNo,
            r.origin,
            String(r.amountFen),
            r.status === 'abnormal' ? paint(io, 'red', r.status) : r.status,
            r.holdReleasedAt === null ? String(r.holdPoints) : '-',
            r.reversedPoints === null ? '-' : String(r.reversedPoints),
            r.failureCode ??
              r.lastError ??
              (r.submittedAt === null && r.status === 'processing' ? 'not yet sent' : ''),
          ]),
        ),
  );
  return `${out.join('\n')}\n`;
}
