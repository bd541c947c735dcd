import type { TradeState } from '@paysync/contracts';

/** Our order, as payctl order shows it. */
export type OurOrder = {
  outTradeNo: string;
  status: string;
  amountTotal: number;
  mchid: string;
  appid: string;
  transactionId: string | null;
  timeExpire: Date;
};

/** WeChat's live answer: a transaction, ORDER_NOT_EXIST, or an error. */
export type TheirOrder =
  | {
      state: TradeState;
      amountTotal?: number | undefined;
      mchid?: string | undefined;
      appid?: string | undefined;
      transactionId?: string | undefined;
    }
  | { error: string };

export type Difference = { field: string; ours: string; wechat: string; hint: string };

const EXPECTED: Record<TradeState, readonly string[]> = {
  SUCCESS: ['paid'],
  REFUND: ['paid', 'refunded'],
  NOTPAY: ['pending'],
  USERPAYING: ['pending'],
  CLOSED: ['expired', 'cancelled'],
  ORDER_NOT_EXIST: ['expired', 'cancelled'],
  PAYERROR: ['failed'],
  REVOKED: ['failed'],
};

function statusHint(ours: string, state: TradeState, expired: boolean): string {
  if ((state === 'SUCCESS' || state === 'REFUND') && ours === 'pending') {
    return 'paid at WeChat but not here: a missed notification — payctl sync <out_trade_no> --reason …';
  }
  if (state === 'SUCCESS' || state === 'REFUND') {
    return `late payment: paid at WeChat after the order was ${ours} — sync it, then refund or keep`;
  }
  if (state === 'NOTPAY' && ours !== 'pending')
    return `still open at WeChat though ${ours} here: it can still be paid — close it`;
  if (state === 'ORDER_NOT_EXIST' && ours === 'pending') {
    return expired
      ? 'unknown at WeChat and past expiry — payctl sync to expire it'
      : 'not at WeChat yet (prepay failed?)';
  }
  if (ours === 'pending') return 'final at WeChat, pending here — payctl sync <out_trade_no> --reason …';
  return 'states disagree — inspect the journal';
}

/** What differs between our order and WeChat's, each with what to do about it. */
export function compareWithWeChat(ours: OurOrder, theirs: TheirOrder, now: Date): Difference[] {
  if ('error' in theirs) return [];
  const out: Difference[] = [];
  const expired = now.getTime() >= ours.timeExpire.getTime();
  const pendingNotThere = theirs.state === 'ORDER_NOT_EXIST' && ours.status === 'pending' && !expired;
  if (!EXPECTED[theirs.state].includes(ours.status) && !pendingNotThere) {
    out.push({
      field: 'status',
      ours: ours.status,
      wechat: theirs.state,
      hint: statusHint(ours.status, theirs.state, expired),
    });
  }
  if (theirs.amountTotal !== undefined && theirs.amountTotal !== ours.amountTotal) {
    out.push({
      field: 'amount_total',
      ours: String(ours.amountTotal),
      wechat: String(theirs.amountTotal),
      hint: 'amounts differ: the ledger will not settle it; investigate before anything else',
    });
  }
  if (theirs.mchid !== undefined && theirs.mchid !== ours.mchid) {
    out.push({
      field: 'mchid',
      ours: ours.mchid,
      wechat: theirs.mchid,
      hint: 'another merchant: never settle',
    });
  }
  if (theirs.appid !== undefined && theirs.appid !== ours.appid) {
    out.push({ field: 'appid', ours: ours.appid, wechat: theirs.appid, hint: 'another app: never settle' });
  }
  if (
    theirs.transactionId !== undefined &&
    ours.transactionId !== null &&
    theirs.transactionId !== ours.transactionId
  ) {
    out.push({
      field: 'transaction_id',
      ours: ours.transactionId,
      wechat: theirs.transactionId,
      hint: 'a different WeChat transaction: investigate',
    });
  }
  return out;
}
