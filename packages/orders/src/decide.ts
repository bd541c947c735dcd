import type { AlertType, OrderStatus, PaymentObservation } from '@paysync/contracts';

/** The order as the ledger sees it, locked for the duration of its transaction. */
export type LedgerOrder = {
  outTradeNo: string;
  userId: string;
  mchid: string;
  appid: string;
  amountTotal: number;
  points: number;
  bonusPoints: number;
  status: OrderStatus;
  transactionId: string | null;
  timeExpire: Date;
  refundedAmount: number;
  /**
   * Fen of refunds paysync itself has under way for the order (processing or abnormal): a query
   * that says REFUND is then news of a refund already known here, which its own answer settles.
   */
  refundsUnderWay?: number;
};

/** What an observation did to an order; each outcome is counted by source. */
export type Outcome =
  | 'settled' // pending → paid, recharge credited
  | 'late' // expired/cancelled/failed → paid: settled, and a human must decide
  | 'refunded' // a refund reversed points
  | 'transitioned' // pending → failed / cancelled / expired
  | 'duplicate' // already applied: nothing changes
  | 'unchanged' // nothing to do (NOTPAY, USERPAYING, a stale state)
  | 'mismatch' // amount, merchant or transaction differs: never settles
  | 'unverified'; // no WeChat-signed evidence for what it says: refused, nothing changes

export type LedgerEntry =
  | { kind: 'recharge'; points: number; bonusPoints: number }
  | { kind: 'refund_reversal'; outRefundNo: string; points: number; refundAmount: number };

export type AlertIntent = {
  type: AlertType;
  severity: 'critical' | 'warning';
  summary: string;
  details: Record<string, string | number | boolean | null>;
  /**
   * Set by the ledger when it journals the alert, so that the alert published again after a crash
   * (from the journal) carries the same key as the first time and pages once.
   */
  dedupeKey?: string;
};

export type Decision = {
  outcome: Outcome;
  statusAfter: OrderStatus;
  /** Set when the order becomes paid: WeChat's transaction and payment time. */
  payment?: { transactionId: string; successTime: string | undefined };
  entries: LedgerEntry[];
  alerts: AlertIntent[];
  detail: string;
};

export const FINAL_UNPAID: ReadonlySet<OrderStatus> = new Set(['expired', 'cancelled', 'failed']);

/**
 * When an order finalised unpaid is looked at again, after it became final: WeChat's "not found" or
 * "closed" may have been wrong or early, and a payment found then is settled as a late payment.
 */
export const FINAL_RECHECKS_MS: readonly number[] = [60 * 60 * 1000, 24 * 60 * 60 * 1000];

/** The next re-check of an order that became final unpaid at `finalAt`, after `now`; null when done. */
export function nextFinalRecheck(finalAt: Date, now: Date): Date | null {
  for (const ms of FINAL_RECHECKS_MS) {
    const at = finalAt.getTime() + ms;
    if (at > now.getTime()) return new Date(at);
  }
  return null;
}

function unchanged(
  order: LedgerOrder,
  outcome: Outcome,
  detail: string,
  alerts: AlertIntent[] = [],
): Decision {
  return { outcome, statusAfter: order.status, entries: [], alerts, detail };
}

/** Refuses an observation whose merchant, app or amount is not the order's (invariant 3). */
function mismatch(order: LedgerOrder, obs: PaymentObservation): Decision | undefined {
  if (obs.mchid !== order.mchid || (obs.appid !== undefined && obs.appid !== order.appid)) {
    return unchanged(order, 'mismatch', 'merchant or app differs from the order', [
      {
        type: 'merchant_mismatch',
        severity: 'critical',
        summary: `Observation for ${order.outTradeNo} names another merchant or app`,
        details: {
          expected_mchid: order.mchid,
          observed_mchid: obs.mchid,
          observed_appid: obs.appid ?? null,
        },
      },
    ]);
  }
  const total = obs.amount?.total ?? obs.refund?.amount.total;
  if (total !== undefined && total !== order.amountTotal) {
    return unchanged(order, 'mismatch', `amount ${total} differs from the order's ${order.amountTotal}`, [
      {
        type: 'amount_mismatch',
        severity: 'critical',
        summary: `WeChat reports ${total} fen for ${order.outTradeNo}, the order is for ${order.amountTotal} fen`,
        details: { expected_fen: order.amountTotal, observed_fen: total, source: obs.source },
      },
    ]);
  }
  if (
    order.transactionId !== null &&
    obs.transactionId !== undefined &&
    obs.transactionId !== order.transactionId
  ) {
    return unchanged(order, 'mismatch', 'transaction_id differs from the settled one', [
      {
        type: 'amount_mismatch',
        severity: 'critical',
        summary: `A second WeChat transaction was reported for ${order.outTradeNo}`,
        details: { settled_transaction_id: order.transactionId, observed_transaction_id: obs.transactionId },
      },
    ]);
  }
  return undefined;
}

function settle(
  order: LedgerOrder,
  obs: PaymentObservation,
  transactionId: string,
  successTime?: string,
): Decision {
  const late = FINAL_UNPAID.has(order.status);
  const alerts: AlertIntent[] = late
    ? [
        {
          type: 'late_payment',
          severity: 'warning',
          summary: `Payment for ${order.outTradeNo} arrived after the order was ${order.status}: refund or keep`,
          details: { previous_status: order.status, amount_fen: order.amountTotal, source: obs.source },
        },
      ]
    : [];
  return {
    outcome: late ? 'late' : 'settled',
    statusAfter: 'paid',
    payment: { transactionId, successTime },
    entries: [{ kind: 'recharge', points: order.points + order.bonusPoints, bonusPoints: order.bonusPoints }],
    alerts,
    detail: late ? `late payment after ${order.status}` : 'paid',
  };
}

/**
 * Points reversed by one refund, given the refunds already applied (`order.refundedAmount`): what
 * all refunds so far owe, rounded down, minus what the earlier ones owed. Each refund rounded on its
 * own would leave points behind (three refunds of 100 fen on a 300-fen, 100-point order reverse
 * 33 + 33 + 33); the difference of the cumulative amounts reverses exactly all points once the order
 * is fully refunded, whatever the refunds' order.
 */
export function reversalPoints(order: LedgerOrder, refundFen: number): number {
  const credited = order.points + order.bonusPoints;
  const owed = (fen: number) =>
    fen >= order.amountTotal ? credited : Math.floor((credited * fen) / order.amountTotal);
  const before = Math.min(order.refundedAmount, order.amountTotal);
  return owed(before + refundFen) - owed(before);
}

function applyRefund(order: LedgerOrder, obs: PaymentObservation): Decision {
  const refund = obs.refund!;
  if (refund.refundStatus !== 'SUCCESS') {
    const alerts: AlertIntent[] =
      refund.refundStatus === 'ABNORMAL'
        ? [
            {
              type: 'refund_abnormal',
              severity: 'warning',
              summary: `Refund ${refund.outRefundNo} of ${order.outTradeNo} is ABNORMAL at WeChat: the money has not reached the user, a person must redirect it`,
              details: {
                out_refund_no: refund.outRefundNo,
                refund_id: refund.refundId,
                refund_fen: refund.amount.refund,
              },
            },
          ]
        : [];
    return unchanged(order, 'unchanged', `refund ${refund.refundStatus}`, alerts);
  }
  const entries: LedgerEntry[] = [];
  let payment: Decision['payment'];
  const alerts: AlertIntent[] = [];
  // A refund proves the payment: when the refund is seen first, settle the payment with it.
  if (order.status !== 'paid' && order.status !== 'refunded') {
    const paid = settle(order, obs, obs.transactionId!, undefined);
    entries.push(...paid.entries);
    alerts.push(...paid.alerts);
    payment = paid.payment;
  }
  entries.push({
    kind: 'refund_reversal',
    outRefundNo: refund.outRefundNo,
    points: reversalPoints(order, refund.amount.refund),
    refundAmount: refund.amount.refund,
  });
  return {
    outcome: 'refunded',
    statusAfter: 'refunded',
    ...(payment ? { payment } : {}),
    entries,
    alerts,
    detail: `refund ${refund.outRefundNo} of ${refund.amount.refund} fen`,
  };
}

/**
 * trade_state REFUND without the refund's details (an order query; the refund notification is what
 * carries out_refund_no and the amount). The payment happened, but some or all of the money went
 * back: crediting the points now would leave points the money no longer backs, possibly for good if
 * the refund notification was lost. So nothing is credited (or, for an order already paid here,
 * nothing more is assumed) until the refund itself is seen — its notification settles the payment
 * and reverses it exactly (applyRefund), the trade bill's refund rows name it otherwise — and a
 * person is told at once.
 */
function refundSeenByQuery(order: LedgerOrder, obs: PaymentObservation): Decision {
  const paidHere = order.status === 'paid' || order.status === 'refunded';
  if (paidHere && order.refundedAmount > 0) return unchanged(order, 'duplicate', 'refund already applied');
  if (paidHere && (order.refundsUnderWay ?? 0) > 0)
    return unchanged(order, 'unchanged', 'a refund made here is under way');
  return unchanged(
    order,
    'unchanged',
    paidHere ? 'refunded at WeChat, no refund seen here' : 'paid and refunded at WeChat: not credited',
    [
      {
        type: 'refund_unknown',
        severity: 'critical',
        summary: paidHere
          ? `${order.outTradeNo} is refunded at WeChat but no refund was seen here: its points are still credited`
          : `${order.outTradeNo} was paid and refunded at WeChat before paysync settled it: nothing credited until the refund is known`,
        details: {
          status_here: order.status,
          amount_fen: order.amountTotal,
          transaction_id: obs.transactionId ?? null,
          source: obs.source,
        },
      },
    ],
  );
}

/**
 * The order state machine of DESIGN.md, as a pure function. The caller holds the order's row
 * lock and guarantees the observation was not applied before (journal), and the database's
 * unique keys make any ledger entry that was already written a no-op.
 *
 * Expiry is judged at the moment WeChat's answer was observed (`observedAt`), never when the ledger
 * applies it: a "not found" seen before time_expire and applied after it (ledger lag, a DLQ retry,
 * a replay) says nothing about expiry.
 */
export function decide(order: LedgerOrder, obs: PaymentObservation): Decision {
  const refused = mismatch(order, obs);
  if (refused) return refused;

  if (obs.refund) {
    if (obs.transactionId === undefined) return unchanged(order, 'mismatch', 'refund without transaction_id');
    return applyRefund(order, obs);
  }

  switch (obs.tradeState) {
    case 'SUCCESS': {
      if (order.status === 'paid' || order.status === 'refunded')
        return unchanged(order, 'duplicate', 'already paid');
      return settle(order, obs, obs.transactionId!, obs.successTime);
    }
    case 'REFUND':
      return refundSeenByQuery(order, obs);
    case 'PAYERROR':
    case 'REVOKED':
      if (order.status !== 'pending')
        return unchanged(order, 'unchanged', `${obs.tradeState} for a ${order.status} order`);
      return {
        outcome: 'transitioned',
        statusAfter: 'failed',
        entries: [],
        alerts: [],
        detail: obs.tradeState,
      };
    case 'CLOSED':
    case 'ORDER_NOT_EXIST': {
      if (order.status !== 'pending')
        return unchanged(order, 'unchanged', `${obs.tradeState} for a ${order.status} order`);
      const expired = Date.parse(obs.observedAt) >= order.timeExpire.getTime();
      if (obs.tradeState === 'ORDER_NOT_EXIST' && !expired)
        return unchanged(order, 'unchanged', 'not at WeChat yet');
      return {
        outcome: 'transitioned',
        statusAfter: expired ? 'expired' : 'cancelled',
        entries: [],
        alerts: [],
        detail: expired ? 'closed after expiry' : 'closed by the merchant before expiry',
      };
    }
    case 'NOTPAY':
    case 'USERPAYING':
      return unchanged(order, 'unchanged', obs.tradeState);
  }
}

/** What applying an observation would do to an order, for dry runs: the ledger's own decision. */
export type Prediction = { statusAfter: OrderStatus; change: boolean; outcome: Outcome; why: string };

/**
 * The dry-run prediction of payctl and PaymentRepair. It is `decide` itself — not a second table
 * that could drift — so "→ paid" is promised only where the ledger would settle: the order's
 * amount, merchant and app are checked exactly as the ledger checks them.
 */
export function predict(order: LedgerOrder, obs: PaymentObservation): Prediction {
  const d = decide(order, obs);
  return {
    statusAfter: d.statusAfter,
    change: d.statusAfter !== order.status,
    outcome: d.outcome,
    why: d.detail,
  };
}
