import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { COMPONENTS, createPool } from '@paysync/db';
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

  it('creates every component’s database user with exactly its grants, idempotently, printing no password', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'payctl-grants-'));
    const prefix = `t${randomBytes(4).toString('hex')}_`;
    const passwords = Object.fromEntries(COMPONENTS.map((c) => [c, `pw-${randomBytes(12).toString('hex')}`]));
    for (const c of COMPONENTS) await writeFile(join(dir, c), `${passwords[c]}\n`, { mode: 0o600 });
    const env = { PAYCTL_DB_PASSWORDS_DIR: dir, PAYCTL_DB_USER_PREFIX: prefix, PAYCTL_DB_USER_HOST: '%' };
    const admin = createPool({ url: db.url, connectionLimit: 1 });
    try {
      for (let round = 0; round < 2; round++) {
        const r = await payctl(['migrate', '--grants'], env);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`granted orders to '${prefix}orders'@'%'`));
        for (const pw of Object.values(passwords)) expect(r.stdout + r.stderr).not.toContain(pw);
      }
      // The alerting user reaches alert_deliveries and nothing else.
      const url = new URL(db.url);
      url.username = `${prefix}alerting`;
      url.password = passwords.alerting as string;
      const alerting = createPool({ url: url.toString(), connectionLimit: 1 });
      try {
        await alerting.query('SELECT COUNT(*) FROM alert_deliveries');
        await expect(alerting.query('SELECT COUNT(*) FROM payment_orders')).rejects.toMatchObject({
          code: 'ER_TABLEACCESS_DENIED_ERROR',
        });
      } finally {
        await alerting.end();
      }
      const [grants] = await admin.query(`SHOW GRANTS FOR '${prefix}orders'@'%'`);
      expect(JSON.stringify(grants)).not.toMatch(/point_accounts/);
      const missing = await payctl(['migrate', '--grants', 'orders'], {
        ...env,
        PAYCTL_DB_PASSWORDS_DIR: tmpdir(),
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/PAYCTL_DB_PASSWORDS_DIR: cannot read the password file of orders/);
    } finally {
      for (const c of COMPONENTS) await admin.query(`DROP USER IF EXISTS '${prefix}${c}'@'%'`);
      await admin.end();
      await rm(dir, { recursive: true, force: true });
    }
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
