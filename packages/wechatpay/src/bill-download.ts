import { createHash } from 'node:crypto';
import { z } from 'zod';
import { billChunks, isGzip } from './bill-content.ts';
import { BillIntegrityError } from './bill-parse.ts';
import { beijingDayRange } from './bill-values.ts';
import { InvalidArgumentError, MalformedError, WeChatPayApiError, WeChatPayError } from './errors.ts';
import type { RawResponse } from './responses.ts';
import { parseJson, parseWith } from './schemas.ts';
import type { PreparedRequest } from './transport.ts';

/** What the bill calls need of WeChatPayClient: one signed call. */
export interface BillClient {
  call(req: PreparedRequest): Promise<RawResponse>;
}

export type BillType = 'ALL' | 'SUCCESS' | 'REFUND';

/** WeChat is still making the bill (`STATEMENT_CREATING`): ask again in about 30 minutes. */
export class StatementCreatingError extends WeChatPayError {
  constructor() {
    super('STATEMENT_CREATING', 'WeChat Pay is still making this bill; ask again in about 30 minutes');
  }
}

/** `NO_STATEMENT_EXIST`: no payment and no refund that day. */
export class NoStatementError extends WeChatPayError {
  /** Whether the answer carried a signature that verified. */
  readonly verified: boolean;

  constructor(verified: boolean) {
    super('NO_STATEMENT_EXIST', 'WeChat Pay has no bill for this day (no payment and no refund)');
    this.verified = verified;
  }
}

const applyAnswerSchema = z.looseObject({
  download_url: z.string().min(1),
  hash_type: z.literal('SHA1'),
  hash_value: z.string().regex(/^[0-9a-fA-F]{40}$/),
});

export interface BillApplyAnswer {
  downloadUrl: string;
  hashType: 'SHA1';
  hashValue: string;
}

/** A downloaded bill whose SHA-1 matched: the bytes as received, and what they decompress to. */
export interface DownloadedBill {
  billDate: string;
  billType: BillType;
  /** The body as received (gzip or plain). */
  body: Buffer;
  gzip: boolean;
  /** SHA-1 (hex) of the decompressed bytes, equal to the apply answer's hash_value. */
  sha1: string;
  /** Size of the decompressed bytes. */
  size: number;
  /** Where it was downloaded from, without the query (the token is a credential). */
  location: string;
}

/**
 * `GET /v3/bill/tradebill?bill_date&bill_type&tar_type=GZIP`, signed both ways. Throws
 * StatementCreatingError or NoStatementError for those two answers.
 */
export async function applyTradeBill(
  client: BillClient,
  billDate: string,
  billType: BillType = 'ALL',
): Promise<BillApplyAnswer> {
  beijingDayRange(billDate); // refuses anything but YYYY-MM-DD
  const path = `/v3/bill/tradebill?bill_date=${billDate}&bill_type=${billType}&tar_type=GZIP`;
  let raw: RawResponse;
  try {
    raw = await client.call({ operation: 'bill_apply', method: 'GET', pathWithQuery: path, verify: true });
  } catch (err) {
    if (err instanceof WeChatPayApiError && err.wechatCode === 'STATEMENT_CREATING')
      throw new StatementCreatingError();
    if (err instanceof WeChatPayApiError && err.wechatCode === 'NO_STATEMENT_EXIST')
      throw new NoStatementError(err.verified);
    throw err;
  }
  const answer = parseWith(
    applyAnswerSchema,
    parseJson(raw.body, 'bill apply response'),
    'bill apply response',
  );
  return { downloadUrl: answer.download_url, hashType: 'SHA1', hashValue: answer.hash_value.toLowerCase() };
}

/** The download URL's path and query exactly as given (what is signed and sent). */
function downloadPath(downloadUrl: string): { pathWithQuery: string; location: string } {
  let url: URL;
  try {
    url = new URL(downloadUrl);
  } catch {
    throw new MalformedError('download_url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new MalformedError('download_url is not http(s)');
  // Exactly as given: the raw text after the origin, not URL's re-encoding of it.
  const afterOrigin = downloadUrl.slice(downloadUrl.indexOf('/', url.protocol.length + 2));
  return { pathWithQuery: afterOrigin, location: `${url.origin}${url.pathname}` };
}

/**
 * SHA-1 and size of the decompressed bytes (BOM and CRLFs included: bytes, never decoded text);
 * nothing of the file is read before the answer.
 */
export async function billDigest(body: Buffer): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  try {
    for await (const chunk of billChunks(body)) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch {
    throw new BillIntegrityError('bad_gzip', 'the file is not complete gzip');
  }
  return { sha1: hash.digest('hex'), size };
}

/**
 * Downloads the file at once with a signed request over the URL's path and query as given. The
 * answer carries no signature (none is checked); its SHA-1 is checked instead.
 */
export async function downloadBill(
  client: BillClient,
  answer: BillApplyAnswer,
  billDate: string,
  billType: BillType = 'ALL',
): Promise<DownloadedBill> {
  const { pathWithQuery, location } = downloadPath(answer.downloadUrl);
  const raw = await client.call({ operation: 'bill_download', method: 'GET', pathWithQuery, verify: false });
  const { sha1, size } = await billDigest(raw.body);
  if (sha1 !== answer.hashValue)
    throw new BillIntegrityError(
      'hash_mismatch',
      `SHA-1 ${sha1} of the file is not the hash_value ${answer.hashValue}`,
    );
  return { billDate, billType, body: raw.body, gzip: isGzip(raw.body), sha1, size, location };
}

/**
 * Apply + download + verify. An expired URL (400 INVALID_REQUEST: it lives 30 s to 5 min) is applied
 * for again, once. `onApplied` is called when WeChat answered with a download URL.
 */
export async function fetchTradeBill(
  client: BillClient,
  billDate: string,
  billType: BillType = 'ALL',
  options: { onApplied?: () => void } = {},
): Promise<DownloadedBill> {
  if (!['ALL', 'SUCCESS', 'REFUND'].includes(billType)) throw new InvalidArgumentError('unknown bill type');
  for (let attempt = 0; ; attempt++) {
    const answer = await applyTradeBill(client, billDate, billType);
    // There is a bill: the caller may start what does not read it (the books) while it downloads.
    options.onApplied?.();
    try {
      return await downloadBill(client, answer, billDate, billType);
    } catch (err) {
      const expired =
        err instanceof WeChatPayApiError && err.status === 400 && err.wechatCode === 'INVALID_REQUEST';
      if (!expired || attempt > 0) throw err;
    }
  }
}
