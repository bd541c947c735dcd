import type { Clock, PaymentObservation } from '@paysync/contracts';
import {
  type CreateRefundInput,
  InvalidArgumentError,
  type RefundAnswerStatus,
  type SignedAnswer,
  WeChatPayApiError,
  WeChatPayError,
  type WeChatRefundAnswer,
} from '@paysync/wechatpay';
import { type LedgerOrder, reversalPoints } from './decide.ts';
import { type ObservationEnvelope, refundAnswerObservation } from './observe.ts';

/**
 * Refunds: paysync's own record of each refund of an order, whoever started it. The rules here are
 * the only ones: the order API and payctl accept a refund with them, the sweep drives it with them,
 * the ledger moves it with them.
 *
 *   processing ──SUCCESS──▶ succeeded   (points reversed once, hold released)
 *        │ ├────CLOSED───▶ closed      (nothing reversed, hold released)
 *        │ └───ABNORMAL──▶ abnormal ──SUCCESS/CLOSED──▶ …  (a person acts; hold kept)
 *        └─WeChat refused the create─▶ rejected (no money moved, hold released)
 */
export type RefundStatus = 'processing' | 'succeeded' | 'closed' | 'abnormal' | 'rejected';
export const REFUND_STATUSES: readonly RefundStatus[] = [
  'processing',
  'succeeded',
  'closed',
  'abnormal',
  'rejected',
];
/** Where a refund came from: the order API, payctl, or WeChat (the merchant platform, learnt here). */
export type RefundOrigin = 'api' | 'payctl' | 'wechat';

/** WeChat allows at most 50 refunds of one order. */
export const MAX_REFUNDS_PER_ORDER = 50;

const FINAL: ReadonlySet<RefundStatus> = new Set(['succeeded', 'closed', 'rejected']);

export function isFinalRefund(status: RefundStatus): boolean {
  return FINAL.has(status);
}

/** A hold ends when the refund does: reversed (succeeded), or given back (closed, rejected). */
export function holdReleased(status: RefundStatus): boolean {
  return FINAL.has(status);
}

/**
 * The refund's status after WeChat said `wechat` about it. A final status never changes (WeChat
 * never takes back a SUCCESS or CLOSED; a late PROCESSING answer is older news).
 */
export function refundStatusAfter(
  current: RefundStatus | undefined,
  wechat: RefundAnswerStatus,
): RefundStatus {
  if (current !== undefined && FINAL.has(current)) return current;
  switch (wechat) {
    case 'SUCCESS':
      return 'succeeded';
    case 'CLOSED':
      return 'closed';
    case 'ABNORMAL':
      return 'abnormal';
    case 'PROCESSING':
      return current ?? 'processing';
  }
}

/** A refund as far as the refundable remainder is concerned. */
export type RefundShare = { status: RefundStatus; amountFen: number };

/**
 * Fen already promised back: the order's applied refunds (the ledger's `refundedAmount`, which
 * includes refunds made before paysync kept refund rows) or the succeeded rows, whichever is more,
 * plus every refund still under way. Closed and rejected refunds gave nothing back.
 */
export function committedFen(
  order: Pick<LedgerOrder, 'refundedAmount'>,
  refunds: readonly RefundShare[],
): number {
  const sum = (s: RefundStatus[]) =>
    refunds.filter((r) => s.includes(r.status)).reduce((n, r) => n + r.amountFen, 0);
  return Math.max(order.refundedAmount, sum(['succeeded'])) + sum(['processing', 'abnormal']);
}

export type RefundRefusal =
  | { code: 'ORDER_NOT_PAID'; message: string }
  | { code: 'AMOUNT_EXCEEDS_REFUNDABLE'; message: string; refundableFen: number }
  | { code: 'TOO_MANY_REFUNDS'; message: string };

/** Why a new refund of `amountFen` cannot be accepted for this order, or undefined when it can. */
export function refuseRefund(
  order: Pick<LedgerOrder, 'status' | 'amountTotal' | 'refundedAmount'>,
  refunds: readonly RefundShare[],
  amountFen: number,
): RefundRefusal | undefined {
  if (order.status !== 'paid' && order.status !== 'refunded') {
    return {
      code: 'ORDER_NOT_PAID',
      message: `the order is ${order.status}: only a paid order can be refunded`,
    };
  }
  if (refunds.length >= MAX_REFUNDS_PER_ORDER) {
    return {
      code: 'TOO_MANY_REFUNDS',
      message: `an order can be refunded at most ${MAX_REFUNDS_PER_ORDER} times`,
    };
  }
  const refundable = order.amountTotal - committedFen(order, refunds);
  if (amountFen > refundable) {
    return {
      code: 'AMOUNT_EXCEEDS_REFUNDABLE',
      message: `${amountFen} fen is more than the ${refundable} fen still refundable`,
      refundableFen: Math.max(0, refundable),
    };
  }
  return undefined;
}

/**
 * The points held while a refund is under way: what the ledger will reverse if every refund under
 * way succeeds, this one last. The reversal itself is computed again, exactly, when WeChat says
 * SUCCESS (reversals are cumulative); the hold only keeps those points from being spent meanwhile.
 */
export function holdPoints(order: LedgerOrder, refunds: readonly RefundShare[], amountFen: number): number {
  return reversalPoints({ ...order, refundedAmount: committedFen(order, refunds) }, amountFen);
}

/** When a refund under way is asked about again: soon at first, then every few hours. */
const REFUND_CHECKS_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 6 * 60 * 60_000];

export function nextRefundCheck(attempts: number, now: Date): Date {
  const ms = REFUND_CHECKS_MS[Math.min(attempts, REFUND_CHECKS_MS.length - 1)] as number;
  return new Date(now.getTime() + ms);
}

/** WeChat codes after which the same create, with the same number, is sent again later. */
const RETRY_CODES = new Set(['SYSTEM_ERROR', 'NOT_ENOUGH', 'FREQUENCY_LIMITED', 'RATELIMIT_EXCEEDED']);

/**
 * What a failed refund call means. Only WeChat's own signed refusal of the request (INVALID_REQUEST,
 * USER_ACCOUNT_ABNORMAL, PARAM_ERROR, …) ends it: anything else — a timeout after WeChat may have
 * accepted it, a 5xx, NOT_ENOUGH, an unsigned error page — leaves it under way, to be sent again
 * with the same out_refund_no.
 */
export function refundFailure(err: unknown): 'retry' | 'rejected' {
  // A request the client refuses to send (a malformed number or reason) can never succeed.
  if (err instanceof InvalidArgumentError) return 'rejected';
  if (err instanceof WeChatPayApiError) {
    if (!err.verified || err.status >= 500 || err.status === 429) return 'retry';
    return RETRY_CODES.has(err.wechatCode ?? '') ? 'retry' : 'rejected';
  }
  return 'retry';
}

/** One refund as the sweep and the order API drive it. */
export type RefundToDrive = {
  outRefundNo: string;
  outTradeNo: string;
  mchid: string;
  amountFen: number;
  totalFen: number;
  reason: string | null;
  /** When WeChat accepted the create; until then the create is sent (again). */
  submittedAt: Date | null;
  checkAttempts: number;
};

export type RefundApi = {
  createRefund(
    input: CreateRefundInput,
    mchid?: string,
  ): Promise<{ refund: WeChatRefundAnswer; answer: SignedAnswer }>;
  queryRefund(
    outRefundNo: string,
    mchid?: string,
  ): Promise<{ refund: WeChatRefundAnswer; answer: SignedAnswer }>;
};

/** Where the outcome of one call is written (packages/db's refund store). */
export type RefundTracker = {
  /** WeChat has the refund: keep its id, ask again at `nextCheckAt` while it is not final. */
  answered(outRefundNo: string, refundId: string, at: Date, nextCheckAt: Date): Promise<void>;
  /** WeChat refused the create: the refund ends `rejected`, its hold is released. */
  rejected(outRefundNo: string, code: string, at: Date): Promise<void>;
  /** Try again at `nextCheckAt` (same number, same amount). */
  retryLater(outRefundNo: string, error: string, at: Date, nextCheckAt: Date): Promise<void>;
};

export type DriveDeps = {
  wechat: RefundApi;
  tracker: RefundTracker;
  /** Publishes an observation for the ledger (the refund's signed answer is its evidence). */
  publish(obs: PaymentObservation): Promise<void>;
  notifyUrl: string;
  envelope(): ObservationEnvelope;
  clock: Clock;
};

export type DriveResult =
  | { kind: 'answered'; status: RefundAnswerStatus; observation: PaymentObservation }
  | { kind: 'retry'; error: string }
  /** WeChat signed an answer about another refund or order: nothing applied, asked again later. */
  | { kind: 'mismatched'; error: string }
  | { kind: 'rejected'; code: string };

function describe(err: unknown): string {
  if (err instanceof WeChatPayApiError) return `${err.status} ${err.wechatCode ?? err.code}`;
  if (err instanceof WeChatPayError) return err.code;
  return err instanceof Error ? err.name : 'error';
}

/**
 * One step of a refund: send the create (first time, or again after a failure — same number, same
 * amount) or, once WeChat has it, ask about it; publish what WeChat signed for the ledger to apply.
 * A failure to publish is a retry: the answer is asked for again.
 */
export async function driveRefund(deps: DriveDeps, r: RefundToDrive): Promise<DriveResult> {
  let result: { refund: WeChatRefundAnswer; answer: SignedAnswer };
  try {
    result =
      r.submittedAt === null
        ? await deps.wechat.createRefund(
            {
              outTradeNo: r.outTradeNo,
              outRefundNo: r.outRefundNo,
              ...(r.reason ? { reason: r.reason } : {}),
              notifyUrl: deps.notifyUrl,
              refundFen: r.amountFen,
              totalFen: r.totalFen,
            },
            r.mchid,
          )
        : await deps.wechat.queryRefund(r.outRefundNo, r.mchid);
  } catch (err) {
    const now = new Date(deps.clock());
    if (refundFailure(err) === 'rejected' && r.submittedAt === null) {
      const code = err instanceof WeChatPayApiError ? (err.wechatCode ?? err.code) : 'REJECTED';
      await deps.tracker.rejected(r.outRefundNo, code, now);
      return { kind: 'rejected', code };
    }
    const error = describe(err);
    await deps.tracker.retryLater(r.outRefundNo, error, now, nextRefundCheck(r.checkAttempts, now));
    return { kind: 'retry', error };
  }
  const now = new Date(deps.clock());
  const { refund, answer } = result;
  if (refund.out_refund_no !== r.outRefundNo || refund.out_trade_no !== r.outTradeNo) {
    const error = 'the answer names another refund or order';
    await deps.tracker.retryLater(r.outRefundNo, error, now, nextRefundCheck(r.checkAttempts, now));
    return { kind: 'mismatched', error };
  }
  await deps.tracker.answered(r.outRefundNo, refund.refund_id, now, nextRefundCheck(r.checkAttempts, now));
  const observation = refundAnswerObservation(refund, answer, r.mchid, deps.envelope());
  try {
    await deps.publish(observation);
  } catch (err) {
    return { kind: 'retry', error: `publish failed: ${describe(err)}` };
  }
  return { kind: 'answered', status: refund.status, observation };
}

/**
 * A refund paysync did not make (the merchant platform), found by its number — from the trade bill's
 * refund rows — asked about and turned into an observation: the ledger applies it like a refund
 * notification (reversal once, a row of origin `wechat`).
 */
export async function refundObservationByNumber(
  wechat: Pick<RefundApi, 'queryRefund'>,
  refund: { outRefundNo: string; mchid: string },
  envelope: ObservationEnvelope,
): Promise<PaymentObservation> {
  const { refund: answer, answer: signed } = await wechat.queryRefund(refund.outRefundNo, refund.mchid);
  return refundAnswerObservation(answer, signed, refund.mchid, envelope);
}
