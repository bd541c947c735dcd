import type { KeyObject } from 'node:crypto';
import { buildNotificationBody, buildSignedHeaders, encryptResource } from '../../src/index.ts';
import { API_V3_KEY } from './keys.ts';

export const NOW_MS = Date.UTC(2026, 0, 15, 4, 0, 0);
export const NOW_S = Math.floor(NOW_MS / 1000);
export const clock = (): number => NOW_MS;

export function transactionResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: 'wxd678efh567hg6787',
    mchid: '1230000109',
    out_trade_no: 'RECHARGE_ORDER_000123',
    transaction_id: '4200000000202601150000000001',
    trade_type: 'JSAPI',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'CMC',
    attach: '',
    success_time: '2026-01-15T12:00:00+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' },
    ...overrides,
  };
}

export interface MadeNotification {
  headers: Record<string, string>;
  body: string;
}

export function makeNotification(options: {
  privateKey: KeyObject;
  serial: string;
  data?: unknown;
  eventType?: string;
  originalType?: string;
  timestamp?: number;
  apiV3Key?: string;
  nonce?: string;
}): MadeNotification {
  const originalType = options.originalType ?? 'transaction';
  const body = buildNotificationBody({
    id: 'EV-2018022511223320873',
    createTime: '2026-01-15T12:00:01+08:00',
    eventType: options.eventType ?? 'TRANSACTION.SUCCESS',
    resource: encryptResource({
      apiV3Key: options.apiV3Key ?? API_V3_KEY,
      originalType,
      data: options.data ?? transactionResource(),
    }),
  });
  const headers = buildSignedHeaders({
    privateKey: options.privateKey,
    serial: options.serial,
    body,
    timestamp: options.timestamp ?? NOW_S,
    ...(options.nonce ? { nonce: options.nonce } : {}),
    requestId: '08F78BB5AF0610D302A2DB0F2C0000000000',
  });
  return { headers, body };
}
