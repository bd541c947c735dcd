import { createHash, randomUUID } from 'node:crypto';
import type { DomainAlert, MessageInput, ObservationSource, OrderSettled, TOPICS } from '@paysync/contracts';
import type { AlertIntent, Decision, LedgerOrder } from '@paysync/orders';
import type { WrittenEntry } from './store.ts';

/** A name-based UUID, so the same state change always carries the same event id. */
export function stableUuid(name: string): string {
  const h = createHash('sha256').update(name).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The order-settled event for an order's current state. It is derived from what the database
 * holds (the order and its latest ledger entry), so publishing it again after a crash produces the
 * same event with the same id, and consumers can deduplicate.
 */
export function orderSettledEvent(
  order: LedgerOrder,
  status: OrderSettled['status'],
  previousStatus: OrderSettled['status'],
  entry: WrittenEntry | undefined,
  balance: number,
  settledVia: ObservationSource,
  settledAt: Date,
  latePayment: boolean,
  reference = '',
): MessageInput<typeof TOPICS.orderSettled> {
  return {
    eventId: stableUuid(`order-settled:${order.outTradeNo}:${status}:${reference}`),
    outTradeNo: order.outTradeNo,
    status,
    previousStatus,
    userId: order.userId,
    amountTotal: order.amountTotal,
    ...(order.transactionId ? { transactionId: order.transactionId } : {}),
    pointsDelta: entry?.pointsDelta ?? 0,
    balanceAfter: entry?.balanceAfter ?? balance,
    settledVia,
    latePayment,
    refundedAmount: order.refundedAmount,
    partialRefund: order.refundedAmount > 0 && order.refundedAmount < order.amountTotal,
    settledAt: settledAt.toISOString(),
  };
}

/** The key the alerting service deduplicates by: one page per type, order and (refund, producer). */
export function dedupeKeyOf(intent: AlertIntent, outTradeNo: string, discriminator = ''): string {
  return `${intent.type}:${outTradeNo}${discriminator ? `:${discriminator}` : ''}`;
}

/** The alert with its dedupe key fixed, as it is journaled and published (now and after a crash). */
export function keyed(intent: AlertIntent, outTradeNo: string, discriminator = ''): AlertIntent {
  return { ...intent, dedupeKey: intent.dedupeKey ?? dedupeKeyOf(intent, outTradeNo, discriminator) };
}

export function domainAlert(
  intent: AlertIntent,
  outTradeNo: string,
  occurredAt: Date,
  discriminator = '',
): MessageInput<typeof TOPICS.alerts> {
  const alert: DomainAlert = {
    alertId: randomUUID(),
    type: intent.type,
    severity: intent.severity,
    outTradeNo,
    summary: intent.summary,
    details: intent.details,
    dedupeKey: intent.dedupeKey ?? dedupeKeyOf(intent, outTradeNo, discriminator),
    source: 'points-ledger',
    occurredAt: occurredAt.toISOString(),
  };
  return alert;
}

export function isStateChange(decision: Decision): boolean {
  return ['settled', 'late', 'refunded', 'transitioned'].includes(decision.outcome);
}
