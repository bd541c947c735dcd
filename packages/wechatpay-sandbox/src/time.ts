import { type Clock, systemClock } from '@paysync/contracts';

export { type Clock, systemClock };

const BEIJING_OFFSET_MS = 8 * 3600_000;

/** RFC 3339 in Beijing time, as WeChat writes times: `2024-05-20T13:29:35+08:00`. */
export function beijingTime(ms: number): string {
  const shifted = new Date(Math.floor(ms / 1000) * 1000 + BEIJING_OFFSET_MS).toISOString();
  return `${shifted.slice(0, 19)}+08:00`;
}

/** `yyyymmdd` of a moment in Beijing time (used inside generated transaction ids). */
export function beijingDate(ms: number): string {
  return beijingTime(ms).slice(0, 10).replaceAll('-', '');
}

export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** WeChat's notification retry intervals after a failed delivery: 15 retries, 24 h 4 min in all. */
export const NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  15_000,
  15_000,
  30_000,
  3 * 60_000,
  10 * 60_000,
  20 * 60_000,
  30 * 60_000,
  30 * 60_000,
  30 * 60_000,
  60 * 60_000,
  3 * 3600_000,
  3 * 3600_000,
  3 * 3600_000,
  6 * 3600_000,
  6 * 3600_000,
]);
