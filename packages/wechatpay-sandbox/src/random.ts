import { randomBytes } from 'node:crypto';

/** A number in [0, 1). Injected so fault decisions (drop, duplicate, 429 share) are reproducible. */
export type Random = () => number;

/** mulberry32: a tiny seeded PRNG; good enough to pick which notifications a fault hits. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decimal digits from a CSPRNG (ids only; never used for decisions tests depend on). */
export function randomDigits(count: number): string {
  const bytes = randomBytes(count);
  let out = '';
  for (const byte of bytes) out += String(byte % 10);
  return out;
}

/** Upper-case alphanumerics, e.g. the 12-character resource nonce of a notification. */
export function randomAlphanumeric(count: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(count);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}
