import { MalformedError } from './errors.ts';

/**
 * Values as a trade bill writes them: yuan with up to 2 decimals (the fee with up to 5), counts that
 * may read `45.0`, Beijing local times without an offset. Converted by string arithmetic, never
 * through floating point.
 */

const MONEY = /^(-?)(\d+)(?:\.(\d{1,5}))?$/;

/** `12.34` → 1234; `0.5` → 50; `-1.00` → -100. More than `decimals` decimals is an error. */
export function decimalToUnits(text: string, decimals: number, what: string): number {
  const m = MONEY.exec(text);
  if (!m) throw new MalformedError(`${what}: not an amount: ${JSON.stringify(text.slice(0, 32))}`);
  const fraction = m[3] ?? '';
  if (fraction.length > decimals) throw new MalformedError(`${what}: more than ${decimals} decimals`);
  const digits = `${m[2]}${fraction.padEnd(decimals, '0')}`;
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) throw new MalformedError(`${what}: amount out of range`);
  return m[1] === '-' && value !== 0 ? -value : value;
}

/** Yuan (at most 2 decimals) → integer fen. */
export function yuanToFen(text: string, what = 'amount'): number {
  return decimalToUnits(text, 2, what);
}

/** A fee (at most 5 decimals) → integer units of 0.00001 yuan (1000 of them make a fen). */
export function feeToMicroYuan(text: string, what = 'fee'): number {
  return decimalToUnits(text, 5, what);
}

/** Integer fen → yuan text with 2 decimals (what the bill writes). */
export function fenToYuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = String(Math.abs(fen)).padStart(3, '0');
  return `${sign}${abs.slice(0, -2)}.${abs.slice(-2)}`;
}

/** 0.00001-yuan units → fen, rounded half up (a summary's fee total is written in fen). */
export function microYuanToFen(units: number): number {
  return Math.floor((units + 500) / 1000);
}

/** `45` or `45.0` → 45. */
export function parseCount(text: string, what: string): number {
  const m = /^(\d+)(?:\.0+)?$/.exec(text);
  if (!m) throw new MalformedError(`${what}: not a count: ${JSON.stringify(text.slice(0, 32))}`);
  return Number(m[1]);
}

const BEIJING = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const BEIJING_OFFSET_MS = 8 * 3600_000;

/** `2019-02-19 05:01:46` (Beijing local time) → the UTC instant. */
export function beijingToUtc(text: string, what = 'time'): Date {
  const m = BEIJING.exec(text);
  if (!m) throw new MalformedError(`${what}: not a Beijing time: ${JSON.stringify(text.slice(0, 32))}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - BEIJING_OFFSET_MS;
  const check = new Date(ms + BEIJING_OFFSET_MS);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59)
    throw new MalformedError(`${what}: no such time: ${text}`);
  return new Date(ms);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC instants of a Beijing calendar day `YYYY-MM-DD`: [start, end). */
export function beijingDayRange(billDate: string): { start: Date; end: Date } {
  if (!DAY.test(billDate)) throw new MalformedError(`bill date must be YYYY-MM-DD: ${billDate}`);
  const start = beijingToUtc(`${billDate} 00:00:00`, 'bill date');
  return { start, end: new Date(start.getTime() + 86_400_000) };
}

/** The Beijing calendar day of an instant, `YYYY-MM-DD`. */
export function beijingDay(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** The day `days` after (or before, negative) a `YYYY-MM-DD` day. */
export function addDays(billDate: string, days: number): string {
  const { start } = beijingDayRange(billDate);
  return beijingDay(new Date(start.getTime() + days * 86_400_000));
}
