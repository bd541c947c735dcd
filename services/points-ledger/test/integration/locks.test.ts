import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createPool, migrateUp, type Pool, type PoolConnection, type RowDataPacket } from '@paysync/db';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import { lockOrders } from '../../src/store.ts';

// A batch's transaction locks its own orders and nothing else: a wider lock would
// stall order creation and make every reconciler claim (SKIP LOCKED) skip orders it should check,
// for as long as the batch's transaction is open.

let db: IsolatedDatabase;
let pool: Pool;
let impatient: Pool;

beforeAll(async () => {
  db = await createIsolatedDatabase('ledger_locks');
  pool = createPool({ url: db.url, connectionLimit: 4 });
  impatient = createPool({ url: db.url, connectionLimit: 2, lockWaitTimeoutSeconds: 1 });
  await migrateUp(pool);
});
afterAll(async () => {
  await impatient?.end();
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('DELETE FROM payment_orders');
});

const expires = new Date('2030-01-01T00:00:00.000Z');

const orderRow = (no: string, user: string) => [
  no,
  user,
  '1900009191',
  'wxd678efh567hg6787',
  'NATIVE',
  'points recharge',
  1000,
  1000,
  expires,
  expires,
];

async function insertOrders(p: Pool, names: readonly string[]) {
  await p.query(
    `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points,
       time_expire, next_check_at) VALUES ?`,
    [names.map((n, i) => orderRow(n, `user-${i}`))],
  );
}

/** Rows of `table` another transaction can lock right now. */
async function lockable(table: string): Promise<number> {
  let n = 0;
  await holding(async (conn) => {
    const [rows] = await conn.query<RowDataPacket[]>(`SELECT 1 FROM ${table} FOR UPDATE SKIP LOCKED`);
    n = rows.length;
  });
  return n;
}

/** Runs `fn` in a transaction that is still open (its locks held) while `fn` runs, then rolls back. */
async function holding(fn: (conn: PoolConnection) => Promise<void>): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    await fn(conn);
  } finally {
    await conn.rollback();
    conn.release();
  }
}

describe('the ledger batch lock', () => {
  it('lock a batch of orders by key: other orders stay lockable and new orders can be created', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `RCLOCK${String(i).padStart(6, '0')}`);
    await insertOrders(pool, names);
    const batch = names.filter((_, i) => i % 3 === 0);
    await holding(async (conn) => {
      expect((await lockOrders(conn, batch)).size).toBe(batch.length);
      expect(await lockable('payment_orders')).toBe(names.length - batch.length);
      await insertOrders(impatient, ['RCLOCKNEW000001']);
    });
  });
});
