import { z } from 'zod';

/** The custom resource this operator executes (charts/paysync/crds/paymentrepairs.paysync.io.yaml). */
export const PAYMENT_REPAIR = {
  group: 'paysync.io',
  version: 'v1alpha1',
  plural: 'paymentrepairs',
  kind: 'PaymentRepair',
  apiVersion: 'paysync.io/v1alpha1',
} as const;

/** Lines kept in status.report; the audit log has every order. */
export const REPORT_LIMIT = 100;

const ORDER_STATUSES = ['pending', 'paid', 'failed', 'cancelled', 'refunded', 'expired'] as const;

/**
 * The spec as the CRD's OpenAPI schema and CEL rules allow it, checked again here: a resource written
 * before a CRD upgrade, or by someone with a hand-made CRD, must not reach the money path unchecked.
 */
export const paymentRepairSpec = z
  .strictObject({
    action: z.enum(['sync', 'close', 'replay']),
    dryRun: z.boolean(),
    reason: z
      .string()
      .max(1024)
      .refine((r) => r.trim() !== '', { message: 'reason must say why' }),
    requestedBy: z.string().max(100).optional(),
    outTradeNos: z
      .array(z.string().regex(/^[0-9A-Za-z_*|-]{6,32}$/))
      .min(1)
      .max(1000)
      .optional(),
    createdFrom: z.iso.datetime({ offset: true }).optional(),
    createdTo: z.iso.datetime({ offset: true }).optional(),
    status: z.enum(ORDER_STATUSES).optional(),
    limit: z.number().int().min(1).max(100_000).optional(),
    replayMode: z.enum(['resend', 'reapply']).optional(),
  })
  .superRefine((s, ctx) => {
    const byRange = s.createdFrom !== undefined || s.createdTo !== undefined;
    if ((s.outTradeNos !== undefined) === byRange) {
      ctx.addIssue({
        code: 'custom',
        message: 'select orders either by outTradeNos or by createdFrom/createdTo',
      });
    }
    if (byRange && (s.createdFrom === undefined || s.createdTo === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'createdFrom and createdTo go together' });
    }
    if (s.createdFrom && s.createdTo && Date.parse(s.createdFrom) >= Date.parse(s.createdTo)) {
      ctx.addIssue({ code: 'custom', message: 'createdFrom must be before createdTo' });
    }
    if (s.action === 'replay' && s.outTradeNos === undefined) {
      ctx.addIssue({ code: 'custom', message: 'replay needs outTradeNos' });
    }
    if (s.replayMode !== undefined && s.action !== 'replay') {
      ctx.addIssue({ code: 'custom', message: 'replayMode is for action replay' });
    }
  });

export type PaymentRepairSpec = z.output<typeof paymentRepairSpec>;

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export type Condition = {
  type: 'Progressing' | 'Complete' | 'Failed';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
};

export type RepairCounts = {
  selected: number;
  unknown: number;
  synced: number;
  changed: number;
  paid: number;
  closed: number;
  missedNotifications: number;
  errors: number;
  notSynced: number;
};

export type ReportLine = {
  outTradeNo: string;
  outcome: string;
  before?: string;
  wechatState?: string;
  after?: string;
  error?: string;
  auditId?: number;
};

export type PaymentRepairStatus = {
  phase?: Phase;
  observedGeneration?: number;
  message?: string;
  executedBy?: string;
  correlationId?: string;
  startedAt?: string;
  finishedAt?: string;
  counts?: RepairCounts;
  report?: ReportLine[];
  reportTruncated?: boolean;
  conditions?: Condition[];
};

/** What the operator reads of a PaymentRepair object (the API server's JSON). */
export const paymentRepairObject = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    generation: z.number().int().default(1),
    resourceVersion: z.string(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: z.unknown(),
  status: z.record(z.string(), z.unknown()).optional(),
});

export type PaymentRepairObject = z.output<typeof paymentRepairObject> & {
  status?: PaymentRepairStatus | undefined;
};

export function zeroCounts(): RepairCounts {
  return {
    selected: 0,
    unknown: 0,
    synced: 0,
    changed: 0,
    paid: 0,
    closed: 0,
    missedNotifications: 0,
    errors: 0,
    notSynced: 0,
  };
}
