// The measured side of the bill-reconcile benchmark, in its own process so that its peak RSS is the
// reconciliation's alone: verify, parse and diff a trade bill against MariaDB, then the I/O floor
// (gunzip + SHA-1 + line split of the same bytes). Prints one JSON line.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createPool } from '@paysync/db';
import { BillDiffer, billBooks } from '@paysync/reconcile';
import {
  type BillClient,
  beijingDayRange,
  billChunks,
  fetchTradeBill,
  parseTradeBill,
} from '@paysync/wechatpay';

const [file, sha1, billDate, mchid, mysqlUrl] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];

// The bill as WeChat serves it: the apply answer, then the bytes of the file (loopback HTTP adds
// nothing worth measuring here; the signed transport is tested against the sandbox).
const body = await readFile(file);
const client: BillClient = {
  call: async (req) =>
    req.operation === 'bill_apply'
      ? {
          status: 200,
          headers: {},
          body: Buffer.from(
            JSON.stringify({
              hash_type: 'SHA1',
              hash_value: sha1,
              download_url: 'https://api.mch.weixin.qq.com/v3/billdownload/file?token=bench&tartype=gzip',
            }),
          ),
        }
      : { status: 200, headers: {}, body },
};

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};
const pool = createPool({ url: mysqlUrl, connectionLimit: 4 });
const started = performance.now();
const cpuStart = process.cpuUsage();
// As runTradeBill does: the books' side of the day is read while the file downloads and is verified.
const differ = new BillDiffer(billBooks(pool), {
  mchid,
  day: beijingDayRange(billDate),
  maxDifferences: 100_000,
});
const bill = await fetchTradeBill(client, billDate, 'ALL', { onApplied: () => differ.prefetch() });
const verified = performance.now();
const totals = await parseTradeBill(billChunks(bill.body), {
  onRows: (rows) => differ.rows(rows),
});
const differences = await differ.finish();
const done = performance.now();
const runCpuMs = cpuMs(cpuStart);
// The reconciliation's peak, before the floor and the breakdown below run in this process.
const peakRssMb = Number(/VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))?.[1]) / 1024;
await pool.end();

const floorStart = performance.now();
const floorCpuStart = process.cpuUsage();
const hash = createHash('sha1');
let lines = 0;
for await (const buf of billChunks(body)) {
  hash.update(buf);
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1)) lines += 1;
}
const floorHash = hash.digest('hex');
const floorMs = performance.now() - floorStart;
const floorCpuMs = cpuMs(floorCpuStart);

// Breakdown: the same parse without the database.
const parseStart = performance.now();
const parseCpuStart = process.cpuUsage();
await parseTradeBill(billChunks(body), { onRows: () => {} });
const parseOnlyMs = performance.now() - parseStart;
const parseOnlyCpuMs = cpuMs(parseCpuStart);

console.log(
  JSON.stringify({
    totalMs: done - started,
    verifyMs: verified - started,
    parseDiffMs: done - verified,
    floorMs,
    runCpuMs,
    floorCpuMs,
    parseOnlyCpuMs,
    parseOnlyMs,
    floorLines: lines,
    floorHashOk: floorHash === sha1,
    rows: totals.rows,
    peakRssMb,
    differences: differences.map((d) => `${d.class}:${d.refKey}`),
  }),
);
