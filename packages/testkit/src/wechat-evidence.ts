import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import type { PaymentObservation } from '@paysync/contracts';
import {
  archiveEvidenceReader,
  CONTENT_FIELDS,
  certificateArchiver,
  contentOf,
  EvidenceKeys,
  EvidenceReader,
  notFoundContent,
  type ObservedContent,
  type Queryable,
  refundContent,
  transactionContent,
} from '@paysync/orders';
import {
  buildNotificationBody,
  encryptResource,
  type KeyAt,
  messageSignString,
  parseRefund,
  parseTransaction,
  randomNonce,
  rsaSignAsync,
  toPublicKey,
  type V2Key,
  WeChatPayClient,
  type WeChatPayClientOptions,
} from '@paysync/wechatpay';
import type { Sandbox } from '@paysync/wechatpay-sandbox';
import type { WeChatPaidOrder } from './invariants.ts';

/** The observation without what WeChat says (its envelope: ids, source, time, producer, actor). */
function withoutContent(obs: PaymentObservation): PaymentObservation {
  const out: Record<string, unknown> = { ...obs };
  for (const field of CONTENT_FIELDS) delete out[field];
  delete out.evidence;
  return out as PaymentObservation;
}

/**
 * WeChat Pay's signature for tests that produce observations without the sandbox (the ledger's own
 * tests and benchmarks): a WeChat Pay public key and an APIv3 key, and the messages WeChat would
 * sign for an observation's content — an encrypted notification, a query answer, a signed 404.
 * The observation comes back rebuilt from that evidence through the one mapping, so that it says
 * exactly what WeChat's message says.
 */
export class TestWeChatSigner {
  readonly publicKeyId: string;
  readonly publicKey: KeyObject;
  readonly apiV3Key: string;
  readonly #privateKey: KeyObject;
  readonly #paid = new Map<string, WeChatPaidOrder>();

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
    this.publicKeyId = `PUB_KEY_ID_01${randomBytes(8).toString('hex').toUpperCase()}`;
    this.apiV3Key = randomBytes(16).toString('hex');
  }

  /** The orders this signer said were paid (SUCCESS or REFUND transactions), for the invariants. */
  paid(): WeChatPaidOrder[] {
    return [...this.#paid.values()];
  }

  /** The ledger's evidence reader for what this signer signs. */
  reader(options: { apiV2Key?: V2Key } = {}): EvidenceReader {
    const keys = new EvidenceKeys({ publicKeys: [{ id: this.publicKeyId, key: this.publicKey }] });
    return new EvidenceReader({ keyAt: keys.keyAt, apiV3Key: this.apiV3Key, apiV2Key: options.apiV2Key });
  }

  /**
   * The observation with WeChat's signed message for its content as evidence: a notification for
   * source `notification`, an answer otherwise. Signed at `observedAt` unless `at` says otherwise.
   */
  async sign(obs: PaymentObservation, options: { at?: Date } = {}): Promise<PaymentObservation> {
    const timestamp = Math.floor((options.at ?? new Date(obs.observedAt)).getTime() / 1000);
    const claimed = contentOf(obs);
    const envelope = withoutContent(obs);
    if (claimed.tradeState === 'ORDER_NOT_EXIST') {
      if (obs.source === 'notification')
        throw new Error('WeChat never notifies that an order does not exist');
      const body = JSON.stringify({ code: 'ORDER_NOT_EXIST', message: 'order not exist' });
      const headers = await this.#headers(body, timestamp);
      return {
        ...envelope,
        ...notFoundContent(claimed),
        evidence: { kind: 'answer', status: 404, headers, body },
      };
    }
    const refund = claimed.refund !== undefined;
    const json = refund ? refundJson(claimed, new Date(timestamp * 1000)) : transactionJson(claimed);
    const content = refund ? refundContent(parseRefund(json)) : transactionContent(parseTransaction(json));
    if (!refund && (content.tradeState === 'SUCCESS' || content.tradeState === 'REFUND')) {
      this.#paid.set(content.outTradeNo, {
        outTradeNo: content.outTradeNo,
        transactionId: content.transactionId as string,
        amountTotal: content.amount?.total as number,
        mchid: content.mchid,
        appid: content.appid as string,
      });
    }
    if (obs.source === 'notification') {
      const body = buildNotificationBody({
        id: randomUUID(),
        createTime: new Date(timestamp * 1000).toISOString(),
        eventType: refund ? `REFUND.${claimed.refund?.refundStatus}` : 'TRANSACTION.SUCCESS',
        resource: encryptResource({
          apiV3Key: this.apiV3Key,
          originalType: refund ? 'refund' : 'transaction',
          data: json,
        }),
      });
      const headers = await this.#headers(body, timestamp);
      return { ...envelope, ...content, evidence: { kind: 'notification', headers, body } };
    }
    if (refund) throw new Error('a refund is known from its notification, not from an order query');
    const body = JSON.stringify(json);
    const headers = await this.#headers(body, timestamp);
    return { ...envelope, ...content, evidence: { kind: 'answer', status: 200, headers, body } };
  }

  async #headers(body: string, timestamp: number) {
    const nonce = randomNonce();
    const signature = await rsaSignAsync(this.#privateKey, messageSignString(timestamp, nonce, body));
    return { serial: this.publicKeyId, signature, timestamp: String(timestamp), nonce };
  }
}

/** A transaction as WeChat's JSON (no payer data beyond a made-up openid). */
function transactionJson(c: ObservedContent): Record<string, unknown> {
  if (c.appid === undefined) throw new Error('a WeChat transaction always names its appid');
  return {
    appid: c.appid,
    mchid: c.mchid,
    out_trade_no: c.outTradeNo,
    ...(c.transactionId !== undefined ? { transaction_id: c.transactionId } : {}),
    trade_type: 'NATIVE',
    trade_state: c.tradeState,
    trade_state_desc: c.tradeStateDesc ?? '',
    ...(c.successTime !== undefined ? { success_time: c.successTime } : {}),
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    ...(c.amount !== undefined
      ? {
          amount: {
            total: c.amount.total,
            ...(c.amount.payerTotal !== undefined ? { payer_total: c.amount.payerTotal } : {}),
            currency: c.amount.currency,
            payer_currency: c.amount.currency,
          },
        }
      : {}),
  };
}

/** A refund as WeChat's JSON; a successful one always says when (now, unless the claim says). */
function refundJson(c: ObservedContent, at: Date): Record<string, unknown> {
  const r = c.refund as NonNullable<ObservedContent['refund']>;
  return {
    mchid: c.mchid,
    out_trade_no: c.outTradeNo,
    transaction_id: c.transactionId,
    out_refund_no: r.outRefundNo,
    refund_id: r.refundId,
    refund_status: r.refundStatus,
    ...(r.successTime !== undefined
      ? { success_time: r.successTime }
      : r.refundStatus === 'SUCCESS'
        ? { success_time: at.toISOString() }
        : {}),
    user_received_account: '支付用户零钱',
    amount: {
      total: r.amount.total,
      refund: r.amount.refund,
      payer_total: r.amount.total,
      payer_refund: r.amount.refund,
      currency: r.amount.currency,
    },
  };
}

/**
 * The ledger's evidence reader in a test world with the sandbox: platform certificates from the
 * archive (which the world's WeChat clients fill, as in production), and the sandbox's public key
 * whenever it has one — looked up at each check, since tests switch to it midway.
 */
export function sandboxEvidence(
  pool: Queryable,
  sandbox: Pick<Sandbox, 'keys' | 'merchant'>,
  apiV3Key: string = (sandbox.merchant as { apiV3Key: string }).apiV3Key,
): EvidenceReader {
  const archived = archiveEvidenceReader({ pool, apiV3Key }).keys;
  const keyAt: KeyAt = async (serial, timestamp) => {
    const pk = sandbox.keys().publicKey;
    if (pk && serial === pk.id) return toPublicKey(pk.publicKeyPem);
    return archived.keyAt(serial, timestamp);
  };
  return new EvidenceReader({ keyAt, apiV3Key });
}

/**
 * The WeChat Pay client of the sandbox's merchant, started (certificates loaded). With `archive`,
 * every certificate download is archived there, as the production components do for the ledger.
 */
export async function sandboxClient(
  sandbox: Pick<Sandbox, 'url' | 'merchant'>,
  opts: Partial<WeChatPayClientOptions> & { archive?: Queryable } = {},
): Promise<WeChatPayClient> {
  const m = sandbox.merchant as NonNullable<Sandbox['merchant']>;
  const { archive, ...overrides } = opts;
  const client = new WeChatPayClient({
    mchid: m.mchid,
    merchantSerialNo: m.certificateSerial,
    privateKey: m.privateKey,
    apiV3Key: m.apiV3Key,
    baseUrls: [sandbox.url],
    allowInsecureHttp: true,
    retries: 0,
    timeoutMs: 3000,
    ...(archive ? { onCertificates: certificateArchiver(archive, () => {}) } : {}),
    ...overrides,
  });
  await client.start();
  return client;
}
