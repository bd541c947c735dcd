import type { KeyObject } from 'node:crypto';
import { apiV3KeyBytes } from './aead.ts';
import type { BreakerState } from './breaker.ts';
import { decodeCertificatesBody, type PlatformCertificate } from './certificates.ts';
import { WECHATPAY_HEADERS } from './constants.ts';
import {
  InvalidConfigError,
  MissingHeaderError,
  UnknownMerchantError,
  UnknownSerialError,
} from './errors.ts';
import { type SignedAnswer, signedEvidence } from './evidence.ts';
import { headerLookup } from './headers.ts';
import { buildJsapiPayParams, type JsapiPayParams } from './jsapi.ts';
import { type PublicKeyConfig, VerificationKeyStore } from './key-store.ts';
import {
  checkInput,
  type JsapiPrepayInput,
  jsapiPrepayResponseSchema,
  jsapiPrepaySchema,
  type NativePrepayInput,
  nativePrepayResponseSchema,
  nativePrepaySchema,
  outTradeNoSchema,
  prepayBody,
  transactionIdSchema,
} from './prepay.ts';
import {
  type CreateRefundInput,
  createRefundBody,
  createRefundSchema,
  outRefundNoSchema,
  parseRefundAnswer,
  type WeChatRefundAnswer,
} from './refunds.ts';
import type { RawResponse, ResponseVerifier } from './responses.ts';
import { parseJson, parseTransaction, parseWith, type WeChatTransaction } from './schemas.ts';
import { toPrivateKey } from './sign.ts';
import { type ClientStats, type PreparedRequest, Transport, type TransportOptions } from './transport.ts';
import { type Clock, type VerificationKeySource, verifySignedMessage } from './verify-message.ts';

export interface WeChatPayClientOptions extends Omit<TransportOptions, 'verifier' | 'wechatpaySerial'> {
  /** Needed to decrypt platform certificates. */
  apiV3Key?: string | Buffer;
  /** WeChat Pay public key (public-key mode). Requests then carry `Wechatpay-Serial: PUB_KEY_ID_…`. */
  publicKey?: PublicKeyConfig;
  /** Bring your own key source; otherwise the client builds a VerificationKeyStore from apiV3Key/publicKey. */
  keys?: VerificationKeySource;
  certificateRefreshIntervalMs?: number;
  unknownSerialCooldownMs?: number;
  /** Called with every certificate download (the built store's), e.g. to archive them. */
  onCertificates?: (certificates: PlatformCertificate[]) => void;
}

/** Peek-only lookup so that error responses and the certificate bootstrap never trigger a refresh. */
function peek(keys: VerificationKeySource, serial: string): KeyObject | undefined {
  const store = keys as Partial<Pick<VerificationKeyStore, 'peekKey'>>;
  return typeof store.peekKey === 'function' ? store.peekKey(serial) : undefined;
}

/**
 * Typed WeChat Pay APIv3 client: signs every request, verifies every response, retries 5xx and
 * network failures with the same signed request across the primary and backup hosts, and runs each
 * call through a circuit breaker. Throws only WeChatPayError subclasses.
 */
export class WeChatPayClient {
  readonly mchid: string;
  /** The keys responses (and, if you share them, notifications) are verified with. */
  readonly keys: VerificationKeySource;
  /** The store the client built itself, if it did (call start() to load certificates). */
  readonly keyStore: VerificationKeyStore | undefined;
  readonly #transport: Transport;
  readonly #privateKey: KeyObject;
  readonly #apiV3Key: Buffer | undefined;
  readonly #clock: Clock;

  constructor(options: WeChatPayClientOptions) {
    if (!options.mchid) throw new InvalidConfigError('mchid is required');
    this.mchid = options.mchid;
    // Parsed once: a PEM string would otherwise be parsed again for every signed request.
    this.#privateKey = toPrivateKey(options.privateKey);
    this.#apiV3Key = options.apiV3Key === undefined ? undefined : apiV3KeyBytes(options.apiV3Key);
    this.#clock = options.clock ?? Date.now;
    if (options.keys) {
      this.keys = options.keys;
      this.keyStore = options.keys instanceof VerificationKeyStore ? options.keys : undefined;
    } else {
      const store = new VerificationKeyStore({
        ...(this.#apiV3Key ? { download: () => this.downloadCertificates() } : {}),
        publicKeys: options.publicKey ? [options.publicKey] : [],
        clock: this.#clock,
        ...(options.certificateRefreshIntervalMs
          ? { refreshIntervalMs: options.certificateRefreshIntervalMs }
          : {}),
        ...(options.unknownSerialCooldownMs !== undefined
          ? { unknownSerialCooldownMs: options.unknownSerialCooldownMs }
          : {}),
        ...(options.onCertificates ? { onCertificates: options.onCertificates } : {}),
      });
      this.keys = store;
      this.keyStore = store;
    }
    const keys = this.keys;
    const clock = this.#clock;
    const verifier: ResponseVerifier = {
      success: async (raw) => {
        await verifySignedMessage(raw, { keys, clock });
      },
      error: async (raw) => {
        if (headerLookup(raw.headers)(WECHATPAY_HEADERS.signature) === undefined) return false;
        try {
          await verifySignedMessage(raw, { keys: { getKey: async (s) => peek(keys, s) }, clock });
          return true;
        } catch (error) {
          if (error instanceof UnknownSerialError || error instanceof MissingHeaderError) return false;
          throw error;
        }
      },
    };
    this.#transport = new Transport({
      ...options,
      privateKey: this.#privateKey,
      verifier,
      ...(options.publicKey ? { wechatpaySerial: options.publicKey.id } : {}),
    });
  }

  /** Loads platform certificates (if any) and starts their refresh timer. */
  async start(): Promise<void> {
    await this.keyStore?.start();
  }

  /** Stops timers, the breaker and the connection pool. */
  async close(): Promise<void> {
    this.keyStore?.stop();
    await this.#transport.close();
  }

  get breakerState(): BreakerState {
    return this.#transport.breakerState;
  }

  stats(): ClientStats {
    return this.#transport.stats();
  }

  /**
   * An order is only ever asked about with its own merchant's credentials: `mchid`, the order's
   * merchant, must be the one this client signs for (out_trade_no is unique per merchant only).
   */
  #signsFor(mchid: string | undefined): void {
    if (mchid !== undefined && mchid !== this.mchid) throw new UnknownMerchantError(mchid, this.mchid);
  }

  /**
   * `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`. Pass the order's `mchid`: an
   * order of another merchant is refused with UnknownMerchantError, before any request.
   */
  async queryByOutTradeNo(outTradeNo: string, mchid?: string): Promise<WeChatTransaction> {
    return (await this.queryOrder(outTradeNo, mchid)).transaction;
  }

  /**
   * The same query, with WeChat's signed answer kept as evidence (for an observation the ledger
   * checks itself). A 404 ORDER_NOT_EXIST is OrderNotExistError, which carries its signed answer.
   */
  async queryOrder(
    outTradeNo: string,
    mchid?: string,
  ): Promise<{ transaction: WeChatTransaction; answer: SignedAnswer }> {
    const no = checkInput(outTradeNoSchema, outTradeNo, 'out_trade_no');
    this.#signsFor(mchid);
    const path = `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}?mchid=${encodeURIComponent(this.mchid)}`;
    const raw = await this.call({
      operation: 'query_out_trade_no',
      method: 'GET',
      pathWithQuery: path,
      verify: true,
    });
    const transaction = parseTransaction(parseJson(raw.body, 'query_out_trade_no response'));
    return { transaction, answer: { status: raw.status, ...signedEvidence(raw.headers, raw.body) } };
  }

  /** `GET /v3/pay/transactions/id/{transaction_id}?mchid=` (only works once paid). */
  async queryByTransactionId(transactionId: string): Promise<WeChatTransaction> {
    const id = checkInput(transactionIdSchema, transactionId, 'transaction_id');
    const path = `/v3/pay/transactions/id/${encodeURIComponent(id)}?mchid=${encodeURIComponent(this.mchid)}`;
    return parseTransaction(
      await this.#json({
        operation: 'query_transaction_id',
        method: 'GET',
        pathWithQuery: path,
        verify: true,
      }),
    );
  }

  /** `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` → 204. Query again afterwards. */
  async closeOrder(outTradeNo: string, mchid?: string): Promise<void> {
    const no = checkInput(outTradeNoSchema, outTradeNo, 'out_trade_no');
    this.#signsFor(mchid);
    await this.call({
      operation: 'close',
      method: 'POST',
      pathWithQuery: `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}/close`,
      body: JSON.stringify({ mchid: this.mchid }),
      verify: true,
    });
  }

  /**
   * `POST /v3/refund/domestic/refunds`. WeChat refunds an out_refund_no once, however often it is
   * sent, so the transport's retries (timeouts, 5xx) and any later retry reuse the same number and
   * amount. The signed answer is kept as evidence.
   */
  async createRefund(
    input: CreateRefundInput,
    mchid?: string,
  ): Promise<{ refund: WeChatRefundAnswer; answer: SignedAnswer }> {
    const checked = checkInput(createRefundSchema, input, 'refund');
    this.#signsFor(mchid);
    const raw = await this.call({
      operation: 'refund_create',
      method: 'POST',
      pathWithQuery: '/v3/refund/domestic/refunds',
      body: createRefundBody(checked),
      verify: true,
    });
    const refund = parseRefundAnswer(parseJson(raw.body, 'refund_create response'));
    return { refund, answer: { status: raw.status, ...signedEvidence(raw.headers, raw.body) } };
  }

  /** `GET /v3/refund/domestic/refunds/{out_refund_no}`, with the signed answer kept as evidence. */
  async queryRefund(
    outRefundNo: string,
    mchid?: string,
  ): Promise<{ refund: WeChatRefundAnswer; answer: SignedAnswer }> {
    const no = checkInput(outRefundNoSchema, outRefundNo, 'out_refund_no');
    this.#signsFor(mchid);
    const raw = await this.call({
      operation: 'refund_query',
      method: 'GET',
      pathWithQuery: `/v3/refund/domestic/refunds/${encodeURIComponent(no)}`,
      verify: true,
    });
    const refund = parseRefundAnswer(parseJson(raw.body, 'refund_query response'));
    return { refund, answer: { status: raw.status, ...signedEvidence(raw.headers, raw.body) } };
  }

  /** `POST /v3/pay/transactions/native` → the QR code URL. */
  async prepayNative(input: NativePrepayInput): Promise<{ codeUrl: string }> {
    const checked = checkInput(nativePrepaySchema, input, 'native prepay');
    const body = prepayBody(this.mchid, checked);
    const json = await this.#json({
      operation: 'prepay_native',
      method: 'POST',
      pathWithQuery: '/v3/pay/transactions/native',
      body,
      verify: true,
    });
    return { codeUrl: parseWith(nativePrepayResponseSchema, json, 'native prepay response').code_url };
  }

  /** `POST /v3/pay/transactions/jsapi` → prepay_id. */
  async prepayJsapi(input: JsapiPrepayInput): Promise<{ prepayId: string }> {
    const checked = checkInput(jsapiPrepaySchema, input, 'jsapi prepay');
    const body = prepayBody(this.mchid, checked);
    const json = await this.#json({
      operation: 'prepay_jsapi',
      method: 'POST',
      pathWithQuery: '/v3/pay/transactions/jsapi',
      body,
      verify: true,
    });
    return { prepayId: parseWith(jsapiPrepayResponseSchema, json, 'jsapi prepay response').prepay_id };
  }

  /** The parameters the front end needs to pay a JSAPI prepay, signed with the merchant key. */
  jsapiPayParams(appId: string, prepayId: string): JsapiPayParams {
    return buildJsapiPayParams({
      appId,
      prepayId,
      privateKey: this.#privateKey,
      timestamp: Math.floor(this.#clock() / 1000),
    });
  }

  /**
   * `GET /v3/certificates`: decrypts each certificate, checks its serial, and verifies the response
   * signature with the keys already held or, on first download, with the certificates just received.
   */
  async downloadCertificates(): Promise<PlatformCertificate[]> {
    const apiV3Key = this.#apiV3Key;
    if (!apiV3Key) throw new InvalidConfigError('apiV3Key is needed to download platform certificates');
    const raw = await this.call({
      operation: 'certificates',
      method: 'GET',
      pathWithQuery: '/v3/certificates',
      verify: false,
    });
    const certificates = decodeCertificatesBody(raw.body, apiV3Key);
    const keys = this.keys;
    await verifySignedMessage(raw, {
      clock: this.#clock,
      keys: {
        getKey: async (serial) =>
          certificates.find((c) => c.serialNo === serial)?.publicKey ?? peek(keys, serial),
      },
    });
    return certificates;
  }

  /** Low-level: one signed call through retries, failover and the breaker. For endpoints without a helper. */
  call(req: PreparedRequest): Promise<RawResponse> {
    return this.#transport.call(req);
  }

  async #json(req: PreparedRequest): Promise<unknown> {
    const raw = await this.call(req);
    return parseJson(raw.body, `${req.operation} response`);
  }
}
