import type { Counters } from './counters.ts';
import type { Faults } from './faults.ts';
import type { Poster } from './http/post.ts';
import { createNotification, type EventType } from './notification-body.ts';
import type { Platform } from './platform.ts';
import type { Random } from './random.ts';
import { signedHeaders } from './signing.ts';
import { type Clock, NOTIFY_RETRY_SCHEDULE_MS } from './time.ts';

export type DeliveryOutcome =
  | 'acknowledged'
  | 'rejected'
  | 'timeout'
  | 'connection_refused'
  | 'network_error'
  | 'not_attempted'
  | 'dropped';

/** One delivery attempt, as recorded for tests. */
export interface DeliveryAttempt {
  /** 0 = first delivery, 1…15 = WeChat's retries. Duplicates repeat the number of the delivery they copy. */
  attempt: number;
  /** WeChat's nominal wait before this attempt: 0 for the first, then 15 s, 15 s, 30 s, 3 min … 6 h. */
  scheduledDelayMs: number;
  /** The wait actually scheduled: `scheduledDelayMs × timeScale`. */
  scaledDelayMs: number;
  /** When the attempt was made (ISO 8601, the sandbox clock). */
  at: string;
  outcome: DeliveryOutcome;
  /** HTTP status when the receiver answered. */
  status?: number;
  /** Wechatpay-Serial the attempt was signed with. */
  serial?: string;
  probe: boolean;
  duplicate: boolean;
}

export type NotificationState = 'pending' | 'delivered' | 'exhausted' | 'dropped' | 'cancelled';

export interface NotificationRecord {
  id: string;
  eventType: EventType;
  mchid: string;
  outTradeNo: string;
  outRefundNo?: string;
  notifyUrl: string;
  createTime: string;
  /** Exactly the JSON body that every delivery carries. */
  body: string;
  state: NotificationState;
  attempts: DeliveryAttempt[];
}

export interface NotifyInput {
  eventType: EventType;
  mchid: string;
  apiV3Key: string;
  outTradeNo: string;
  outRefundNo?: string;
  notifyUrl: string;
  resource: object;
}

export interface NotifierDeps {
  platform: Platform;
  faults: () => Faults;
  counters: Counters;
  random: Random;
  clock: Clock;
  poster: Poster;
  timeScale: number;
  /** WeChat waits 5 s for an answer. */
  timeoutMs: number;
}

const isSuccess = (status: number) => status === 200 || status === 204;

/** Sends notifications as WeChat does and retries them on WeChat's schedule, scaled by `timeScale`. */
export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #records: NotificationRecord[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #busy = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
  }

  get records(): readonly NotificationRecord[] {
    return this.#records;
  }

  notify(input: NotifyInput): NotificationRecord {
    const { counters, faults, random, clock } = this.#deps;
    const fault = faults();
    const corrupt = fault.corruptNextNotificationResources > 0;
    if (corrupt) fault.corruptNextNotificationResources -= 1;
    const built = createNotification(input.eventType, input.resource, input.apiV3Key, clock(), corrupt);
    const record: NotificationRecord = {
      id: built.id,
      eventType: input.eventType,
      mchid: input.mchid,
      outTradeNo: input.outTradeNo,
      ...(input.outRefundNo === undefined ? {} : { outRefundNo: input.outRefundNo }),
      notifyUrl: input.notifyUrl,
      createTime: built.createTime,
      body: built.body,
      state: 'pending',
      attempts: [],
    };
    this.#records.push(record);
    counters.notifications.created += 1;
    const dropped = fault.dropNotificationShare > 0 && random() < fault.dropNotificationShare;
    const refundDropped =
      !dropped &&
      input.eventType.startsWith('REFUND.') &&
      fault.dropRefundNotifications > 0 &&
      random() < fault.dropRefundNotifications;
    if (dropped || refundDropped) {
      record.state = 'dropped';
      record.attempts.push(this.#attemptBase(0, 0, 'dropped', false, false));
      counters.notifications.dropped += 1;
      return record;
    }
    const duplicate = fault.duplicateNotificationShare > 0 && random() < fault.duplicateNotificationShare;
    this.#schedule(fault.notifyDelayMs, () => this.#deliver(record, 0, 0, duplicate));
    return record;
  }

  /** Resolves once no delivery is scheduled or in flight. */
  idle(): Promise<void> {
    if (this.#busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Cancels every scheduled retry; deliveries still pending end as `cancelled`. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const record of this.#records) if (record.state === 'pending') record.state = 'cancelled';
    this.#busy = 0;
    this.#wakeIdle();
  }

  #schedule(delayMs: number, run: () => Promise<void>): void {
    if (this.#closed) return;
    this.#busy += 1;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run().finally(() => this.#done());
    }, delayMs);
    this.#timers.add(timer);
  }

  #done(): void {
    if (this.#closed) return;
    this.#busy -= 1;
    if (this.#busy === 0) this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  async #deliver(record: NotificationRecord, attempt: number, scheduledDelayMs: number, duplicate: boolean) {
    const ok = await this.#send(record, attempt, scheduledDelayMs, false);
    if (this.#closed) return;
    if (ok) {
      record.state = 'delivered';
      if (duplicate) this.#scheduleDuplicates(record, attempt);
      return;
    }
    const nextDelay = NOTIFY_RETRY_SCHEDULE_MS[attempt];
    if (nextDelay === undefined) {
      record.state = 'exhausted';
      this.#deps.counters.notifications.exhausted += 1;
      return;
    }
    this.#schedule(nextDelay * this.#deps.timeScale, () =>
      this.#deliver(record, attempt + 1, nextDelay, false),
    );
  }

  #scheduleDuplicates(record: NotificationRecord, attempt: number): void {
    const { duplicateCopies, duplicateGapMs } = this.#deps.faults();
    for (let copy = 1; copy <= duplicateCopies; copy += 1) {
      this.#schedule(duplicateGapMs * copy, async () => {
        this.#deps.counters.notifications.duplicated += 1;
        await this.#send(record, attempt, 0, true);
      });
    }
  }

  /** One attempt; true when the receiver answered 200/204 within the timeout. */
  async #send(record: NotificationRecord, attempt: number, scheduledDelayMs: number, duplicate: boolean) {
    const { counters, faults, platform, clock, poster, timeoutMs } = this.#deps;
    const fault = faults();
    counters.notifications.attempts += 1;
    if (fault.notifyUnreachable !== 'off') {
      const outcome = fault.notifyUnreachable === 'refused' ? 'connection_refused' : 'not_attempted';
      record.attempts.push(this.#attemptBase(attempt, scheduledDelayMs, outcome, false, duplicate));
      counters.notifications.failed += 1;
      return false;
    }
    const probe = fault.probeNextNotifications > 0;
    if (probe) {
      fault.probeNextNotifications -= 1;
      counters.notifications.probes += 1;
    }
    const signer = platform.notificationSigner();
    const headers = signedHeaders(signer, record.body, {
      now: clock(),
      skewSeconds: fault.notificationSkewSeconds,
      probe,
    });
    const entry = this.#attemptBase(attempt, scheduledDelayMs, 'not_attempted', probe, duplicate);
    entry.serial = signer.serial;
    record.attempts.push(entry);
    const result = await poster.post(
      record.notifyUrl,
      { 'Content-Type': 'application/json', Accept: '*/*', 'User-Agent': 'Mozilla/4.0', ...headers },
      record.body,
      timeoutMs,
    );
    if (result.kind === 'answered') {
      entry.status = result.status;
      entry.outcome = isSuccess(result.status) ? 'acknowledged' : 'rejected';
    } else {
      entry.outcome = result.kind;
    }
    if (entry.outcome === 'acknowledged') counters.notifications.acknowledged += 1;
    else counters.notifications.failed += 1;
    return entry.outcome === 'acknowledged';
  }

  #attemptBase(
    attempt: number,
    scheduledDelayMs: number,
    outcome: DeliveryOutcome,
    probe: boolean,
    duplicate: boolean,
  ): DeliveryAttempt {
    return {
      attempt,
      scheduledDelayMs,
      scaledDelayMs: scheduledDelayMs * this.#deps.timeScale,
      at: new Date(this.#deps.clock()).toISOString(),
      outcome,
      probe,
      duplicate,
    };
  }
}
