import { randomInt } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * A new out_trade_no: `RC`, the UTC time to the second, and 14 random characters (about 71 bits),
 * 30 characters in all — inside WeChat's 6–32 of `[0-9A-Za-z_-|*]`, sortable by creation time.
 */
export function newOutTradeNo(now: Date = new Date(), random: (n: number) => number = randomInt): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  let suffix = '';
  for (let i = 0; i < 14; i += 1) suffix += ALPHABET[random(ALPHABET.length)];
  return `RC${stamp}${suffix}`;
}
