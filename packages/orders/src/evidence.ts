import { createHash, type KeyObject } from 'node:crypto';
import type { ObservationEvidence, PaymentObservation } from '@paysync/contracts';
import {
  type ApiV3Key,
  apiV3SecretKey,
  decryptNotification,
  exactText,
  type HeaderInput,
  isRefundAnswerBody,
  type KeyAt,
  parseRefundAnswer,
  parseTransaction,
  type SignedAnswer,
  signedEvidence,
  type V2Key,
  verifyEvidenceSignature,
  verifyV2Notification,
  WeChatPayError,
} from '@paysync/wechatpay';
import {
  contentOf,
  notFoundContent,
  type ObservedContent,
  refundAnswerContent,
  refundContent,
  transactionContent,
  v2Content,
} from './observe.ts';

/** Evidence of an APIv3 notification: its signature headers and raw body, as received. */
export function notificationEvidence(headers: HeaderInput, body: Buffer | string): ObservationEvidence {
  return { kind: 'notification', ...signedEvidence(headers, body) };
}

/** Evidence of a signed API answer (a query's 200, a 404 ORDER_NOT_EXIST). */
export function answerEvidence(answer: SignedAnswer): ObservationEvidence {
  return { kind: 'answer', status: answer.status, headers: answer.headers, body: answer.body };
}

/** Evidence of an APIv2 notification: the XML, which carries its own sign. */
export function v2NotificationEvidence(body: Buffer | string): ObservationEvidence {
  return { kind: 'v2_notification', body: exactText(body) };
}

/** Why evidence does not hold; a bounded label for metrics and the journal. */
export type RefusalCode =
  | 'no_evidence'
  | 'wrong_kind'
  | 'bad_signature'
  | 'unknown_key'
  | 'undecryptable'
  | 'unreadable'
  | 'not_a_fact'
  | 'content_differs'
  | 'no_v2_key';

export class EvidenceRefusedError extends Error {
  readonly code: RefusalCode;
  constructor(code: RefusalCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvidenceRefusedError';
    this.code = code;
  }
}

/** What evidence proves: the content, when WeChat signed it, and whether it names the order itself. */
export type EvidenceReading = {
  content: ObservedContent;
  /** WeChat's signing time (Wechatpay-Timestamp); APIv2 notifications carry none. */
  signedAt: Date | undefined;
  /**
   * False for a 404 ORDER_NOT_EXIST: its body does not name the order, so the ledger binds the
   * signature to the first order it is used for (`fingerprint`) and refuses it for any other.
   */
  namesOrder: boolean;
  /** SHA-256 of the signature: the same evidence, whatever message it travels in. */
  fingerprint: string;
};

export type EvidenceReaderOptions = {
  /** The verification key for a serial at the evidence's time (see EvidenceKeys). */
  keyAt: KeyAt;
  /** Decrypts notification resources. */
  apiV3Key: ApiV3Key;
  /** Verifies APIv2 notifications; without it they are refused. */
  apiV2Key?: V2Key | undefined;
};

const NOT_EXIST_CODES = new Set(['ORDER_NOT_EXIST', 'ORDERNOTEXIST']);

function fingerprintOf(signature: string): string {
  return createHash('sha256').update(signature).digest('hex');
}

/** A WeChatPayError from a signature check, as a refusal. */
function refusal(err: unknown, fallback: RefusalCode): EvidenceRefusedError {
  if (err instanceof EvidenceRefusedError) return err;
  if (err instanceof WeChatPayError) {
    const code: RefusalCode =
      err.code === 'UNKNOWN_SERIAL'
        ? 'unknown_key'
        : err.code === 'DECRYPT_FAILED'
          ? 'undecryptable'
          : err.code === 'MALFORMED'
            ? 'unreadable'
            : err.code === 'BAD_SIGNATURE' ||
                err.code === 'MISSING_HEADER' ||
                err.code === 'UNSUPPORTED_SIGNATURE_TYPE'
              ? 'bad_signature'
              : fallback;
    return new EvidenceRefusedError(code, err.message, { cause: err });
  }
  return new EvidenceRefusedError(fallback, err instanceof Error ? err.message : 'unreadable evidence', {
    cause: err,
  });
}

/**
 * Reads evidence the way WeChat's message would be read on arrival — signature first (with a key
 * valid at the evidence's own time, no ±300 s window), then decryption and parsing — and returns
 * what it proves. Throws EvidenceRefusedError.
 */
export class EvidenceReader {
  readonly #keyAt: KeyAt;
  readonly #apiV3Key: KeyObject;
  readonly #apiV2Key: V2Key | undefined;

  constructor(options: EvidenceReaderOptions) {
    this.#keyAt = options.keyAt;
    this.#apiV3Key = apiV3SecretKey(options.apiV3Key);
    this.#apiV2Key = options.apiV2Key;
  }

  async read(
    evidence: ObservationEvidence,
    claimed: { outTradeNo: string; mchid: string },
  ): Promise<EvidenceReading> {
    try {
      if (evidence.kind === 'v2_notification') {
        if (!this.#apiV2Key)
          throw new EvidenceRefusedError('no_v2_key', 'no APIv2 key to verify an APIv2 notification');
        const n = verifyV2Notification(evidence.body, this.#apiV2Key);
        const sign = n.fields.sign ?? '';
        return {
          content: v2Content(n),
          signedAt: undefined,
          namesOrder: true,
          fingerprint: fingerprintOf(sign),
        };
      }
      const verified = await verifyEvidenceSignature(evidence, this.#keyAt);
      const signedAt = new Date(verified.timestamp * 1000);
      const fingerprint = fingerprintOf(evidence.headers.signature);
      if (evidence.kind === 'notification') {
        const n = decryptNotification(evidence.body, this.#apiV3Key);
        if (n.kind === 'other')
          throw new EvidenceRefusedError(
            'not_a_fact',
            `a ${n.eventType} notification says nothing about an order`,
          );
        const content =
          n.kind === 'transaction' ? transactionContent(n.transaction) : refundContent(n.refund);
        return { content, signedAt, namesOrder: true, fingerprint };
      }
      if (evidence.status === 200) {
        const body: unknown = JSON.parse(evidence.body);
        // A refund answer names its order and refund, but not the merchant: that is the one asked for.
        const content = isRefundAnswerBody(body)
          ? refundAnswerContent(parseRefundAnswer(body), claimed.mchid)
          : transactionContent(parseTransaction(body));
        return { content, signedAt, namesOrder: true, fingerprint };
      }
      const code = (JSON.parse(evidence.body) as { code?: unknown }).code;
      if (evidence.status === 404 && typeof code === 'string' && NOT_EXIST_CODES.has(code)) {
        return { content: notFoundContent(claimed), signedAt, namesOrder: false, fingerprint };
      }
      throw new EvidenceRefusedError(
        'not_a_fact',
        `an answer ${evidence.status} ${String(code)} is not a fact about an order`,
      );
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new EvidenceRefusedError('unreadable', 'the evidence body is not JSON');
      throw refusal(err, 'unreadable');
    }
  }
}

/** Which evidence each source may carry: a notification is received, a query answered. */
const KINDS: Record<PaymentObservation['source'], readonly ObservationEvidence['kind'][]> = {
  notification: ['notification', 'v2_notification'],
  query: ['answer'],
  // payctl replay --reapply and the operator re-send what WeChat said before, under their name.
  manual: ['notification', 'v2_notification', 'answer'],
};

/** Deep equality of plain JSON values, a key holding undefined counting as absent. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => same(v, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (!same(x[k], y[k])) return false;
  for (const k in y) if (!(k in x) && y[k] !== undefined) return false;
  return true;
}

/**
 * Checks an observation against its evidence: the evidence verifies, fits the source, and proves
 * exactly the observation's content — order, merchant, app, state, transaction, amounts, refund.
 * Returns the reading; throws EvidenceRefusedError.
 */
export async function checkEvidence(
  reader: EvidenceReader,
  obs: PaymentObservation,
): Promise<EvidenceReading> {
  const evidence = obs.evidence;
  if (evidence === undefined)
    throw new EvidenceRefusedError('no_evidence', 'the observation carries no evidence');
  if (!KINDS[obs.source].includes(evidence.kind)) {
    throw new EvidenceRefusedError(
      'wrong_kind',
      `a ${obs.source} observation cannot rest on ${evidence.kind} evidence`,
    );
  }
  const reading = await reader.read(evidence, obs);
  const claimed = contentOf(obs);
  if (!same(claimed, reading.content)) {
    const differs = Object.keys({ ...claimed, ...reading.content }).filter(
      (k) => !same((claimed as Record<string, unknown>)[k], (reading.content as Record<string, unknown>)[k]),
    );
    throw new EvidenceRefusedError(
      'content_differs',
      `the evidence says otherwise about ${differs.join(', ')}`,
    );
  }
  return reading;
}
