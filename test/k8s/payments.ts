// The payment side of the operator's end-to-end test: its own MariaDB database and Kafka topics,
// the WeChat Pay sandbox, the points-ledger consuming in-process, and orders created as the gateway
// creates them (prepay at the sandbox, a pending row here).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TopicNames, topicNames } from '@paysync/contracts';
import { createComponentAccount, createPool, migrateUp, type Pool, type RowDataPacket } from '@paysync/db';
import { createKafka } from '@paysync/kafka';
import {
  createIsolatedDatabase,
  createIsolatedTopics,
  sandboxClient,
  testEnv,
  uniqueName,
} from '@paysync/testkit';
import { startSandbox } from '@paysync/wechatpay-sandbox';
import { startInProcessLedger } from '../ledger/in-process.ts';

let seq = 0;
export function newOutTradeNo(tag: string): string {
  seq += 1;
  return `K8${tag}${Date.now().toString(36)}${String(seq).padStart(4, '0')}`.slice(0, 32);
}

export type PaymentWorld = Awaited<ReturnType<typeof createPaymentWorld>>;

export async function createPaymentWorld(name: string) {
  const db = await createIsolatedDatabase(name);
  const pool: Pool = createPool({ url: db.url, connectionLimit: 5 });
  await migrateUp(pool);
  // The operator runs under its own least-privileged account (the grants of @paysync/db).
  const operatorAccount = await createComponentAccount(db.url, 'operator');
  const prefix = uniqueName(name);
  const topics: TopicNames = topicNames(prefix);
  const created = await createIsolatedTopics(Object.values(topics), 3);
  const kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: prefix });
  const sandbox = await startSandbox({});
  const m = sandbox.merchant!;
  const client = await sandboxClient(sandbox, { archive: pool });
  const ledger = await startInProcessLedger({ pool, kafka, sandbox, topics, groupId: `${prefix}-ledger` });
  const secrets = await mkdtemp(join(tmpdir(), 'paysync-k8s-keys-'));
  await writeFile(join(secrets, 'apiclient_key.pem'), m.privateKeyPem, { mode: 0o600 });
  await writeFile(join(secrets, 'apiv3.key'), m.apiV3Key, { mode: 0o600 });

  return {
    pool,
    sandbox,
    /** The reconciler's environment for this world (the operator adds its own settings). */
    env: {
      MYSQL_URL: operatorAccount.url,
      KAFKA_BROKERS: testEnv().kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      WECHATPAY_MCHID: m.mchid,
      WECHATPAY_MERCHANT_SERIAL_NO: m.certificateSerial,
      WECHATPAY_PRIVATE_KEY_FILE: join(secrets, 'apiclient_key.pem'),
      WECHATPAY_API_V3_KEY_FILE: join(secrets, 'apiv3.key'),
      WECHATPAY_BASE_URLS: sandbox.url,
      WECHATPAY_ALLOW_INSECURE_HTTP: 'true',
      RECONCILER_NOTIFY_PROBE: 'false',
      RECONCILER_MISSED_NOTIFICATION_AFTER: '0s',
    } as Record<string, string>,

    /** Orders prepaid at the sandbox and pending here; `expired` ones have their time_expire passed here. */
    async createOrders(n: number, tag: string, opts: { expired?: boolean } = {}): Promise<string[]> {
      const timeExpire = new Date(Math.floor((Date.now() + 3_600_000) / 1000) * 1000);
      const ids = Array.from({ length: n }, () => newOutTradeNo(tag));
      for (const outTradeNo of ids) {
        await client.prepayNative({
          appid: m.appid,
          description: 'points recharge',
          outTradeNo,
          notifyUrl: 'http://127.0.0.1:1/api/payment/wechat/callback',
          amountTotal: 1000,
          timeExpire: timeExpire.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
        });
        await pool.query(
          `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total,
             points, bonus_points, status, time_expire, next_check_at, created_at)
           VALUES (?, ?, ?, ?, 'NATIVE', 'points recharge', 1000, 1000, 100, 'pending', ?, ?, ?)`,
          [
            outTradeNo,
            `user-${randomUUID().slice(0, 8)}`,
            m.mchid,
            m.appid,
            opts.expired ? new Date(Date.now() - 60_000) : timeExpire,
            new Date(Date.now() + 3_600_000),
            new Date(),
          ],
        );
      }
      return ids;
    },

    /** The user pays at WeChat; the notification never arrives (notify URL unreachable). */
    pay(outTradeNo: string): void {
      sandbox.pay(outTradeNo);
    },

    async status(outTradeNo: string): Promise<string | undefined> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT status FROM payment_orders WHERE out_trade_no = ?',
        [outTradeNo],
      );
      return rows[0]?.status as string | undefined;
    },

    async audit(): Promise<RowDataPacket[]> {
      const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM operator_audit_log ORDER BY id');
      return rows;
    },

    async ledgerEntries(outTradeNo: string): Promise<number> {
      const [rows] = await pool.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM point_transactions WHERE out_trade_no = ?',
        [outTradeNo],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async close(): Promise<void> {
      await ledger.stop().catch(() => {});
      await client.close();
      await sandbox.close();
      await operatorAccount.drop();
      await pool.end();
      await created.remove().catch(() => {});
      await db.drop();
      await rm(secrets, { recursive: true, force: true });
    },
  };
}
