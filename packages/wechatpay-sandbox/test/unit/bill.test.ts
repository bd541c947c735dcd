import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyTradeBill,
  type BillIntegrityError,
  beijingDay,
  billContent,
  downloadBill,
  fetchTradeBill,
  NoStatementError,
  parseTradeBill,
  StatementCreatingError,
  type TradeBillRow,
  WeChatPayApiError,
  type WeChatPayClient,
} from '@paysync/wechatpay';
import { type Sandbox, startSandbox } from '../../src/index.ts';
import { clientFor, createNativeOrder } from './support.ts';

const NOTIFY_URL = 'https://merchant.example/wechatpay/notify';
let skewMs = 0;
let sandbox: Sandbox;
let client: WeChatPayClient;
let today: string;
const paid: string[] = [];

async function setBillFaults(patch: object): Promise<void> {
  const res = await fetch(`${sandbox.url}/sandbox/bill/faults`, {
    method: 'POST',
    body: JSON.stringify(patch),
  });
  expect(res.status).toBe(200);
}

async function rowsOf(billDate: string): Promise<TradeBillRow[]> {
  const bill = await fetchTradeBill(client, billDate);
  const rows: TradeBillRow[] = [];
  await parseTradeBill(billContent(bill.body), { onRows: (b) => void rows.push(...b) });
  return rows;
}

beforeAll(async () => {
  sandbox = await startSandbox({
    clock: () => Date.now() + skewMs,
    faults: { notifyUnreachable: 'not_attempted' },
  });
  client = clientFor(sandbox);
  await client.start();
  today = beijingDay(new Date());
  for (const amount of [1000, 2550, 1]) {
    const no = await createNativeOrder(client, sandbox, NOTIFY_URL, { amountTotal: amount });
    sandbox.pay(no);
    paid.push(no);
  }
  await createNativeOrder(client, sandbox, NOTIFY_URL); // never paid: not in the bill
  sandbox.refund(paid[1] as string, { amount: 550, outRefundNo: 'REFUND_BILL_0001', status: 'PROCESSING' });
});

afterEach(async () => {
  skewMs = 0;
  await fetch(`${sandbox.url}/sandbox/bill/faults`, { method: 'DELETE' });
});

afterAll(async () => {
  await client.close();
  await sandbox.close();
});

describe('the sandbox trade bill', () => {
  it('serves the day’s payments and refunds in WeChat’s format, gzip by request, SHA-1 of the content', async () => {
    const answer = await applyTradeBill(client, today);
    expect(answer.downloadUrl).toMatch(/\/v3\/billdownload\/file\?token=\w+&tartype=gzip$/);
    expect((await fetch(answer.downloadUrl)).status).toBe(401); // the download must be signed
    const url = new URL(answer.downloadUrl);
    const raw = await client.call({
      operation: 'bill_download',
      method: 'GET',
      pathWithQuery: `${url.pathname}${url.search}`,
      verify: false,
    });
    expect(Object.keys(raw.headers).filter((h) => h.toLowerCase().startsWith('wechatpay-'))).toEqual([]);
    const bill = await downloadBill(client, answer, today);
    expect(bill.gzip).toBe(true);
    const text = await new Response(billContent(bill.body) as unknown as ReadableStream).arrayBuffer();
    const bytes = Buffer.from(text);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(bytes.toString('utf8')).toMatch(/^\uFEFF交易时间,公众账号ID,商户号,[^\n]*费率备注\r\n`/);
    expect(bytes.toString('utf8')).toMatch(
      /\r\n总交易单数,[^\r\n]+\r\n`4\.0,`35\.51,`5\.50,`0\.00,`0\.21,`35\.51,`5\.50\r\n$/,
    );
    const rows = await rowsOf(today);
    const payments = rows.filter((r) => r.tradeState === 'SUCCESS');
    expect(payments.map((r) => r.outTradeNo).sort()).toEqual([...paid].sort());
    expect(payments.find((r) => r.outTradeNo === paid[1])).toMatchObject({
      orderTotal: 2550,
      settlementTotal: 2550,
    });
    const refund = rows.find((r) => r.tradeState === 'REFUND');
    expect(refund).toMatchObject({
      outTradeNo: paid[1],
      outRefundNo: 'REFUND_BILL_0001',
      refundAmount: 550,
      refundStatus: 'PROCESSING',
      orderTotal: 0,
    });
  });

  it('answers NO_STATEMENT_EXIST for a day without payments and refunds', async () => {
    await expect(applyTradeBill(client, '2020-01-01')).rejects.toBeInstanceOf(NoStatementError);
  });

  it('answers STATEMENT_CREATING while the bill is being made', async () => {
    await setBillFaults({ statementCreatingNext: 1 });
    await expect(applyTradeBill(client, today)).rejects.toBeInstanceOf(StatementCreatingError);
    expect((await rowsOf(today)).length).toBe(4);
  });

  it('expires download URLs (400 INVALID_REQUEST); fetchTradeBill applies again', async () => {
    const answer = await applyTradeBill(client, today);
    skewMs = 31_000;
    const err = await downloadBill(client, answer, today).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeChatPayApiError);
    expect((err as WeChatPayApiError).wechatCode).toBe('INVALID_REQUEST');
    expect((await fetchTradeBill(client, today)).sha1).toMatch(/^[0-9a-f]{40}$/);
  });

  it('faults: a hash that does not match, a truncated gzip', async () => {
    await setBillFaults({ badHashNext: 1 });
    const hash = await fetchTradeBill(client, today).catch((e: unknown) => e);
    expect((hash as BillIntegrityError).reason).toBe('hash_mismatch');
    await setBillFaults({ truncateGzipNext: 1 });
    const gzip = await fetchTradeBill(client, today).catch((e: unknown) => e);
    expect((gzip as BillIntegrityError).reason).toBe('bad_gzip');
  });

  it('faults: an extra payment paysync never created, a missing row', async () => {
    await setBillFaults({ extraPayments: 2, extraPaymentAmount: 300, omitOutTradeNos: [paid[0]] });
    const payments = (await rowsOf(today)).filter((r) => r.tradeState === 'SUCCESS');
    expect(payments.map((r) => r.outTradeNo)).not.toContain(paid[0]);
    expect(payments.filter((r) => r.outTradeNo.startsWith('SANDBOXEXTRA')).map((r) => r.orderTotal)).toEqual([
      300, 300,
    ]);
  });
});
