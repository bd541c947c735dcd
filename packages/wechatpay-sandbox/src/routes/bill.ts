import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type BillFaults, billFaultsPatchSchema, defaultBillFaults } from '../bill-faults.ts';
import { type BillLine, paymentLine, refundLine, tradeBillText } from '../bill-file.ts';
import { invalidRequest, noAuth, paramError, SandboxError } from '../errors.ts';
import type { RouteContext, Router } from '../http/router.ts';
import type { OrderStore } from '../orders.ts';
import { randomAlphanumeric, randomDigits } from '../random.ts';
import type { Clock } from '../time.ts';
import { body } from './control.ts';

const BILL_DATE = /^\d{4}-\d{2}-\d{2}$/;
const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;

interface Issued {
  mchid: string;
  expiresAt: number;
  bytes: Buffer;
}

/** The bill lines of one merchant's Beijing day, made from the sandbox's own orders and refunds. */
function billLines(store: OrderStore, mchid: string, billDate: string, faults: BillFaults): BillLine[] {
  const start = Date.parse(`${billDate}T00:00:00Z`) - BEIJING_OFFSET_MS;
  const inDay = (ms: number | undefined) => ms !== undefined && ms >= start && ms < start + DAY_MS;
  const lines: BillLine[] = [];
  for (const order of store.list()) {
    if (order.mchid !== mchid) continue;
    // A refund adds a row; it never changes the payment's row (the order stays paid in the bill).
    const paid =
      order.transactionId !== undefined && (order.tradeState === 'SUCCESS' || order.tradeState === 'REFUND');
    if (paid && inDay(order.successTime) && !faults.omitOutTradeNos.includes(order.outTradeNo))
      lines.push(paymentLine(order));
    for (const refund of order.refunds) if (inDay(refund.createTime)) lines.push(refundLine(order, refund));
  }
  const template = store.list().find((o) => o.mchid === mchid);
  for (let i = 0; i < faults.extraPayments; i++) {
    const line = paymentLine({
      mchid,
      appid: template?.appid ?? 'wx0000000000000000',
      tradeType: 'NATIVE',
      description: 'extra',
      attach: undefined,
      payerOpenid: `o${randomAlphanumeric(27)}`,
      bankType: 'OTHERS',
      outTradeNo: `SANDBOXEXTRA${billDate.replaceAll('-', '')}${String(i).padStart(6, '0')}`,
      transactionId: `42000${randomDigits(23)}`,
      total: faults.extraPaymentAmount,
      successTime: start + 12 * 3600_000 + i * 1000,
      createdAt: start,
    });
    lines.push(line);
  }
  return lines;
}

/**
 * Trade bills: `GET /v3/bill/tradebill` (signed both ways) issues a download URL that expires, and
 * `GET /v3/billdownload/file` (signed request, unsigned answer) serves the file, gzip when asked.
 * The control API `/sandbox/bill/faults` injects STATEMENT_CREATING, bad hashes, truncated gzip,
 * extra and missing rows.
 */
export function addBillRoutes(router: Router, store: OrderStore, clock: Clock): { faults: () => BillFaults } {
  let faults = defaultBillFaults();
  const issued = new Map<string, Issued>();

  router
    .add({
      method: 'GET',
      template: '/v3/bill/tradebill',
      kind: 'api',
      handler: (ctx: RouteContext) => {
        const billDate = ctx.query.get('bill_date') ?? '';
        const billType = ctx.query.get('bill_type') ?? 'ALL';
        const tarType = ctx.query.get('tar_type');
        if (!BILL_DATE.test(billDate) || Number.isNaN(Date.parse(billDate)))
          throw paramError('bill_date 格式不正确');
        if (billType !== 'ALL') throw paramError('沙箱只提供 bill_type=ALL');
        if (tarType !== null && tarType !== 'GZIP') throw paramError('tar_type 只能是 GZIP');
        const today = new Date(clock() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
        if (billDate > today) throw paramError('账单日期不能晚于今天');
        if (faults.statementCreatingNext > 0) {
          faults.statementCreatingNext -= 1;
          throw new SandboxError(400, 'STATEMENT_CREATING', '账单生成中');
        }
        const lines = billLines(store, ctx.merchant.mchid, billDate, faults);
        if (lines.length === 0) throw new SandboxError(400, 'NO_STATEMENT_EXIST', '账单不存在');
        const text = tradeBillText(lines);
        let hash = createHash('sha1').update(text).digest('hex');
        if (faults.badHashNext > 0) {
          faults.badHashNext -= 1;
          hash = createHash('sha1').update(hash).digest('hex');
        }
        const gzip = tarType === 'GZIP';
        let bytes = gzip ? gzipSync(text) : text;
        if (gzip && faults.truncateGzipNext > 0) {
          faults.truncateGzipNext -= 1;
          bytes = bytes.subarray(0, Math.max(2, bytes.length - 32));
        }
        const token = randomAlphanumeric(32);
        issued.set(token, { mchid: ctx.merchant.mchid, expiresAt: clock() + faults.urlTtlMs, bytes });
        const origin = `http://${ctx.headers.host ?? '127.0.0.1'}`;
        return {
          status: 200,
          body: {
            hash_type: 'SHA1',
            hash_value: hash,
            download_url: `${origin}/v3/billdownload/file?token=${token}${gzip ? '&tartype=gzip' : ''}`,
          },
        };
      },
    })
    .add({
      method: 'GET',
      template: '/v3/billdownload/file',
      kind: 'api',
      handler: (ctx: RouteContext) => {
        const found = issued.get(ctx.query.get('token') ?? '');
        if (!found || found.expiresAt <= clock()) throw invalidRequest('下载链接已过期或无效，请重新申请');
        if (found.mchid !== ctx.merchant.mchid) throw noAuth('无权下载其他商户的账单');
        // Bytes, not JSON: the server sends them as they are, without Wechatpay-* signature headers.
        return { status: 200, body: found.bytes };
      },
    });

  const control = (method: string, handler: (ctx: RouteContext) => unknown) =>
    router.add({
      method,
      template: '/sandbox/bill/faults',
      kind: 'control',
      handler: (ctx) => ({ status: 200, body: handler(ctx) }),
    });
  control('GET', () => faults);
  control('POST', (ctx) => {
    faults = { ...faults, ...body(billFaultsPatchSchema, ctx) } as BillFaults;
    return faults;
  });
  control('DELETE', () => {
    faults = defaultBillFaults();
    return faults;
  });
  return { faults: () => faults };
}
