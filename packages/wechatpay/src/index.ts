// Primitives: signing, verification, AES-256-GCM, Authorization.
export { type ApiV3Key, aesGcmDecrypt, aesGcmEncrypt, apiV3KeyBytes, apiV3SecretKey } from './aead.ts';
export {
  type AuthorizationFields,
  buildAuthorization,
  type ParsedAuthorization,
  parseAuthorization,
  type SignRequestInput,
  signRequest,
  signRequestAsync,
  verifyRequestSignature,
} from './authorization.ts';
// Trade bill (T+1 reconciliation): apply, download, verify, parse.
export { billChunks, billContent, isGzip } from './bill-content.ts';
export {
  applyTradeBill,
  type BillApplyAnswer,
  type BillClient,
  type BillType,
  billDigest,
  type DownloadedBill,
  downloadBill,
  fetchTradeBill,
  NoStatementError,
  StatementCreatingError,
} from './bill-download.ts';
export {
  BILL_TRADE_STATES,
  type BillTradeState,
  LEGACY_COLUMN_NAMES,
  TRADE_BILL_ALL_HEADER,
  TRADE_BILL_ALL_SUMMARY_HEADER,
} from './bill-format.ts';
export {
  BillIntegrityError,
  type ParseTradeBillOptions,
  parseTradeBill,
  TradeBillBatch,
  type TradeBillRow,
  type TradeBillTotals,
} from './bill-parse.ts';
export {
  addDays,
  beijingDay,
  beijingDayRange,
  beijingToUtc,
  feeToMicroYuan,
  fenToYuan,
  yuanToFen,
} from './bill-values.ts';
export { type BreakerOptions, type BreakerState, countsAsBreakerFailure } from './breaker.ts';
// Verification keys: platform certificates and WeChat Pay public keys.
export {
  decodeCertificatesBody,
  normaliseSerial,
  openSealedCertificate,
  type PlatformCertificate,
  platformCertificateFromPem,
  type SealedCertificate,
} from './certificates.ts';
// Client.
export { WeChatPayClient, type WeChatPayClientOptions } from './client.ts';
export {
  BACKUP_BASE_URL,
  HEADER_AUTHORIZATION,
  HEADER_REQUEST_ID,
  HEADER_WECHATPAY_NONCE,
  HEADER_WECHATPAY_SERIAL,
  HEADER_WECHATPAY_SIGNATURE,
  HEADER_WECHATPAY_SIGNATURE_TYPE,
  HEADER_WECHATPAY_TIMESTAMP,
  PRIMARY_BASE_URL,
  PUBLIC_KEY_ID_PREFIX,
  SIGNATURE_PROBE_PREFIX,
  TIMESTAMP_WINDOW_SECONDS,
  V2_SUCCESS_REPLY,
  WECHATPAY_HEADERS,
  WECHATPAY_SIGNATURE_TYPE,
} from './constants.ts';
// Configuration from the environment (the WECHATPAY_* variables every component reads).
export {
  apiV2SignTypeEnvShape,
  type CreateWeChatClientOptions,
  createWeChatClient,
  loadWeChatPaySecrets,
  readPrivateKeyFile,
  readSecretFile,
  readVerificationSecrets,
  readWeChatPaySecrets,
  sandboxSettingIssues,
  type WeChatPayEnv,
  type WeChatPayKeyFiles,
  type WeChatPaySecrets,
  type WeChatPayVerificationSecrets,
  wechatPayEnvShape,
  wechatPayPublicKey,
} from './env.ts';
export {
  type ApiErrorInfo,
  BadSignatureError,
  CertificateError,
  CircuitOpenError,
  ClientClosedError,
  DecryptFailedError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidKeyError,
  MalformedError,
  MissingHeaderError,
  NetworkError,
  OrderNotExistError,
  RateLimitedError,
  ServerError,
  StaleTimestampError,
  TimeoutError,
  UnknownMerchantError,
  UnknownSerialError,
  UnreadableNotificationError,
  UnsupportedSignatureTypeError,
  UnverifiedAnswerError,
  WECHATPAY_ERROR_CODES,
  WeChatPayApiError,
  WeChatPayError,
  type WeChatPayErrorCode,
} from './errors.ts';
// Evidence: signed messages kept for a later check (the ledger's).
export {
  exactText,
  type KeyAt,
  type SignatureHeaders,
  type SignedAnswer,
  type SignedEvidence,
  signatureHeaders,
  signedEvidence,
  verifyEvidenceSignature,
} from './evidence.ts';
export { type HeaderInput, headerLookup } from './headers.ts';
export { buildJsapiPayParams, type JsapiPayParams } from './jsapi.ts';
export {
  type KeyStoreEvent,
  type PublicKeyConfig,
  type RefreshOutcome,
  type RefreshReason,
  VerificationKeyStore,
  type VerificationKeyStoreOptions,
} from './key-store.ts';
// Sending side of WeChat's formats (sandbox, tests).
export {
  buildNotificationBody,
  buildSignedHeaders,
  type EncryptedResource,
  encryptResource,
  type NotificationBodyInput,
  type SignedHeadersInput,
} from './message-builder.ts';
// Notifications.
export {
  type DecryptedNotification,
  decryptNotification,
  type NotificationContent,
  NotificationVerifier,
  type NotificationVerifierOptions,
} from './notifications.ts';
export {
  checkNotifyUrl,
  NOTIFY_PROBE_USER_AGENT,
  type NotifyUrlCheck,
  type NotifyUrlProblem,
} from './notify-url.ts';
export {
  type JsapiPrepayInput,
  type NativePrepayInput,
  outTradeNoSchema,
  transactionIdSchema,
} from './prepay.ts';
export {
  type CreateRefundInput,
  isRefundAnswerBody,
  outRefundNoSchema,
  parseRefundAnswer,
  REFUND_ANSWER_STATUSES,
  type RefundAnswerStatus,
  refundAnswerSchema,
  type WeChatRefundAnswer,
} from './refunds.ts';
export type { CallOutcome, RawResponse } from './responses.ts';
// Wire schemas.
export {
  type NotificationEnvelope,
  notificationEnvelopeSchema,
  parseRefund,
  parseTransaction,
  REFUND_STATUSES,
  type RefundStatus,
  refundSchema,
  TRADE_STATES,
  TRADE_TYPES,
  type TradeState,
  type TradeType,
  transactionSchema,
  type WeChatRefund,
  type WeChatTransaction,
} from './schemas.ts';
export {
  messageSignString,
  randomNonce,
  requestSignString,
  rsaSign,
  rsaSignAsync,
  rsaVerify,
  rsaVerifyAsync,
  toPrivateKey,
  toPublicKey,
} from './sign.ts';
export type { ClientEvent, ClientStats, PreparedRequest } from './transport.ts';
// APIv2 (XML).
export {
  buildV2Xml,
  parseV2Xml,
  type V2Key,
  type V2Notification,
  type V2SignType,
  v2Sign,
  v2SignString,
  verifyV2Notification,
} from './v2.ts';
export {
  type Clock,
  type SignedMessage,
  type VerificationKeySource,
  type VerifiedMessage,
  type VerifyOptions,
  verifySignedMessage,
  verifySignedMessage as verifyResponse,
} from './verify-message.ts';
