/** The only signature scheme WeChat Pay APIv3 uses; an absent `Wechatpay-Signature-Type` means this. */
export const WECHATPAY_SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';

/** Header names as WeChat spells them. HTTP header names are case-insensitive on the wire. */
export const WECHATPAY_HEADERS = {
  serial: 'Wechatpay-Serial',
  signature: 'Wechatpay-Signature',
  timestamp: 'Wechatpay-Timestamp',
  nonce: 'Wechatpay-Nonce',
  signatureType: 'Wechatpay-Signature-Type',
  requestId: 'Request-ID',
  authorization: 'Authorization',
} as const;

export const HEADER_WECHATPAY_SERIAL = WECHATPAY_HEADERS.serial;
export const HEADER_WECHATPAY_SIGNATURE = WECHATPAY_HEADERS.signature;
export const HEADER_WECHATPAY_TIMESTAMP = WECHATPAY_HEADERS.timestamp;
export const HEADER_WECHATPAY_NONCE = WECHATPAY_HEADERS.nonce;
export const HEADER_WECHATPAY_SIGNATURE_TYPE = WECHATPAY_HEADERS.signatureType;
export const HEADER_REQUEST_ID = WECHATPAY_HEADERS.requestId;
export const HEADER_AUTHORIZATION = WECHATPAY_HEADERS.authorization;

/** WeChat Pay public-key ids start with this; the number of digits after it varies. */
export const PUBLIC_KEY_ID_PREFIX = 'PUB_KEY_ID_';

/** WeChat's deliberate wrong-signature probes start with this. Never special-cased: they simply fail. */
export const SIGNATURE_PROBE_PREFIX = 'WECHATPAY/SIGNTEST/';

/** Reject messages whose timestamp is this many seconds or more away from now. */
export const TIMESTAMP_WINDOW_SECONDS = 300;

export const PRIMARY_BASE_URL = 'https://api.mch.weixin.qq.com';
export const BACKUP_BASE_URL = 'https://api2.mch.weixin.qq.com';

/** APIv2 (XML) notification reply that WeChat counts as success. Anything else is retried. */
export const V2_SUCCESS_REPLY =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
