import { z } from 'zod';

// Reusable environment-variable field types. Environment values are strings; these parse them
// into the types services use, with messages that say what was expected.

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export const boolFromEnv = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => TRUE.has(v) || FALSE.has(v), { message: 'expected true or false' })
  .transform((v) => TRUE.has(v));

export const intFromEnv = (opts: { min?: number; max?: number } = {}) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'expected an integer' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(opts.min ?? Number.MIN_SAFE_INTEGER)
        .max(opts.max ?? Number.MAX_SAFE_INTEGER),
    );

export const portFromEnv = intFromEnv({ min: 0, max: 65535 });

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration like `250ms`, `30s`, `5m` or `2h` into milliseconds. */
export const durationMsFromEnv = z
  .string()
  .trim()
  .regex(DURATION, { message: 'expected a duration such as 250ms, 30s, 5m or 2h' })
  .transform((v) => {
    const [, amount, unit] = DURATION.exec(v) as RegExpExecArray;
    return Math.round(Number(amount) * (UNIT_MS[unit as string] ?? 1));
  });

/** A comma-separated list: items trimmed, empty items dropped (`a, b,` is `['a', 'b']`). */
export const listFromEnv = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** A comma-separated list of `host:port` pairs. */
export const brokerListFromEnv = listFromEnv.pipe(
  z
    .array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, { message: 'expected host:port' }))
    .min(1, { message: 'expected at least one host:port' }),
);

/** A mysql:// URL. Its password is never echoed in error messages. */
export const mysqlUrlFromEnv = z
  .string()
  .trim()
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return (
          (u.protocol === 'mysql:' || u.protocol === 'mariadb:') && u.hostname !== '' && u.pathname.length > 1
        );
      } catch {
        return false;
      }
    },
    { message: 'expected mysql://user:password@host:port/database' },
  );

export const logLevelFromEnv = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const nodeEnvFromEnv = z.enum(['production', 'development', 'test']);
