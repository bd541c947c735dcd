import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { topicNames } from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { aclEntries, kafkaGrants } from '@paysync/kafka';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  eventually,
  type IsolatedDatabase,
  testKafka,
  uniqueName,
} from '@paysync/testkit';
import { type Sandbox, startSandbox, type TestMerchant } from '@paysync/wechatpay-sandbox';
import { upsertScramUsers } from '../../scripts/kafka/scram.ts';
import { rechargeOrder } from '../../scripts/start/clients.ts';
import { MAINS } from '../../scripts/start/config.ts';
import { freePort } from '../../scripts/start/ports.ts';
import { applyAcls, localSecureKafka } from '../kafka/secure.ts';
import { type InProcessLedger, startInProcessLedger } from '../ledger/in-process.ts';

// The private order service as it is deployed: its composition root (GATEWAY_ROLE=orders) run as
// a process under its own database account (the `orders` grants of @paysync/db, the password from
// MYSQL_PASSWORD_FILE) and its own SCRAM principal on the local broker's SASL listener, where the
// StandardAuthorizer applies the `orders` ACLs of @paysync/kafka. An order is created, confirmed
// (the observation it publishes settles it through the ledger) and refunded through the order API:
// a grant or an ACL the order service needs and lacks fails this test. And the receiver's account,
// which shares the code, can write neither an order nor a refund.

const local = await localSecureKafka();
const saslBrokers = local.sasl;
const ORDERS = '/api/payment/orders';

type Rows = (RowDataPacket & Record<string, unknown>)[];

const prefix = uniqueName('ordid');
const topics = topicNames(prefix);
const principal = `${prefix}-orders`;
const token = randomBytes(24).toString('hex');
const secrets = mkdtempSync(join(tmpdir(), 'paysync-order-identity-'));
const cleanups: (() => Promise<unknown>)[] = [];
const output: string[] = [];
let db: IsolatedDatabase;
let admin: Pool;
let sandbox: Sandbox;
let service: ChildProcess | undefined;
let base: string;
let ledger: InProcessLedger;
let receiverUrl: string;
let ordersUrl: string;

function secretFile(name: string, text: string): string {
  const path = join(secrets, name);
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function query(sql: string, params: unknown[]): Promise<Rows> {
  const [rows] = await admin.query<Rows>(sql, params);
  return rows;
}

/** Starts the ledger (in this process, as administrator: its own identity is not under test here). */
async function startLedger(): Promise<void> {
  ledger = await startInProcessLedger({
    pool: admin,
    kafka: testKafka(`${prefix}-ledger`),
    sandbox,
    topics,
    groupId: `${prefix}-ledger`,
  });
}

/** The SCRAM user of the order service, with exactly the `orders` ACLs, applied by the broker. */
async function orderServicePrincipal(): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  // Created through the PLAINTEXT listener, whose clients are super users.
  await upsertScramUsers(local.plaintext, [{ mechanism: 'SCRAM-SHA-512', name: principal, password }]);
  cleanups.push(await applyAcls(aclEntries(principal, kafkaGrants('orders', topics))));
  return secretFile('kafka-password', password);
}

/** Waits for the service's /readyz, failing at once (with its output) if it exits. */
async function awaitReady(opsUrl: string): Promise<void> {
  let exited: string | undefined;
  service?.once('exit', (code, signal) => {
    exited = `the order service exited (${code ?? signal}):\n${output.join('').slice(-4000)}`;
  });
  await eventually(
    'the order service to be ready',
    async () => {
      if (exited) throw new Error(exited);
      const res = await fetch(`${opsUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(
        () => undefined,
      );
      return res?.ok ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

(saslBrokers ? describe : describe.skip)('the order service under its own accounts', () => {
  beforeAll(async () => {
    db = await createIsolatedDatabase('ordid');
    cleanups.push(() => db.drop());
    admin = createPool({ url: db.url, connectionLimit: 4 });
    cleanups.push(() => admin.end());
    await migrateUp(admin);
    const orders = await createComponentAccount(db.url, 'orders');
    cleanups.push(() => orders.drop());
    const receiver = await createComponentAccount(db.url, 'receiver');
    cleanups.push(() => receiver.drop());
    receiverUrl = receiver.url;
    ordersUrl = orders.url;
    const isolated = await createIsolatedTopics(Object.values(topics), 2);
    cleanups.push(() => isolated.remove());
    sandbox = await startSandbox({ timeScale: 0.001 });
    cleanups.push(() => sandbox.close());
    const kafkaPasswordFile = await orderServicePrincipal();
    await startLedger();
    cleanups.push(() => ledger.stop());

    // The account's URL without its password, which comes from a file, as the chart mounts it.
    const mysqlUrl = new URL(orders.url);
    const mysqlPasswordFile = secretFile('mysql-password', decodeURIComponent(mysqlUrl.password));
    mysqlUrl.password = '';
    const [port, opsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    const m = sandbox.merchant as TestMerchant;
    service = spawn(process.execPath, [MAINS.gateway], {
      env: {
        PATH: process.env.PATH,
        PAYSYNC_MODE: 'development',
        LOG_LEVEL: 'info',
        GATEWAY_ROLE: 'orders',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: String(opsPort),
        GATEWAY_API_TOKEN_FILE: secretFile('api-token', token),
        GATEWAY_CONFIRM_MIN_INTERVAL: '0s',
        MYSQL_URL: mysqlUrl.toString(),
        MYSQL_PASSWORD_FILE: mysqlPasswordFile,
        KAFKA_BROKERS: saslBrokers as string,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: principal,
        KAFKA_SASL_PASSWORD_FILE: kafkaPasswordFile,
        WECHATPAY_MCHID: m.mchid,
        WECHATPAY_APPID: m.appid,
        WECHATPAY_MERCHANT_SERIAL_NO: m.certificateSerial,
        WECHATPAY_PRIVATE_KEY_FILE: secretFile('apiclient_key.pem', m.privateKeyPem),
        WECHATPAY_API_V3_KEY_FILE: secretFile('apiv3.key', m.apiV3Key),
        WECHATPAY_BASE_URLS: sandbox.url,
        WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
        // Nobody receives notifications here: the order service learns of payments by asking.
        WECHATPAY_NOTIFY_URL: 'http://127.0.0.1:9/api/payment/wechat/callback',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    service.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    await awaitReady(`http://127.0.0.1:${opsPort}`);
  }, 180_000);

  afterAll(async () => {
    if (service && service.exitCode === null && service.signalCode === null) {
      const exited = new Promise((done) => service?.once('exit', done));
      service.kill('SIGTERM');
      await exited;
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    rmSync(secrets, { recursive: true, force: true });
  }, 60_000);

  it('creates, confirms and refunds an order with its own database user and Kafka principal', async () => {
    const created = await api('POST', ORDERS, rechargeOrder(`user-${randomBytes(4).toString('hex')}`, 300));
    expect(created.status).toBe(201);
    const no = created.json.out_trade_no as string;

    // Paid at WeChat Pay; the confirmation publishes what the order service learnt, under its own
    // principal, and the ledger settles the order from it.
    sandbox.pay(no);
    await eventually(
      'the confirmed order to settle',
      async () => {
        const read = await api('GET', `${ORDERS}/${no}?confirm=true`);
        expect(read.status).toBe(200);
        return read.json.status === 'paid' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );

    // A refund: accepted (a row in payment_refunds, under the order's lock), sent to WeChat Pay at
    // once (the refund's bookkeeping columns), and what WeChat answered published for the ledger.
    const refunded = await api('POST', `${ORDERS}/${no}/refunds`, {
      merchant_refund_no: `MR${randomBytes(8).toString('hex')}`,
      amount_fen: 100,
      reason: 'test',
    });
    expect([refunded.status, refunded.json.submitted]).toEqual([201, true]);
    const outRefundNo = refunded.json.out_refund_no as string;
    expect(sandbox.order(no).trade_state).toBe('REFUND');
    const [refund] = await query('SELECT submitted_at FROM payment_refunds WHERE out_refund_no = ?', [
      outRefundNo,
    ]);
    expect(refund?.submitted_at).not.toBeNull();
    await eventually(
      'the ledger to journal the refund the order service published',
      async () => {
        const journal = await query(
          "SELECT outcome FROM order_observations WHERE out_trade_no = ? AND trade_state = 'REFUND'",
          [no],
        );
        return journal.length > 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    const listed = await api('GET', `${ORDERS}/${no}/refunds`);
    expect(listed.status).toBe(200);
    expect(listed.text).toContain(outRefundNo);
  }, 120_000);

  it('writes neither the ledger nor an order state, and the receiver writes neither orders nor refunds', async () => {
    const orders = createPool({ url: ordersUrl, connectionLimit: 1 });
    try {
      for (const sql of [
        "UPDATE payment_orders SET status = 'paid' WHERE out_trade_no = 'none'",
        'UPDATE point_accounts SET balance = balance + 1',
        'SELECT COUNT(*) FROM point_transactions',
      ]) {
        await expect(orders.query(sql)).rejects.toMatchObject({
          code: expect.stringMatching(/^ER_(TABLE|COLUMN)ACCESS_DENIED_ERROR$/),
        });
      }
    } finally {
      await orders.end();
    }
    const receiver = createPool({ url: receiverUrl, connectionLimit: 1 });
    try {
      for (const sql of [
        "INSERT INTO payment_orders (out_trade_no) VALUES ('forged')",
        "INSERT INTO payment_refunds (out_refund_no) VALUES ('forged')",
      ]) {
        await expect(receiver.query(sql)).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      }
    } finally {
      await receiver.end();
    }
  });
});
