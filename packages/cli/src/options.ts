import { durationMsFromEnv } from '@paysync/config';
import { type OrderStatus, orderStatus } from '@paysync/contracts';
import { UsageError } from './errors.ts';
import type { Io } from './io.ts';

/** Stands for the actor of a dry run nobody named: a dry run records nothing. */
export const DRY_RUN_ACTOR = 'dry-run';

/**
 * Who is acting: --actor, else $PAYCTL_ACTOR, else the login name. Recorded in every audit record
 * and observation. A dry run changes and records nothing, so it needs no name (a pod has no $USER).
 */
export function actorOf(io: Io, flag: string | undefined, dryRun = false): string {
  const actor = (flag ?? io.env.PAYCTL_ACTOR ?? io.env.USER ?? io.env.LOGNAME ?? '').trim();
  if (actor === '' && dryRun) return DRY_RUN_ACTOR;
  if (actor === '')
    throw new UsageError(
      'cannot tell who you are ($USER is unset, as in a pod): pass --actor <your name> or set PAYCTL_ACTOR',
    );
  if (actor.length > 128) throw new UsageError('--actor is longer than 128 characters');
  return actor;
}

/** A change needs a reason (the audit log refuses one without); a dry run does not. */
export function reasonFor(dryRun: boolean, reason: string | undefined): string | undefined {
  const r = reason?.trim();
  if (!dryRun && !r)
    throw new UsageError(
      '--reason is required for every change (it goes into the audit log); or use --dry-run',
    );
  if (r && r.length > 1024) throw new UsageError('--reason is longer than 1024 characters');
  return r || undefined;
}

export function duration(flag: string, value: string): number {
  const parsed = durationMsFromEnv.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag}: expected a duration such as 500ms, 15s, 5m`);
  return parsed.data;
}

export function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag}: expected an integer from 1 to ${max}`);
  return n;
}

/** An absolute time (ISO 8601 / RFC 3339), `now`, or a duration ago such as `2h`. */
export function timeArg(flag: string, value: string, now = new Date()): Date {
  if (value === 'now') return now;
  const ago = durationMsFromEnv.safeParse(value);
  if (ago.success) return new Date(now.getTime() - ago.data);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new UsageError(
      `${flag}: expected a time such as 2026-05-01T08:00:00+08:00, "now", or a duration ago such as 2h`,
    );
  }
  return new Date(value);
}

export function statusArg(value: string): OrderStatus {
  const parsed = orderStatus.safeParse(value);
  if (!parsed.success) throw new UsageError(`--status: one of ${orderStatus.options.join(', ')}`);
  return parsed.data;
}
