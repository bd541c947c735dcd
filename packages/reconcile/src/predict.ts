import type { OrderStatus, TradeState } from '@paysync/contracts';

/** What applying WeChat's answer would do to our order, and why (the dry-run table). */
export type Prediction = { statusAfter: OrderStatus; change: boolean; why: string };

const FINAL_UNPAID: ReadonlySet<OrderStatus> = new Set(['expired', 'cancelled', 'failed']);

/**
 * Mirrors the points-ledger's state machine for display only: the ledger stays the one that decides.
 * `willClose`: the sync would close the order at WeChat first (pending, past expiry, unpaid).
 */
export function predictEffect(input: {
  status: OrderStatus;
  wechatState: TradeState;
  expired: boolean;
  willClose: boolean;
}): Prediction {
  const { status } = input;
  const same = (why: string): Prediction => ({ statusAfter: status, change: false, why });
  switch (input.wechatState) {
    case 'SUCCESS':
    case 'REFUND':
      if (status === 'paid' || status === 'refunded') return same('already paid here');
      if (FINAL_UNPAID.has(status)) {
        return {
          statusAfter: 'paid',
          change: true,
          why: `late payment: paid at WeChat after the order was ${status}`,
        };
      }
      return { statusAfter: 'paid', change: true, why: 'paid at WeChat; the notification never settled it' };
    case 'NOTPAY':
    case 'USERPAYING':
      if (status === 'pending' && input.willClose) {
        return {
          statusAfter: 'expired',
          change: true,
          why: 'past time_expire and unpaid: close at WeChat, then expire',
        };
      }
      return same(input.wechatState === 'NOTPAY' ? 'not paid yet' : 'the user is paying');
    case 'CLOSED':
      if (status !== 'pending') return same(`closed at WeChat; already ${status} here`);
      return input.expired
        ? { statusAfter: 'expired', change: true, why: 'closed at WeChat after expiry' }
        : { statusAfter: 'cancelled', change: true, why: 'closed at WeChat before expiry' };
    case 'ORDER_NOT_EXIST':
      if (status === 'pending' && input.expired) {
        return { statusAfter: 'expired', change: true, why: 'unknown at WeChat and past time_expire' };
      }
      return same(status === 'pending' ? 'unknown at WeChat (not yet prepaid?)' : 'unknown at WeChat');
    case 'PAYERROR':
    case 'REVOKED':
      if (status !== 'pending') return same(`${input.wechatState} at WeChat; already ${status} here`);
      return { statusAfter: 'failed', change: true, why: `${input.wechatState} at WeChat` };
  }
}
