import { z } from 'zod';

const count = z.number().int().min(0);

/** Trade-bill faults, set with `POST /sandbox/bill/faults` (a partial update). */
export const billFaultsSchema = z.strictObject({
  /** The next N applies answer 400 STATEMENT_CREATING (WeChat is still making the bill). */
  statementCreatingNext: count,
  /** The next N applies answer a hash_value that does not match the file. */
  badHashNext: count,
  /** The next N downloads serve a gzip cut short. */
  truncateGzipNext: count,
  /** Payment rows WeChat has that the merchant never created (out_trade_no `SANDBOXEXTRA…`). */
  extraPayments: count,
  /** Amount (fen) of each extra payment row. */
  extraPaymentAmount: z.number().int().min(1),
  /** Orders whose payment row the bill leaves out (as if WeChat had no record of them). */
  omitOutTradeNos: z.array(z.string().min(1)),
  /** Download URLs expire this many milliseconds after the apply (WeChat: 30 s to 5 min). */
  urlTtlMs: z.number().int().min(1),
});

export type BillFaults = z.output<typeof billFaultsSchema>;
export const billFaultsPatchSchema = billFaultsSchema.partial();

export function defaultBillFaults(): BillFaults {
  return {
    statementCreatingNext: 0,
    badHashNext: 0,
    truncateGzipNext: 0,
    extraPayments: 0,
    extraPaymentAmount: 100,
    omitOutTradeNos: [],
    urlTtlMs: 30_000,
  };
}
