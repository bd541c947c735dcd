import type { AddressInfo } from 'node:net';
import { type Counters, emptyCounters } from './counters.ts';
import { defaultFaults, type Faults, type FaultsPatch } from './faults.ts';
import { createPoster } from './http/post.ts';
import { Router } from './http/router.ts';
import { createServer } from './http/server.ts';
import { generateTestMerchant, type Merchant, type TestMerchant, toMerchant } from './merchants.ts';
import { type NotificationRecord, Notifier } from './notifier.ts';
import { Operations, type RefundControlOptions, type SettleRefundOptions } from './operations.ts';
import { type SandboxOptions, sandboxOptionsSchema } from './options.ts';
import type { Order, RefundResource, TransactionResource } from './order-types.ts';
import { OrderStore, type PayOptions } from './orders.ts';
import { Platform, type PlatformKeysView, type PublicKeyOptions, type RotateOptions } from './platform.ts';
import { seededRandom } from './random.ts';
import { RateLimiter } from './rate-limit.ts';
import { addBillRoutes } from './routes/bill.ts';
import { addControlRoutes } from './routes/control.ts';
import { addV3Routes } from './routes/v3.ts';
import { systemClock } from './time.ts';
import {
  type OrderView,
  orderView,
  type RefundView,
  refundResource,
  refundView,
  transactionResource,
} from './views.ts';

/** Which order a control call means; `mchid` is needed only when two merchants use one out_trade_no. */
export interface OrderRef {
  mchid?: string;
}

export interface NotificationFilter {
  outTradeNo?: string;
  outRefundNo?: string;
  eventType?: NotificationRecord['eventType'];
}

/** A running sandbox. Every control function is also reachable over HTTP under /sandbox. */
export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234` (use it as the client's WeChat Pay host). */
  readonly url: string;
  readonly port: number;
  /** The generated test merchant (with its private key) when no merchants were configured. */
  readonly merchant: TestMerchant | undefined;
  readonly merchants: readonly Merchant[];
  /** Platform certificates, the signing serial and the public key, for configuring verifiers. */
  keys(): PlatformKeysView;
  order(outTradeNo: string, ref?: OrderRef): OrderView;
  orders(): OrderView[];
  /** The user pays: trade_state SUCCESS, then a TRANSACTION.SUCCESS notification. */
  pay(outTradeNo: string, options?: PayOptions & OrderRef): TransactionResource;
  /** The payment fails: PAYERROR (not notified, as at WeChat). */
  fail(outTradeNo: string, ref?: OrderRef): TransactionResource;
  /** The user is paying: USERPAYING. */
  userPaying(outTradeNo: string, ref?: OrderRef): TransactionResource;
  /** Closes the order as the merchant's close call would. */
  closeOrder(outTradeNo: string, ref?: OrderRef): TransactionResource;
  /**
   * Refunds the order in the merchant platform (REFUND trade_state); after `refundDelayMs` the
   * refund becomes `status` and REFUND.<status> is notified (unless `notify: false`).
   */
  refund(outTradeNo: string, options?: RefundControlOptions & OrderRef): RefundResource;
  /**
   * Moves a PROCESSING or ABNORMAL refund to SUCCESS, ABNORMAL or CLOSED now and notifies
   * REFUND.<status> unless `notify: false`. SUCCESS and CLOSED are final (400 INVALID_REQUEST).
   */
  settleRefund(outRefundNo: string, options: SettleRefundOptions & OrderRef): RefundResource;
  /** One refund as the refund query answers it, plus mchid, source and notify_url. */
  getRefund(outRefundNo: string, ref?: OrderRef): RefundView;
  /** Every refund of every merchant, in the order they were accepted. */
  refunds(): RefundView[];
  /** Every notification with every delivery attempt (copies). */
  notifications(filter?: NotificationFilter): NotificationRecord[];
  /** Resolves when no notification delivery is scheduled or in flight. */
  idle(): Promise<void>;
  counters(): Counters;
  resetCounters(): void;
  faults(): Faults;
  setFaults(patch: FaultsPatch): Faults;
  resetFaults(): Faults;
  setQueryQps(qps: number): void;
  /** Serves a new platform certificate; it signs at once unless `activate: 'manual'`. */
  rotateCertificate(options?: RotateOptions): Promise<{ serialNo: string; certificatePem: string }>;
  activateCertificate(serialNo: string, options?: Pick<RotateOptions, 'retirePrevious'>): void;
  /** Notifications are signed with the WeChat Pay public key from now on (`only`: certificates gone). */
  usePublicKey(options?: PublicKeyOptions): Promise<{ id: string; publicKeyPem: string }>;
  /** Notifications are signed with the current certificate again. */
  useCertificate(): void;
  /** Stops the server, cancels every retry and timer. */
  close(): Promise<void>;
}

/** Starts a WeChat Pay sandbox on loopback (by default) and resolves once it listens. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { clock = systemClock, ...data } = options;
  const config = sandboxOptionsSchema.parse(data);
  const generated = config.merchants.length === 0 ? await generateTestMerchant() : undefined;
  const merchantList: Merchant[] = generated ? [generated] : config.merchants.map(toMerchant);
  const merchants = new Map(merchantList.map((m) => [m.mchid, m]));
  const platform = await Platform.create(config.keyMode, clock);
  const random = seededRandom(config.seed);
  const timers = new Set<NodeJS.Timeout>();
  const wakers = new Set<() => void>();
  let closed = false;
  const schedule = (ms: number, run: () => void) => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const wake = () => {
        wakers.delete(wake);
        resolve();
      };
      wakers.add(wake);
      schedule(ms, wake);
    });

  /** Work that will create notifications (refund settlements): idle() waits for it too. */
  const pendingWork = new Map<Promise<void>, () => void>();
  const scheduleWork = (ms: number, run: () => void) => {
    if (closed) return;
    let done = () => {};
    const work = new Promise<void>((resolve) => {
      done = resolve;
    });
    pendingWork.set(work, done);
    void work.then(() => pendingWork.delete(work));
    schedule(ms, () => {
      try {
        run();
      } finally {
        done();
      }
    });
  };
  const idle = async () => {
    while (pendingWork.size > 0) await Promise.all(pendingWork.keys());
    await notifier.idle();
  };

  const store = new OrderStore(clock);
  const poster = createPoster();
  const faults = defaultFaults();
  const counters = emptyCounters();
  const notifier = new Notifier({
    platform,
    faults: () => faults,
    counters,
    random,
    clock,
    poster,
    timeScale: config.timeScale,
    timeoutMs: config.notifyTimeoutMs,
  });
  const operations = new Operations({
    store,
    notifier,
    merchants,
    refundDelayMs: config.refundDelayMs,
    schedule: scheduleWork,
    faults,
    counters,
  });
  operations.setFaults(config.faults);
  const rateLimiter = new RateLimiter(config.queryQps, clock);

  const find = (outTradeNo: string, ref?: OrderRef): Order => store.find(outTradeNo, ref?.mchid);
  const router = new Router();
  const server = createServer({
    router,
    platform,
    merchants,
    faults: () => faults,
    counters,
    rateLimiter,
    random,
    clock,
    authWindowSeconds: config.authWindowSeconds,
    sleep,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  const sandbox: Sandbox = {
    url: `http://${host}:${port}`,
    port,
    merchant: generated,
    merchants: merchantList,
    keys: () => platform.view(),
    order: (outTradeNo, ref) => orderView(find(outTradeNo, ref)),
    orders: () => store.list().map(orderView),
    pay: (outTradeNo, payOptions = {}) =>
      transactionResource(operations.pay(find(outTradeNo, payOptions), payOptions)),
    fail: (outTradeNo, ref) => transactionResource(store.fail(find(outTradeNo, ref))),
    userPaying: (outTradeNo, ref) => transactionResource(store.userPaying(find(outTradeNo, ref))),
    closeOrder: (outTradeNo, ref) => transactionResource(store.close(find(outTradeNo, ref))),
    refund: (outTradeNo, refundOptions = {}) => {
      const order = find(outTradeNo, refundOptions);
      return refundResource(order, operations.refund(order, refundOptions));
    },
    settleRefund: (outRefundNo, settleOptions) => {
      const { order, refund } = store.findRefund(outRefundNo, settleOptions.mchid);
      return refundResource(order, operations.settleRefund(order, refund, settleOptions));
    },
    getRefund: (outRefundNo, ref) => {
      const { order, refund } = store.findRefund(outRefundNo, ref?.mchid);
      return refundView(order, refund);
    },
    refunds: () => store.listRefunds().map(({ order, refund }) => refundView(order, refund)),
    notifications: (filter = {}) =>
      structuredClone(
        notifier.records.filter(
          (r) =>
            (filter.outTradeNo === undefined || r.outTradeNo === filter.outTradeNo) &&
            (filter.outRefundNo === undefined || r.outRefundNo === filter.outRefundNo) &&
            (filter.eventType === undefined || r.eventType === filter.eventType),
        ),
      ),
    idle,
    counters: () => structuredClone(operations.counters),
    resetCounters: () => operations.resetCounters(),
    faults: () => ({ ...operations.faults }),
    setFaults: (patch) => ({ ...operations.setFaults(patch) }),
    resetFaults: () => ({ ...operations.resetFaults() }),
    setQueryQps: (qps) => rateLimiter.setQps(qps),
    rotateCertificate: async (rotateOptions) => {
      const cert = await platform.rotateCertificate(rotateOptions);
      return { serialNo: cert.serialNo, certificatePem: cert.certificatePem };
    },
    activateCertificate: (serialNo, activateOptions) =>
      platform.activateCertificate(serialNo, activateOptions),
    usePublicKey: async (keyOptions) => {
      const key = await platform.usePublicKey(keyOptions);
      return { id: key.id, publicKeyPem: key.publicKeyPem };
    },
    useCertificate: () => platform.useCertificate(),
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const done of pendingWork.values()) done();
      for (const wake of [...wakers]) wake();
      notifier.close();
      poster.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  addV3Routes(router, operations, platform, { allowInsecureNotifyUrl: config.allowInsecureNotifyUrl });
  addControlRoutes(router, sandbox);
  addBillRoutes(router, store, clock);
  return sandbox;
}
