import { randomUUID } from 'node:crypto';
import { V2_SUCCESS_REPLY, type V2Key, verifyV2Notification, WeChatPayError } from '@paysync/wechatpay';
import { type CallbackDeps, errorSummary, finish, type NotificationLog } from './callback.ts';
import { callbackFailure, failureOutcome, type SignatureFailureReason } from './errors.ts';
import { v2Observation } from './observation.ts';

export type V2CallbackDeps = Omit<CallbackDeps, 'verifier'> & { apiV2Key: V2Key };

export type V2Answer = { status: number; xml: string };

/** APIv2's failure reply; WeChat retries anything that is not exactly V2_SUCCESS_REPLY. */
export function v2FailReply(message: string): string {
  return `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[${message.replaceAll(']]>', '')}]]></return_msg></xml>`;
}

/**
 * Handles one APIv2 (XML) notification: verify the MD5/HMAC-SHA256 sign with the APIv2 key, check
 * merchant and app, publish a paid notification's observation and wait for Kafka. Notifications
 * that do not report a payment are acknowledged and not published (the reconciler queries those
 * orders anyway). APIv2 messages carry no timestamp: a replay is absorbed by the ledger's
 * per-order idempotency.
 */
export async function receiveV2Notification(
  deps: V2CallbackDeps,
  input: { body: Buffer },
): Promise<V2Answer> {
  const clock = deps.clock ?? Date.now;
  const started = performance.now();
  const log: NotificationLog = { api: 'v2', outcome: 'acknowledged', status: 200, latency_ms: 0 };
  let answer: V2Answer = { status: 200, xml: V2_SUCCESS_REPLY };
  try {
    const n = verifyV2Notification(input.body, deps.apiV2Key);
    if (n.outTradeNo && /^[A-Za-z0-9_\-|*]{1,32}$/.test(n.outTradeNo)) log.out_trade_no = n.outTradeNo;
    if (!n.paid) {
      log.outcome = 'ignored';
    } else {
      const observation = v2Observation(n, input.body, deps.merchant, {
        observedAt: new Date(clock()),
        observationId: (deps.newId ?? randomUUID)(),
      });
      await deps.publisher.publish(observation);
    }
  } catch (err) {
    const failure = callbackFailure(err);
    answer = { status: failure.status, xml: v2FailReply(failure.message) };
    log.outcome = failureOutcome(failure);
    log.status = failure.status;
    if (err instanceof WeChatPayError && err.code === 'BAD_SIGNATURE') {
      deps.metrics.signatureFailures.inc({ reason: 'bad_signature_v2' satisfies SignatureFailureReason });
    }
    if (failure.status >= 500) {
      deps.logger.error(
        { error: errorSummary(err) },
        'APIv2 notification not accepted: WeChat Pay will retry',
      );
    }
  }
  finish(deps, log, started);
  return answer;
}
