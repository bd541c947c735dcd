import { createHash } from 'node:crypto';
import type { MessageInput, OrderStatus, PaymentObservation, TOPICS } from '@paysync/contracts';
import {
  lockRefunds,
  type NewReview,
  openReviews,
  type PoolConnection,
  type RefundRow,
  type RefundUpdate,
  refundsUnderWay,
  saveRefundUpdates,
} from '@paysync/db';
import {
  type AlertIntent,
  type Decision,
  decide,
  type EvidenceReading,
  type EvidenceRefusedError,
  FINAL_UNPAID,
  holdReleased,
  nextFinalRecheck,
  type Outcome,
  refundStatusAfter,
} from '@paysync/orders';
import { domainAlert, isStateChange, keyed, orderSettledEvent, stableUuid } from './events.ts';
import {
  type Account,
  appendJournal,
  bindEvidence,
  type EntryRow,
  entryKey,
  existingEntries,
  insertEntries,
  type JournalRow,
  journaled,
  type LockedOrder,
  lockAccounts,
  lockOrders,
  readAccounts,
  saveAccounts,
  saveOrders,
  transitions,
  type WrittenEntry,
} from './store.ts';

export type JournalPosition = { partition: number; offset: string };
/** What the observation's evidence proved, or why it proved nothing. */
export type Verdict =
  | { ok: true; reading: EvidenceReading }
  // `replayed`: order-less evidence already bound to another order (bindOrderlessEvidence).
  | { ok: false; code: EvidenceRefusedError['code'] | 'replayed'; message: string };
type Refusal = Extract<Verdict, { ok: false }>;
export type Incoming = { obs: PaymentObservation; verdict: Verdict; position?: JournalPosition };

type SettledEvent = MessageInput<typeof TOPICS.orderSettled>;
type AlertEvent = MessageInput<typeof TOPICS.alerts>;

export type Applied =
  | {
      kind: 'applied';
      obs: PaymentObservation;
      outcome: Outcome;
      settled?: SettledEvent;
      alerts: AlertEvent[];
    }
  | { kind: 'unknown_order'; obs: PaymentObservation };

/** The critical alert for an observation whose evidence proved nothing: it names the producer. */
function unverifiedIntent(obs: PaymentObservation, verdict: Refusal): AlertIntent {
  return {
    type: 'unverified_observation',
    severity: 'critical',
    summary: `An observation of ${obs.outTradeNo} from producer "${obs.producer.slice(0, 64)}" was refused: it does not carry WeChat Pay's signed word for what it says (${verdict.code})`,
    details: {
      producer: obs.producer.slice(0, 64),
      source: obs.source,
      trade_state: obs.tradeState,
      refusal: verdict.code,
      detail: verdict.message.slice(0, 256),
      observation_id: obs.observationId,
    },
  };
}

function unverifiedAlert(obs: PaymentObservation, verdict: Refusal, now: Date) {
  const no = /^[A-Za-z0-9_\-|*]{6,32}$/.test(obs.outTradeNo) ? obs.outTradeNo : 'unknown';
  return domainAlert(keyed(unverifiedIntent(obs, verdict), no, obs.producer.slice(0, 64)), no, now);
}

/**
 * The id a message is journaled (and recognised again) under: its observation id, except for a
 * refused one, which gets an id of its own derived from its whole content. A forged message that
 * borrows a genuine observation's id must not make the genuine one look like a repeat.
 */
function journalId(item: Incoming): string {
  if (item.verdict.ok) return item.obs.observationId;
  return stableUuid(`unverified:${createHash('sha256').update(JSON.stringify(item.obs)).digest('hex')}`);
}

/**
 * Binds each order-less piece of evidence (a signed 404 ORDER_NOT_EXIST does not name its order)
 * to the first order it is applied to, and refuses it for any other: a "not found" for order A
 * replayed for order B finalises nothing.
 */
async function bindOrderlessEvidence(conn: PoolConnection, items: readonly Incoming[]): Promise<Verdict[]> {
  const orderless = items.flatMap((i) =>
    i.verdict.ok && !i.verdict.reading.namesOrder
      ? [{ fingerprint: i.verdict.reading.fingerprint, outTradeNo: i.obs.outTradeNo }]
      : [],
  );
  if (orderless.length === 0) return items.map((i) => i.verdict);
  const boundTo = await bindEvidence(conn, orderless);
  return items.map((i) => {
    const v = i.verdict;
    if (!v.ok || v.reading.namesOrder) return v;
    const owner = boundTo.get(v.reading.fingerprint);
    return owner === i.obs.outTradeNo
      ? v
      : { ok: false, code: 'replayed', message: `the signed answer was already used for order ${owner}` };
  });
}

/** One order's state during a batch: what the database held, plus what this batch changed. */
type OrderState = {
  order: LockedOrder;
  entryKeys: Set<string>;
  lastEntry: WrittenEntry | undefined;
  /** status → the status before it, for rebuilding earlier events. */
  cameFrom: Map<OrderStatus, OrderStatus>;
  changed: boolean;
};

/** The order-settled event of the state the order is in, rebuilt from its state (same id every time). */
function currentStateEvent(s: OrderState, accounts: Map<string, Account>): SettledEvent | undefined {
  const { order } = s;
  if (order.status === 'pending') return undefined;
  const previous = s.cameFrom.get(order.status) ?? 'pending';
  const entry = order.status === 'paid' || order.status === 'refunded' ? s.lastEntry : undefined;
  return orderSettledEvent(
    order,
    order.status,
    previous,
    entry,
    entry ? entry.balanceAfter : (accounts.get(order.userId)?.balance ?? 0),
    (order.settledVia ?? 'query') as PaymentObservation['source'],
    order.settledAt ?? order.updatedAt,
    order.status === 'paid' && FINAL_UNPAID.has(previous),
    entry?.reference ?? '',
  );
}

/**
 * Applies observations, in order, inside the caller's transaction, reading and writing the whole
 * batch set-wise. Every order's row and every account's row is locked before it is read (in key
 * order), so concurrent consumers serialize per order and per account; the journal (by
 * observation_id) and the ledger's unique keys make every repeat a no-op.
 */
export async function applyObservations(
  conn: PoolConnection,
  items: readonly Incoming[],
  now: Date,
): Promise<Applied[]> {
  const nos = [...new Set(items.map((i) => i.obs.outTradeNo))];
  const orders = await lockOrders(conn, nos);
  const verdicts = await bindOrderlessEvidence(conn, items);
  const found = [...orders.keys()];
  const [seen, entries] = await Promise.all([
    journaled(conn, items.map(journalId)),
    existingEntries(conn, found),
  ]);
  // Only an account this batch may credit or reverse is created and locked: a SUCCESS or a refund
  // with verified evidence. A NOTPAY (every sweep publishes one per pending order) locks nothing.
  const moneyUsers = new Set(
    items
      .filter((i, n) => (verdicts[n] as Verdict).ok && (i.obs.tradeState === 'SUCCESS' || i.obs.refund))
      .flatMap((i) => {
        const o = orders.get(i.obs.outTradeNo);
        return o ? [o.userId] : [];
      }),
  );
  const accounts = await lockAccounts(conn, [...moneyUsers]);
  // Refund rows after accounts (the order API locks an order, then inserts its refund).
  const refunds: Map<string, Pick<RefundRow, 'status' | 'amountFen'>> = await lockRefunds(
    conn,
    [...new Set(items.flatMap((i) => (i.obs.refund ? [i.obs.refund.outRefundNo] : [])))].sort(),
  );
  const refundByQuery = items.filter((i) => i.obs.tradeState === 'REFUND' && !i.obs.refund);
  if (refundByQuery.length > 0) {
    const underWay = await refundsUnderWay(conn, [...new Set(refundByQuery.map((i) => i.obs.outTradeNo))]);
    for (const [no, fen] of underWay) {
      const o = orders.get(no);
      if (o) o.refundsUnderWay = fen;
    }
  }
  const refundUpdates = new Map<string, RefundUpdate>();
  const others = [...orders.values()].map((o) => o.userId).filter((u) => !moneyUsers.has(u));
  for (const [id, account] of await readAccounts(conn, others)) accounts.set(id, account);
  // The journal's transitions are needed only to re-publish an event for a repeat.
  const repeatOrders = items.filter(
    (i) => seen.has(journalId(i)) || orders.get(i.obs.outTradeNo)?.status !== 'pending',
  );
  const history = await transitions(
    conn,
    [...new Set(repeatOrders.map((i) => i.obs.outTradeNo))].filter((n) => orders.has(n)),
  );

  const states = new Map<string, OrderState>();
  for (const [no, order] of orders) {
    const e = entries.get(no);
    states.set(no, {
      order,
      entryKeys: e?.keys ?? new Set(),
      lastEntry: e?.last,
      cameFrom: history.get(no) ?? new Map(),
      changed: false,
    });
  }

  const journal: JournalRow[] = [];
  const newEntries: EntryRow[] = [];
  const reviews: NewReview[] = [];
  const results: Applied[] = [];

  for (const [index, item] of items.entries()) {
    const { obs } = item;
    const verdict = verdicts[index] as Verdict;
    const state = states.get(obs.outTradeNo);
    if (!state) {
      // A claim about an order we do not have, without WeChat's word for it: not worth a dead letter.
      if (verdict.ok) results.push({ kind: 'unknown_order', obs });
      else
        results.push({
          kind: 'applied',
          obs,
          outcome: 'unverified',
          alerts: [unverifiedAlert(obs, verdict, now)],
        });
      continue;
    }
    const { order } = state;

    // The very same message again (Kafka redelivery, a producer retry): change nothing, but publish
    // what it led to once more, in case the crash came between commit and publish.
    const earlierAlerts = seen.get(journalId(item));
    if (earlierAlerts) {
      const settled = currentStateEvent(state, accounts);
      results.push({
        kind: 'applied',
        obs,
        outcome: 'duplicate',
        alerts: earlierAlerts.map((a) => domainAlert(a, order.outTradeNo, now)),
        ...(settled ? { settled } : {}),
      });
      continue;
    }

    if (!verdict.ok) {
      const alert = keyed(unverifiedIntent(obs, verdict), order.outTradeNo, obs.producer.slice(0, 64));
      seen.set(journalId(item), [alert]);
      journal.push({
        id: journalId(item),
        obs,
        outcome: 'unverified',
        statusBefore: order.status,
        statusAfter: order.status,
        detail: `refused (${verdict.code}): ${verdict.message}`,
        alerts: [alert],
        partition: item.position?.partition,
        offset: item.position?.offset,
      });
      results.push({
        kind: 'applied',
        obs,
        outcome: 'unverified',
        alerts: [domainAlert(alert, order.outTradeNo, now)],
      });
      continue;
    }

    // Expiry is judged when WeChat signed its answer, never by a producer's clock.
    const signedAt = verdict.reading.signedAt;
    let decision: Decision = decide(order, signedAt ? { ...obs, observedAt: signedAt.toISOString() } : obs);
    const written: WrittenEntry[] = [];
    const account = accounts.get(order.userId) as Account;
    if (decision.entries.length > 0 && !account.locked) {
      throw new Error(`the account of ${order.userId} would change without its lock`);
    }
    for (const entry of decision.entries) {
      const reference = entry.kind === 'recharge' ? '' : entry.outRefundNo;
      const key = entryKey(entry.kind, reference);
      if (state.entryKeys.has(key)) continue;
      const delta = entry.kind === 'recharge' ? entry.points : -entry.points;
      account.balance += delta;
      account.dirty = true;
      if (account.balance < 0) account.flagged = true;
      state.entryKeys.add(key);
      const w: WrittenEntry = {
        kind: entry.kind,
        reference,
        pointsDelta: delta,
        balanceAfter: account.balance,
      };
      state.lastEntry = w;
      written.push(w);
      newEntries.push({
        userId: order.userId,
        outTradeNo: order.outTradeNo,
        kind: entry.kind,
        reference,
        pointsDelta: delta,
        bonusPoints: entry.kind === 'recharge' ? entry.bonusPoints : 0,
        balanceAfter: account.balance,
      });
    }
    // Every entry existed already (the same refund seen through another observation): a repeat.
    if (decision.entries.length > 0 && written.length === 0) {
      decision = {
        ...decision,
        outcome: 'duplicate',
        statusAfter: order.status,
        alerts: [],
        detail: 'entries exist',
      };
    }
    const alerts: AlertIntent[] = [...decision.alerts];
    const overdrawn = written.find((w) => w.kind === 'refund_reversal' && w.balanceAfter < 0);
    if (overdrawn) {
      alerts.push({
        type: 'refund_exceeds_balance',
        severity: 'critical',
        summary: `Refund of ${order.outTradeNo} reversed more points than user ${order.userId} has left`,
        details: {
          user_id: order.userId,
          balance_after: overdrawn.balanceAfter,
          points_reversed: -overdrawn.pointsDelta,
        },
      });
    }

    if (obs.refund && decision.outcome !== 'mismatch') {
      const r = obs.refund;
      const known = refunds.get(r.outRefundNo);
      const status = refundStatusAfter(known?.status, r.refundStatus);
      const reversed = written.find((w) => w.kind === 'refund_reversal' && w.reference === r.outRefundNo);
      const prior = refundUpdates.get(r.outRefundNo);
      if (known && known.amountFen !== r.amount.refund) {
        alerts.push({
          type: 'amount_mismatch',
          severity: 'critical',
          summary: `WeChat reports refund ${r.outRefundNo} of ${order.outTradeNo} as ${r.amount.refund} fen, paysync asked for ${known.amountFen} fen`,
          details: {
            out_refund_no: r.outRefundNo,
            expected_fen: known.amountFen,
            observed_fen: r.amount.refund,
          },
        });
      }
      refundUpdates.set(r.outRefundNo, {
        outRefundNo: r.outRefundNo,
        outTradeNo: order.outTradeNo,
        mchid: order.mchid,
        userId: order.userId,
        amountFen: r.amount.refund,
        status,
        wechatStatus: r.refundStatus,
        refundId: r.refundId,
        successTime: r.successTime ? new Date(r.successTime) : null,
        reversedPoints: prior?.reversedPoints ?? (reversed ? -reversed.pointsDelta : null),
        releaseHold: holdReleased(status),
        known: prior?.known ?? known !== undefined,
      });
      refunds.set(r.outRefundNo, { status, amountFen: known?.amountFen ?? r.amount.refund });
    }

    const statusBefore = order.status;
    const reference = written.at(-1)?.reference ?? '';
    const keyedAlerts = alerts.map((a) => keyed(a, order.outTradeNo, reference));
    let settled: SettledEvent | undefined;
    if (isStateChange(decision)) {
      const refundedFen = decision.entries.reduce(
        (sum, e) =>
          e.kind === 'refund_reversal' && written.some((w) => w.reference === e.outRefundNo)
            ? sum + e.refundAmount
            : sum,
        0,
      );
      if (decision.payment) {
        order.transactionId = decision.payment.transactionId;
        order.successTime = decision.payment.successTime
          ? new Date(decision.payment.successTime)
          : order.successTime;
        order.settledVia = obs.source;
      }
      if (decision.statusAfter !== statusBefore) {
        order.settledAt = now;
        // Final unpaid: looked at again later (a payment found then is late); paid: never again.
        order.nextCheckAt = FINAL_UNPAID.has(decision.statusAfter) ? nextFinalRecheck(now, now) : null;
        if (!state.cameFrom.has(decision.statusAfter)) state.cameFrom.set(decision.statusAfter, statusBefore);
      }
      order.status = decision.statusAfter;
      order.refundedAmount += refundedFen;
      order.lastWechatState = obs.tradeState;
      state.changed = true;
      const entry = written.at(-1);
      settled = orderSettledEvent(
        order,
        order.status,
        statusBefore,
        entry,
        entry ? entry.balanceAfter : account.balance,
        (order.settledVia ?? obs.source) as PaymentObservation['source'],
        now,
        decision.outcome === 'late',
        reference,
      );
    } else if (decision.outcome === 'duplicate') {
      settled = currentStateEvent(state, accounts);
    }

    // A person must answer these; the review stays open until one does (payctl review resolve).
    if (decision.outcome === 'mismatch' || decision.outcome === 'late') {
      reviews.push({
        kind: decision.outcome === 'late' ? 'late_payment' : 'mismatch',
        outTradeNo: order.outTradeNo,
        transactionId: obs.transactionId,
        observationId: obs.observationId,
        detail: decision.detail,
        observedFen: obs.amount?.total ?? obs.refund?.amount.total,
      });
    }

    seen.set(obs.observationId, keyedAlerts);
    journal.push({
      obs,
      outcome: decision.outcome,
      statusBefore,
      statusAfter: order.status,
      detail: decision.detail,
      alerts: keyedAlerts,
      partition: item.position?.partition,
      offset: item.position?.offset,
    });
    results.push({
      kind: 'applied',
      obs,
      outcome: decision.outcome,
      alerts: keyedAlerts.map((a) => domainAlert(a, order.outTradeNo, now)),
      ...(settled ? { settled } : {}),
    });
  }

  await insertEntries(conn, newEntries);
  await saveAccounts(conn, [...accounts.values()]);
  await saveOrders(
    conn,
    [...states.values()].filter((s) => s.changed).map((s) => s.order),
  );
  await saveRefundUpdates(conn, [...refundUpdates.values()], now);
  await openReviews(conn, reviews, now);
  await appendJournal(conn, journal);
  return results;
}
