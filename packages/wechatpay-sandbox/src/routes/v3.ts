import { aesGcmEncrypt } from '@paysync/wechatpay';
import type { z } from 'zod';
import { invalidRequest, orderNotExist, paramError, resourceNotExists, systemError } from '../errors.ts';
import type { RouteContext, Router } from '../http/router.ts';
import type { Operations } from '../operations.ts';
import type { TradeType } from '../order-types.ts';
import type { Platform } from '../platform.ts';
import { randomAlphanumeric } from '../random.ts';
import {
  applyAbnormalRefundSchema,
  closeSchema,
  issueDetail,
  jsapiPrepaySchema,
  nativePrepaySchema,
  outRefundNoSchema,
  outTradeNoSchema,
  type PrepayRequest,
  refundSchema,
} from '../schemas.ts';
import { beijingTime } from '../time.ts';
import { refundApiView, transactionResource } from '../views.ts';

export interface V3Options {
  /** Accept http:// notify URLs (loopback tests and the local demo). WeChat itself requires https. */
  allowInsecureNotifyUrl: boolean;
}

function json(ctx: RouteContext): unknown {
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw paramError('请求体不是合法的JSON');
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw paramError('输入源“/body”映射到值字段不合法', issueDetail(result.error));
  return result.data;
}

function requireMchid(ctx: RouteContext): string {
  const mchid = ctx.query.get('mchid');
  if (!mchid) throw paramError('缺少参数 mchid');
  if (mchid !== ctx.merchant.mchid) throw paramError('mchid 与请求签名的商户号不一致');
  return mchid;
}

/** WeChat Pay APIv3 routes: every one is called with a verified merchant signature. */
export function addV3Routes(router: Router, ops: Operations, platform: Platform, options: V3Options): void {
  const prepay = (tradeType: TradeType) => (ctx: RouteContext) => {
    const schema = tradeType === 'JSAPI' ? jsapiPrepaySchema : nativePrepaySchema;
    const request = parse(schema, json(ctx)) as PrepayRequest;
    if (request.mchid !== ctx.merchant.mchid) throw paramError('mchid 与请求签名的商户号不一致');
    if (!ctx.merchant.appids.includes(request.appid)) throw invalidRequest('appid和mch_id不匹配');
    if (!request.notify_url.startsWith('https://') && !options.allowInsecureNotifyUrl)
      throw paramError('notify_url 必须是 https 地址');
    const { order } = ops.store.prepay(tradeType, request);
    return {
      status: 200,
      body: tradeType === 'JSAPI' ? { prepay_id: order.prepayId } : { code_url: order.codeUrl },
    };
  };

  router
    .add({
      method: 'GET',
      template: '/v3/certificates',
      kind: 'api',
      handler: (ctx) => {
        if (!platform.certificatesServed)
          throw resourceNotExists('无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥');
        const data = platform.certificates.map((cert) => {
          const nonce = randomAlphanumeric(12);
          return {
            serial_no: cert.serialNo,
            effective_time: beijingTime(cert.effectiveTime),
            expire_time: beijingTime(cert.expireTime),
            encrypt_certificate: {
              algorithm: 'AEAD_AES_256_GCM',
              nonce,
              associated_data: 'certificate',
              ciphertext: aesGcmEncrypt(ctx.merchant.apiV3Key, nonce, 'certificate', cert.certificatePem),
            },
          };
        });
        return { status: 200, body: { data } };
      },
    })
    .add({ method: 'POST', template: '/v3/pay/transactions/native', kind: 'api', handler: prepay('NATIVE') })
    .add({ method: 'POST', template: '/v3/pay/transactions/jsapi', kind: 'api', handler: prepay('JSAPI') })
    .add({
      method: 'GET',
      template: '/v3/pay/transactions/out-trade-no/:out_trade_no',
      kind: 'api',
      query: true,
      handler: (ctx) => {
        const mchid = requireMchid(ctx);
        const outTradeNo = ctx.params.out_trade_no as string;
        if (!outTradeNoSchema.safeParse(outTradeNo).success) throw paramError('out_trade_no 格式错误');
        const order = ops.store.get(mchid, outTradeNo);
        if (!order) throw orderNotExist();
        return { status: 200, body: transactionResource(order) };
      },
    })
    .add({
      method: 'GET',
      template: '/v3/pay/transactions/id/:transaction_id',
      kind: 'api',
      query: true,
      handler: (ctx) => {
        const mchid = requireMchid(ctx);
        const order = ops.store.getByTransactionId(mchid, ctx.params.transaction_id as string);
        if (!order) throw orderNotExist();
        return { status: 200, body: transactionResource(order) };
      },
    })
    .add({
      method: 'POST',
      template: '/v3/pay/transactions/out-trade-no/:out_trade_no/close',
      kind: 'api',
      handler: (ctx) => {
        const { mchid } = parse(closeSchema, json(ctx));
        if (mchid !== ctx.merchant.mchid) throw paramError('mchid 与请求签名的商户号不一致');
        const order = ops.store.get(mchid, ctx.params.out_trade_no as string);
        if (!order) throw orderNotExist();
        ops.store.close(order);
        return { status: 204 };
      },
    })
    .add({
      method: 'POST',
      template: '/v3/refund/domestic/refunds',
      kind: 'api',
      handler: (ctx) => {
        const faults = ops.faults;
        if (faults.refundSystemErrorNext > 0) {
          faults.refundSystemErrorNext -= 1;
          ops.counters.faults.refundSystemErrors += 1;
          throw systemError();
        }
        const request = parse(refundSchema, json(ctx));
        const mchid = ctx.merchant.mchid;
        // Only a paid order has a transaction (found by transaction_id); an unpaid one is "订单不存在".
        const order =
          request.transaction_id !== undefined
            ? ops.store.getByTransactionId(mchid, request.transaction_id)
            : ops.store.get(mchid, request.out_trade_no as string);
        if (!order) throw resourceNotExists('订单不存在');
        if (request.amount.total !== order.total) throw invalidRequest('订单金额与原订单金额不一致');
        if (
          request.notify_url &&
          !request.notify_url.startsWith('https://') &&
          !options.allowInsecureNotifyUrl
        )
          throw paramError('notify_url 必须是 https 地址');
        const { refund } = ops.createRefund(order, {
          outRefundNo: request.out_refund_no,
          amount: request.amount.refund,
          ...(request.reason === undefined ? {} : { reason: request.reason }),
          ...(request.notify_url === undefined ? {} : { notifyUrl: request.notify_url }),
        });
        if (faults.loseNextRefundAnswers > 0) {
          // WeChat accepted the refund; the answer never reaches the merchant.
          faults.loseNextRefundAnswers -= 1;
          ops.counters.faults.refundAnswersLost += 1;
          if (faults.lostRefundAnswer === 'reset') return { status: 500, reset: true };
          return { status: 500, body: systemError().toBody(), unsigned: true };
        }
        return { status: 200, body: refundApiView(order, refund) };
      },
    })
    .add({
      method: 'GET',
      template: '/v3/refund/domestic/refunds/:out_refund_no',
      kind: 'api',
      handler: (ctx) => {
        const outRefundNo = ctx.params.out_refund_no as string;
        if (!outRefundNoSchema.safeParse(outRefundNo).success) throw paramError('out_refund_no 格式错误');
        const found = ops.store.getRefund(ctx.merchant.mchid, outRefundNo);
        if (!found) throw resourceNotExists('退款单不存在');
        return { status: 200, body: refundApiView(found.order, found.refund) };
      },
    })
    .add({
      method: 'POST',
      template: '/v3/refund/domestic/refunds/:refund_id/apply-abnormal-refund',
      kind: 'api',
      handler: (ctx) => {
        const request = parse(applyAbnormalRefundSchema, json(ctx));
        const found = ops.store.getRefund(ctx.merchant.mchid, request.out_refund_no);
        if (!found || found.refund.refundId !== ctx.params.refund_id) throw resourceNotExists('退款单不存在');
        ops.applyAbnormalRefund(found.order, found.refund, {
          type: request.type,
          bankType: request.bank_type,
        });
        return { status: 200, body: refundApiView(found.order, found.refund) };
      },
    });
}
