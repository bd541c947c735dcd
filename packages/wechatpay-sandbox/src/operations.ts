import { type Counters, emptyCounters } from './counters.ts';
import { notEnough, SandboxError } from './errors.ts';
import { defaultFaults, type Faults, type FaultsPatch, faultsPatchSchema } from './faults.ts';
import type { Merchant } from './merchants.ts';
import type { Notifier } from './notifier.ts';
import type { Order, Refund, RefundStatus } from './order-types.ts';
import type { AbnormalRefundHandling, OrderStore, PayOptions, RefundOptions } from './orders.ts';
import { refundResource as refundResourceOf, transactionResource as transactionResourceOf } from './views.ts';

export interface RefundControlOptions extends RefundOptions {
  /** Where the refund ends: SUCCESS (default), ABNORMAL, CLOSED, or PROCESSING to leave it open. */
  status?: RefundStatus;
  /** Send the REFUND.<status> notification (default true); false: learnt only by query or bill. */
  notify?: boolean;
}

export interface SettleRefundOptions {
  status: Exclude<RefundStatus, 'PROCESSING'>;
  /** Send the REFUND.<status> notification (default true). */
  notify?: boolean;
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

  /**
   * A refund made in the merchant platform (no API call): it reaches `status` after the refund
   * delay and is notified unless `notify` is false. The refund API's faults do not apply.
   */
  refund(order: Order, options: RefundControlOptions = {}): Refund {
    const { status = 'SUCCESS', notify = true, ...rest } = options;
    const { refund, created } = this.#deps.store.refund(order, { ...rest, source: 'merchant_platform' });
    if (created && status !== 'PROCESSING') this.#completeLater(order, refund, status, notify);
    return refund;
  }

  /**
   * The refund API's create (`POST /v3/refund/domestic/refunds`): the NOT_ENOUGH fault refuses a
   * refund that would be created; an accepted one ends as the `refundOutcome` fault says.
   */
  createRefund(order: Order, options: RefundOptions): { refund: Refund; created: boolean } {
    const { faults, counters } = this;
    const result = this.#deps.store.refund(order, { ...options, source: 'api' }, () => {
      if (faults.refundNotEnoughNext > 0) {
        faults.refundNotEnoughNext -= 1;
        counters.faults.refundNotEnough += 1;
        throw notEnough();
      }
    });
    const outcome = faults.refundOutcome;
    if (result.created && outcome !== 'PROCESSING') this.#completeLater(order, result.refund, outcome, true);
    return result;
  }

  /** 发起异常退款: ABNORMAL → PROCESSING, then SUCCESS after the refund delay, notified. */
  applyAbnormalRefund(order: Order, refund: Refund, handling: AbnormalRefundHandling): Refund {
    this.#deps.store.applyAbnormalRefund(refund, handling);
    this.#completeLater(order, refund, 'SUCCESS', true);
    return refund;
  }

  /** Moves a refund to `status` now and notifies REFUND.<status> unless `notify` is false. */
  settleRefund(order: Order, refund: Refund, options: SettleRefundOptions): Refund {
    this.#deps.store.settleRefund(refund, options.status);
    if (options.notify ?? true) {
      this.#deps.notifier.notify({
        eventType: `REFUND.${options.status}`,
        mchid: order.mchid,
        apiV3Key: this.merchant(order.mchid).apiV3Key,
        outTradeNo: order.outTradeNo,
        outRefundNo: refund.outRefundNo,
        notifyUrl: refund.notifyUrl,
        resource: refundResourceOf(order, refund),
      });
    }
    return refund;
  }

  /**
   * Completes the refund after the refund delay, unless its status changed in between (settled by
   * hand, made abnormal and handled again…): a completion applies only to the state it was made for.
   */
  #completeLater(order: Order, refund: Refund, status: SettleRefundOptions['status'], notify: boolean): void {
    const version = refund.version;
    this.#deps.schedule(this.#deps.refundDelayMs, () => {
      if (refund.version !== version || refund.status !== 'PROCESSING') return;
      this.settleRefund(order, refund, { status, notify });
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
