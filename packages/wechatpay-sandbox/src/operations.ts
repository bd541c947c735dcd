import { type Counters, emptyCounters } from './counters.ts';
import { SandboxError } from './errors.ts';
import { defaultFaults, type Faults, type FaultsPatch, faultsPatchSchema } from './faults.ts';
import type { Merchant } from './merchants.ts';
import type { Notifier } from './notifier.ts';
import type { Order, Refund, RefundStatus } from './order-types.ts';
import type { OrderStore, PayOptions, RefundOptions } from './orders.ts';
import { refundResource as refundResourceOf, transactionResource as transactionResourceOf } from './views.ts';

export interface RefundControlOptions extends RefundOptions {
  /** Where the refund ends: SUCCESS (default), ABNORMAL, CLOSED, or PROCESSING to leave it open. */
  status?: RefundStatus;
}

export interface OperationsDeps {
  store: OrderStore;
  notifier: Notifier;
  merchants: ReadonlyMap<string, Merchant>;
  /** Real milliseconds before a refund reaches its final status. */
  refundDelayMs: number;
  schedule: (ms: number, run: () => void) => void;
  /** The live fault settings (mutated in place, read by the server and the notifier). */
  faults: Faults;
  /** The live counters (reset in place). */
  counters: Counters;
}

/**
 * What happens at WeChat when the user or the merchant acts: state changes in the store and the
 * notifications WeChat sends for them. Shared by the /v3 routes, the control API and the functions.
 */
export class Operations {
  readonly #deps: OperationsDeps;
  readonly faults: Faults;
  readonly counters: Counters;

  constructor(deps: OperationsDeps) {
    this.#deps = deps;
    this.faults = deps.faults;
    this.counters = deps.counters;
  }

  get store(): OrderStore {
    return this.#deps.store;
  }

  merchant(mchid: string): Merchant {
    const merchant = this.#deps.merchants.get(mchid);
    if (!merchant) throw new SandboxError(404, 'NOT_FOUND', 'unknown mchid');
    return merchant;
  }

  /** The user pays: SUCCESS, and a TRANSACTION.SUCCESS notification to the order's notify_url. */
  pay(order: Order, options: PayOptions = {}): Order {
    this.#deps.store.pay(order, options);
    this.#deps.notifier.notify({
      eventType: 'TRANSACTION.SUCCESS',
      mchid: order.mchid,
      apiV3Key: this.merchant(order.mchid).apiV3Key,
      outTradeNo: order.outTradeNo,
      notifyUrl: order.notifyUrl,
      resource: transactionResourceOf(order),
    });
    return order;
  }

  /** Starts a refund; it reaches `status` after the refund delay and is then notified. */
  refund(order: Order, options: RefundControlOptions = {}): Refund {
    const before = order.refunds.length;
    const refund = this.#deps.store.refund(order, options);
    const created = order.refunds.length > before;
    const status = options.status ?? 'SUCCESS';
    if (created && status !== 'PROCESSING') {
      this.#deps.schedule(this.#deps.refundDelayMs, () => this.settleRefund(order, refund, status));
    }
    return refund;
  }

  settleRefund(order: Order, refund: Refund, status: Exclude<RefundStatus, 'PROCESSING'>): void {
    this.#deps.store.settleRefund(refund, status);
    this.#deps.notifier.notify({
      eventType: `REFUND.${status}`,
      mchid: order.mchid,
      apiV3Key: this.merchant(order.mchid).apiV3Key,
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      notifyUrl: refund.notifyUrl,
      resource: refundResourceOf(order, refund),
    });
  }

  setFaults(patch: FaultsPatch): Faults {
    const parsed = faultsPatchSchema.parse(patch);
    Object.assign(this.faults, parsed);
    return this.faults;
  }

  resetFaults(): Faults {
    Object.assign(this.faults, defaultFaults());
    return this.faults;
  }

  resetCounters(): void {
    Object.assign(this.counters, emptyCounters());
  }
}
