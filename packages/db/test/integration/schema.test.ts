import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import {
  createPool,
  DUE_PENDING_ORDERS_INDEX,
  DUE_PENDING_ORDERS_SQL,
  isDatabaseUnavailable,
  isDataError,
  MIGRATIONS_DIR,
  MigrationError,
  migrateUp,
  migrationStatus,
  type Pool,
  type RowDataPacket,
  selectDuePendingOrders,
} from '../../src/index.ts';

let db: IsolatedDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createIsolatedDatabase('db_schema');
  pool = createPool({ url: db.url, connectionLimit: 4 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

let seq = 0;
async function insertOrder(overrides: Record<string, unknown> = {}): Promise<string> {
  seq += 1;
  const outTradeNo = `RECHARGE_T${String(seq).padStart(8, '0')}`;
  const row: Record<string, unknown> = {
    out_trade_no: outTradeNo,
    user_id: `user-${seq % 50}`,
    mchid: '1900007291',
    appid: 'wxd678efh567hg6787',
    trade_type: 'NATIVE',
    description: 'points recharge',
    amount_total: 1000,
    points: 1000,
    bonus_points: 100,
    time_expire: new Date(Date.now() + 3_600_000),
    next_check_at: new Date(Date.now() - 60_000),
    ...overrides,
  };
  const cols = Object.keys(row);
  await pool.query(
    `INSERT INTO payment_orders (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
    [...Object.values(row)],
  );
  return outTradeNo;
}

describe('migrations against the real server', () => {
  it('apply from an empty database, then a second run changes nothing', async () => {
    const first = await migrateUp(pool);
    expect(first.every((m) => m.state === 'applied')).toBe(true);
    const [tables] = await pool.query<RowDataPacket[]>('SHOW TABLES');
    const names = tables.map((t) => Object.values(t)[0]);
    for (const t of [
      'payment_orders',
      'point_accounts',
      'point_transactions',
      'order_observations',
      'operator_audit_log',
      'alert_deliveries',
      'schema_migrations',
    ]) {
      expect(names).toContain(t);
    }
    const [[before]] = await pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n, MAX(applied_at) AS at FROM schema_migrations',
    );
    const second = await migrateUp(pool);
    expect(second).toEqual(first);
    const [[after]] = await pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n, MAX(applied_at) AS at FROM schema_migrations',
    );
    expect(after).toEqual(before);
  });

  it('apply each migration once when two runners start together', async () => {
    const other = await createIsolatedDatabase('db_concurrent');
    const a = createPool({ url: other.url });
    const b = createPool({ url: other.url });
    try {
      await Promise.all([migrateUp(a), migrateUp(b)]);
      const [rows] = await a.query<RowDataPacket[]>(
        'SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version',
      );
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await a.end();
      await b.end();
      await other.drop();
    }
  });

  it('refuse to run when an applied migration was edited afterwards', async () => {
    const other = await createIsolatedDatabase('db_checksum');
    const dir = await mkdtemp(join(tmpdir(), 'paysync-migrations-'));
    const p = createPool({ url: other.url });
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await migrateUp(p, { dir });
      await writeFile(join(dir, '0001_initial_schema.sql'), '-- edited\nSELECT 1;\n', { flag: 'a' });
      const status = await migrationStatus(p, dir);
      expect(status.find((s) => s.version === 1)?.state).toBe('modified');
      await expect(migrateUp(p, { dir })).rejects.toMatchObject({
        code: 'MIGRATION_CHECKSUM_MISMATCH',
      });
      await expect(migrateUp(p, { dir })).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await p.end();
      await other.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migrations that fail half-way, or meet a busy table', () => {
  it('resume where they stopped: statements already done (DDL commits by itself) are not run again', async () => {
    const other = await createIsolatedDatabase('db_resume');
    const dir = await mkdtemp(join(tmpdir(), 'paysync-migrations-'));
    const p = createPool({ url: other.url });
    try {
      await writeFile(
        join(dir, '0001_half_way.sql'),
        'CREATE TABLE t (id INT PRIMARY KEY);\nCREATE INDEX idx_t_id ON t (id);\nINSERT INTO later (id) VALUES (1);\n',
      );
      await expect(migrateUp(p, { dir })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
      // What was missing appears (another migration, an operator); the same file runs again.
      await p.query('CREATE TABLE later (id INT PRIMARY KEY)');
      const states = await migrateUp(p, { dir });
      expect(states).toEqual([{ version: 1, name: 'half_way', state: 'applied' }]);
      const [[row]] = await p.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM later');
      expect(Number(row?.n)).toBe(1);
      const [steps] = await p.query<RowDataPacket[]>('SELECT * FROM schema_migration_steps');
      expect(steps).toEqual([]);
    } finally {
      await p.end();
      await other.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('give up on a table held by a long transaction instead of freezing it behind the DDL', async () => {
    const other = await createIsolatedDatabase('db_busy');
    const dir = await mkdtemp(join(tmpdir(), 'paysync-migrations-'));
    const p = createPool({ url: other.url, connectionLimit: 3 });
    const holder = await p.getConnection();
    try {
      await writeFile(join(dir, '0001_table.sql'), 'CREATE TABLE busy (id INT PRIMARY KEY);\n');
      await writeFile(join(dir, '0002_alter.sql'), 'ALTER TABLE busy ADD COLUMN note VARCHAR(10) NULL;\n');
      await migrateUp(p, { dir });
      // A third migration meets a transaction that has read the table and is still open.
      await writeFile(
        join(dir, '0003_alter_again.sql'),
        'ALTER TABLE busy ADD COLUMN more VARCHAR(10) NULL;\n',
      );
      await holder.beginTransaction();
      await holder.query('SELECT * FROM busy');
      const started = Date.now();
      await expect(migrateUp(p, { dir, ddlLockWaitSeconds: 1 })).rejects.toMatchObject({
        code: 'MIGRATION_FAILED',
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      await holder.rollback();
      const states = await migrateUp(p, { dir, ddlLockWaitSeconds: 1 });
      expect(states.map((s) => s.state)).toEqual(['applied', 'applied', 'applied']);
    } finally {
      holder.release();
      await p.end();
      await other.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('take a lock of their own database only: another database migrates meanwhile', async () => {
    const [one, two] = [await createIsolatedDatabase('db_lock_a'), await createIsolatedDatabase('db_lock_b')];
    const a = createPool({ url: one.url });
    const b = createPool({ url: two.url });
    const held = await a.getConnection();
    try {
      // Hold database one's migration lock, as a run in progress would.
      const [[name]] = await held.query<RowDataPacket[]>(
        "SELECT CONCAT('paysync_migrate_', LEFT(SHA2(DATABASE(), 256), 32)) AS n",
      );
      await held.query('SELECT GET_LOCK(?, 5)', [name?.n]);
      await expect(migrateUp(a, { lockTimeoutSeconds: 1 })).rejects.toMatchObject({
        code: 'MIGRATION_LOCK_TIMEOUT',
      });
      const states = await migrateUp(b, { lockTimeoutSeconds: 1 });
      expect(states.every((s) => s.state === 'applied')).toBe(true);
    } finally {
      await held.query('SELECT RELEASE_ALL_LOCKS()').catch(() => {});
      held.release();
      await a.end();
      await b.end();
      await one.drop();
      await two.drop();
    }
  });
});

describe('schema constraints', () => {
  beforeAll(async () => {
    await migrateUp(pool);
  });

  it('the status CHECK constraint rejects an unknown status', async () => {
    await expect(insertOrder({ status: 'settled' })).rejects.toThrow(/chk_payment_orders_status/);
    const ok = await insertOrder({ status: 'pending' });
    await expect(
      pool.query("UPDATE payment_orders SET status = 'paidish' WHERE out_trade_no = ?", [ok]),
    ).rejects.toThrow(/chk_payment_orders_status/);
  });

  it('refuses a paid order without a transaction_id', async () => {
    await expect(insertOrder({ status: 'paid' })).rejects.toThrow(/chk_payment_orders_paid_has_transaction/);
  });

  it('out_trade_no and transaction_id are unique', async () => {
    const a = await insertOrder({ status: 'paid', transaction_id: '4200000000000000000001' });
    await expect(insertOrder({ out_trade_no: a })).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    await expect(insertOrder({ status: 'paid', transaction_id: '4200000000000000000001' })).rejects.toThrow(
      /uk_payment_orders_transaction_id/,
    );
  });

  it('the unique keys reject a second recharge entry for the same order, but allow one reversal per refund', async () => {
    const order = await insertOrder();
    const entry = (type: string, ref: string, delta: number) =>
      pool.query(
        'INSERT INTO point_transactions (user_id, out_trade_no, entry_type, reference_no, points_delta, balance_after) VALUES (?, ?, ?, ?, ?, ?)',
        ['user-1', order, type, ref, delta, 0],
      );
    await entry('recharge', '', 1100);
    const second = entry('recharge', '', 1100);
    await expect(second).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    await expect(entry('recharge', '', 1100)).rejects.toThrow(/uk_point_transactions_order_entry/);
    await entry('refund_reversal', 'REFUND_1', -500);
    await entry('refund_reversal', 'REFUND_2', -600);
    await expect(entry('refund_reversal', 'REFUND_1', -500)).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    await expect(entry('refund_reversal', 'REFUND_3', 10)).rejects.toThrow(/chk_point_transactions_sign/);
  });

  it('the due-orders query is served by the (status, next_check_at) index', async () => {
    // A realistic table: most orders settled long ago, a few pending and due.
    const values: unknown[] = [];
    const rows: string[] = [];
    const now = Date.now();
    for (let i = 0; i < 3000; i++) {
      const pending = i % 30 === 0;
      rows.push('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      values.push(
        `RECHARGE_B${String(i).padStart(8, '0')}`,
        `user-${i % 97}`,
        '1900007291',
        'wxd678efh567hg6787',
        'NATIVE',
        'points recharge',
        1000,
        1000,
        pending ? 'pending' : 'paid',
        pending ? null : `43000000000000${String(i).padStart(8, '0')}`,
        new Date(now + 3_600_000),
        pending ? new Date(now - (i % 7) * 60_000) : null,
      );
    }
    await pool.query(
      `INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points, status, transaction_id, time_expire, next_check_at) VALUES ${rows.join(', ')}`,
      values,
    );
    await pool.query('ANALYZE TABLE payment_orders');
    const [plan] = await pool.query<RowDataPacket[]>(`EXPLAIN ${DUE_PENDING_ORDERS_SQL}`, [
      new Date(now),
      100,
    ]);
    expect(plan[0]?.key).toBe(DUE_PENDING_ORDERS_INDEX);
    expect(String(plan[0]?.Extra ?? '')).not.toMatch(/filesort/i);

    const due = await selectDuePendingOrders(pool, new Date(now), 20);
    expect(due).toHaveLength(20);
    const times = due.map((d) => d.nextCheckAt.getTime());
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });
});

// The ledger dead-letters an observation only for an error about its data; anything else is retried.
// Each error here is a real server's answer.
describe('isDataError', () => {
  const user = `ps_dataerr_${process.pid}`;
  let limited: Pool | undefined;

  beforeAll(async () => {
    await migrateUp(pool);
    await pool.query(`CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY 'x'`);
    await pool.query(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'127.0.0.1'`);
    const url = new URL(db.url);
    url.username = user;
    url.password = 'x';
    limited = createPool({ url: url.toString(), connectionLimit: 1 });
  });
  afterAll(async () => {
    await limited?.end();
    await pool.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
  });

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: unknown) => err,
    );

  it('is true for errors about the statement’s own data', async () => {
    const paid = await insertOrder({ status: 'paid', transaction_id: `42${Date.now()}` });
    for (const err of [
      await failure(insertOrder({ out_trade_no: paid })), // duplicate key
      await failure(insertOrder({ status: 'settled' })), // CHECK constraint
      await failure(insertOrder({ description: 'x'.repeat(500) })), // too long
      await failure(insertOrder({ amount_total: 'lots' })), // wrong value
      await failure(insertOrder({ user_id: null })), // NULL
    ]) {
      expect(err).toBeDefined();
      expect([(err as { code?: string }).code, isDataError(err), isDatabaseUnavailable(err)]).toEqual([
        (err as { code?: string }).code,
        true,
        false,
      ]);
    }
  });

  // The order API answers these 503 (isDatabaseUnavailable: retry later), other errors 500.
  it('is false for a database that is not ready for any data, which isDatabaseUnavailable names', async () => {
    const nowhere = createPool({ url: 'mysql://paysync:paysync@127.0.0.1:1/paysync' });
    const down = await failure(nowhere.query('SELECT 1'));
    await nowhere.end();
    const cases: [string, unknown, boolean][] = [
      [
        'no grant',
        await failure(limited!.query("UPDATE payment_orders SET status = 'paid' WHERE id = 0")),
        true,
      ],
      ['not migrated', await failure(pool.query('SELECT no_such_column FROM payment_orders')), true],
      ['no table', await failure(pool.query('SELECT 1 FROM no_such_table')), true],
      ['down', down, true],
      ['our own SQL is wrong', await failure(pool.query('SELEC 1')), false],
      ['not a database error', new Error('anything else'), false],
    ];
    expect(cases.map(([what, err]) => [what, err !== undefined, isDataError(err)])).toEqual(
      cases.map(([what]) => [what, true, false]),
    );
    expect(cases.map(([what, err]) => [what, isDatabaseUnavailable(err)])).toEqual(
      cases.map(([what, , unavailable]) => [what, unavailable]),
    );
  });
});
