import { z } from 'zod';
import { paramError } from '../errors.ts';
import { faultsPatchSchema } from '../faults.ts';
import type { RouteContext, RouteResult, Router } from '../http/router.ts';
import type { Sandbox } from '../sandbox.ts';
import { issueDetail, outRefundNoSchema } from '../schemas.ts';

const mchid = z.string().min(1).optional();
const paySchema = z.strictObject({
  mchid,
  openid: z.string().min(1).max(128).optional(),
  payerTotal: z.number().int().min(0).optional(),
  bankType: z.string().min(1).optional(),
});
const refSchema = z.strictObject({ mchid });
const refundSchema = z.strictObject({
  mchid,
  outRefundNo: outRefundNoSchema.optional(),
  amount: z.number().int().min(1).optional(),
  reason: z.string().max(80).optional(),
  notifyUrl: z.url().optional(),
  status: z.enum(['SUCCESS', 'ABNORMAL', 'CLOSED', 'PROCESSING']).optional(),
  notify: z.boolean().optional(),
});
const settleSchema = z.strictObject({
  mchid,
  status: z.enum(['SUCCESS', 'ABNORMAL', 'CLOSED']),
  notify: z.boolean().optional(),
});
const rotateSchema = z.strictObject({
  activate: z.enum(['now', 'manual']).optional(),
  retirePrevious: z.boolean().optional(),
});
const activateSchema = z.strictObject({ retirePrevious: z.boolean().optional() });
const publicKeySchema = z.strictObject({ only: z.boolean().optional() });
const qpsSchema = z.strictObject({ qps: z.number().min(0) });

export function body<T extends z.ZodType>(schema: T, ctx: RouteContext): z.output<T> {
  let value: unknown = {};
  if (ctx.body.length > 0) {
    try {
      value = JSON.parse(ctx.body.toString('utf8'));
    } catch {
      throw paramError('body is not JSON');
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) throw paramError('invalid control request', issueDetail(result.error));
  return result.data;
}

const ok = (value: unknown): RouteResult => ({ status: 200, body: value });
const orderNo = (ctx: RouteContext) => ctx.params.out_trade_no as string;
const refundNo = (ctx: RouteContext) => ctx.params.out_refund_no as string;
const queryRef = (ctx: RouteContext) => {
  const value = ctx.query.get('mchid');
  return value === null ? {} : { mchid: value };
};

/** The sandbox's own JSON API under /sandbox: the same functions the Sandbox object offers. */
export function addControlRoutes(router: Router, sandbox: Sandbox): void {
  const control = (method: string, template: string, handler: (ctx: RouteContext) => unknown) =>
    router.add({ method, template, kind: 'control', handler: async (ctx) => ok(await handler(ctx)) });

  control('GET', '/sandbox/healthz', () => ({ ok: true }));
  control('GET', '/sandbox/merchants', () =>
    sandbox.merchants.map((m) => ({
      mchid: m.mchid,
      appids: m.appids,
      certificateSerial: m.certificateSerial,
    })),
  );
  control('GET', '/sandbox/keys', () => sandbox.keys());
  control('GET', '/sandbox/orders', () => ({ orders: sandbox.orders() }));
  control('GET', '/sandbox/orders/:out_trade_no', (ctx) => sandbox.order(orderNo(ctx), queryRef(ctx)));
  control('POST', '/sandbox/orders/:out_trade_no/pay', (ctx) =>
    sandbox.pay(orderNo(ctx), body(paySchema, ctx)),
  );
  control('POST', '/sandbox/orders/:out_trade_no/fail', (ctx) =>
    sandbox.fail(orderNo(ctx), body(refSchema, ctx)),
  );
  control('POST', '/sandbox/orders/:out_trade_no/userpaying', (ctx) =>
    sandbox.userPaying(orderNo(ctx), body(refSchema, ctx)),
  );
  control('POST', '/sandbox/orders/:out_trade_no/close', (ctx) =>
    sandbox.closeOrder(orderNo(ctx), body(refSchema, ctx)),
  );
  control('POST', '/sandbox/orders/:out_trade_no/refund', (ctx) =>
    sandbox.refund(orderNo(ctx), body(refundSchema, ctx)),
  );
  control('GET', '/sandbox/refunds', () => ({ refunds: sandbox.refunds() }));
  control('GET', '/sandbox/refunds/:out_refund_no', (ctx) => sandbox.getRefund(refundNo(ctx), queryRef(ctx)));
  control('POST', '/sandbox/refunds/:out_refund_no/settle', (ctx) =>
    sandbox.settleRefund(refundNo(ctx), body(settleSchema, ctx)),
  );
  control('GET', '/sandbox/notifications', (ctx) => {
    const outTradeNo = ctx.query.get('out_trade_no');
    const outRefundNo = ctx.query.get('out_refund_no');
    return {
      notifications: sandbox.notifications({
        ...(outTradeNo === null ? {} : { outTradeNo }),
        ...(outRefundNo === null ? {} : { outRefundNo }),
      }),
    };
  });
  control('POST', '/sandbox/idle', async () => {
    await sandbox.idle();
    return { idle: true };
  });
  control('GET', '/sandbox/counters', () => sandbox.counters());
  control('POST', '/sandbox/counters/reset', () => {
    sandbox.resetCounters();
    return sandbox.counters();
  });
  control('GET', '/sandbox/faults', () => sandbox.faults());
  control('PATCH', '/sandbox/faults', (ctx) => sandbox.setFaults(body(faultsPatchSchema, ctx)));
  control('POST', '/sandbox/faults', (ctx) => sandbox.setFaults(body(faultsPatchSchema, ctx)));
  control('DELETE', '/sandbox/faults', () => sandbox.resetFaults());
  control('POST', '/sandbox/rate-limit', (ctx) => {
    const { qps } = body(qpsSchema, ctx);
    sandbox.setQueryQps(qps);
    return { qps };
  });
  control('POST', '/sandbox/certificates/rotate', (ctx) =>
    sandbox.rotateCertificate(body(rotateSchema, ctx)),
  );
  control('POST', '/sandbox/certificates/:serial_no/activate', (ctx) => {
    sandbox.activateCertificate(ctx.params.serial_no as string, body(activateSchema, ctx));
    return sandbox.keys();
  });
  control('POST', '/sandbox/public-key', (ctx) => sandbox.usePublicKey(body(publicKeySchema, ctx)));
  control('POST', '/sandbox/certificate-mode', () => {
    sandbox.useCertificate();
    return sandbox.keys();
  });
}
