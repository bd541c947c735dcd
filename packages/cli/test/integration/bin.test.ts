import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';

// payctl as operators run it: `node packages/cli/src/bin.ts …` (Node 24 runs the sources), against
// a real MariaDB. (The commands that need the ledger are exercised in services/reconciler's tests.)
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/bin.ts');
let db: IsolatedDatabase;
let gateway: http.Server;
let gatewayUrl = '';

beforeAll(async () => {
  db = await createIsolatedDatabase('payctl_bin');
  gateway = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"code":"FAIL","message":"missing Wechatpay-Signature"}');
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/api/payment/wechat/callback`;
});
afterAll(async () => {
  await db?.drop();
  gateway.closeAllConnections();
  await new Promise<void>((r) => gateway.close(() => r()));
});

function payctl(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', MYSQL_URL: db.url, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('payctl (the binary)', () => {
  it('lists pending migrations, applies them, then reports the schema up to date', async () => {
    const status = await payctl(['migrate', '--status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).migrations[0]).toMatchObject({ version: 1, state: 'pending' });
    const applied = await payctl(['migrate']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/applied 1_initial_schema/);
    const again = await payctl(['migrate']);
    expect(again.stdout).toMatch(/schema up to date/);
    expect(again.stdout).toMatch(/0001\s+initial_schema\s+applied/);
  });

  it('shows an order that is not in the database and exits 1', async () => {
    const r = await payctl(['order', 'RECHARGE_ORDER_404', '--no-wechat']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/not in the database/);
    expect(r.stderr).toMatch(/RECHARGE_ORDER_404 is not in the database/);
  });

  it('probes a notify URL the gateway answers and exits 0', async () => {
    const r = await payctl(['check-notify-url', gatewayUrl, '--allow-insecure']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reached the gateway \(HTTP 401/);
    expect(r.stdout).toMatch(/healthy/);
  });

  it('reads the notify URL from WECHATPAY_NOTIFY_URL and fails on the incident’s localhost', async () => {
    const r = await payctl(['check-notify-url'], {
      WECHATPAY_NOTIFY_URL: 'https://localhost/api/payment/wechat/callback',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/UNHEALTHY/);
  });
});
