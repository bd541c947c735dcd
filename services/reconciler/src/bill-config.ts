import { durationMsFromEnv, intFromEnv } from '@paysync/config';
import { z } from 'zod';

/** The trade-bill run's settings (`paysync-reconciler bill`), part of the reconciler's environment. */
export const billEnvShape = {
  RECONCILER_BILL_HOLD_DAYS: intFromEnv({ min: 1, max: 7 })
    .default(1)
    .describe(
      'A payment or reversal here that a bill lacks is held this many later bills (the midnight boundary) before it is critical.',
    ),
  RECONCILER_BILL_MAX_DIFFERENCES: intFromEnv({ min: 1, max: 1_000_000 })
    .default(10_000)
    .describe('A bill run finding more differences fails instead (the wrong merchant’s bill or database).'),
  RECONCILER_BILL_ARCHIVE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Keep a copy of every verified bill file here (its SHA-1 and location are always recorded).'),
  RECONCILER_BILL_RETRY_INTERVAL: durationMsFromEnv
    .default(30 * 60_000)
    .describe('While WeChat answers STATEMENT_CREATING, ask again after this long (WeChat: about 30 min).'),
  RECONCILER_BILL_DEADLINE: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'expected HH:MM (Beijing time)' })
    .default('12:00')
    .describe(
      'Beijing time after which a bill still being made is not waited for: the run fails (and alerts).',
    ),
  RECONCILER_BILL_PUSHGATEWAY_JOB: z
    .string()
    .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
    .default('paysync_reconciler_bill')
    .describe('Pushgateway job name of the bill run’s metrics.'),
};
