import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIsolatedDatabase, type IsolatedDatabase } from '@paysync/testkit';
import {
  classifyDbError,
  createPool,
  type DbErrorKind,
  isConnectionFailure,
  type Pool,
  type RowDataPacket,
} from '../../src/index.ts';

// Every error classified here is a real server's (or the real driver's) answer: the classification
// reads codes, so a server or driver that names its errors differently fails here, not in production.

let db: IsolatedDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createIsolatedDatabase('db_errors');
  pool = createPool({ url: db.url, connectionLimit: 4, lockWaitTimeoutSeconds: 1 });
  await pool.query(
    'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, n INT NOT NULL DEFAULT 0, CONSTRAINT n_non_negative CHECK (n >= 0)) ENGINE=InnoDB',
  );
  await pool.query("INSERT INTO t (id, name) VALUES (1, 'one'), (2, 'two')");
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected the statement to fail');
    },
    (err: unknown) => err,
  );

/** The error's code and its class, so a failing case names what the server said. */
const classified = (err: unknown): [unknown, DbErrorKind] => [
  (err as { code?: unknown }).code,
  classifyDbError(err),
];

describe('classifyDbError against the real server', () => {
  it('names errors about the statement’s own data "data"', async () => {
    const cases: [string, unknown][] = [
      ['ER_DUP_ENTRY', await failure(pool.query("INSERT INTO t (id, name) VALUES (1, 'dup')"))],
      // Strict mode (createPool sets STRICT_ALL_TABLES) refuses what it would otherwise truncate.
      ['ER_DATA_TOO_LONG', await failure(pool.query("INSERT INTO t (id, name) VALUES (3, 'too long')"))],
      [
        'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
        await failure(pool.query("INSERT INTO t (id, name, n) VALUES (4, 'x', 'lots')")),
      ],
      ['ER_BAD_NULL_ERROR', await failure(pool.query('INSERT INTO t (id, name) VALUES (5, NULL)'))],
      ['CHECK constraint', await failure(pool.query("INSERT INTO t (id, name, n) VALUES (6, 'x', -1)"))],
    ];
    expect(cases.map(([what, err]) => [what, classified(err)[1]])).toEqual(
      cases.map(([what]) => [what, 'data']),
    );
    expect(cases.slice(0, 4).map(([what, err]) => classified(err)[0] === what)).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('names a lock held elsewhere past innodb_lock_wait_timeout "infrastructure"', async () => {
    const holder = await pool.getConnection();
    try {
      await holder.beginTransaction();
      await holder.query('SELECT * FROM t WHERE id = 1 FOR UPDATE');
      const err = await failure(pool.query("UPDATE t SET name = 'w' WHERE id = 1"));
      expect(classified(err)).toEqual(['ER_LOCK_WAIT_TIMEOUT', 'infrastructure']);
    } finally {
      await holder.rollback();
      holder.release();
    }
  });

  it('names a deadlock "infrastructure"', async () => {
    const a = await pool.getConnection();
    const b = await pool.getConnection();
    try {
      await a.beginTransaction();
      await b.beginTransaction();
      await a.query('SELECT * FROM t WHERE id = 1 FOR UPDATE');
      await b.query('SELECT * FROM t WHERE id = 2 FOR UPDATE');
      // Each now waits for the other's row: InnoDB picks one as the victim at once.
      const results = await Promise.allSettled([
        a.query('SELECT * FROM t WHERE id = 2 FOR UPDATE'),
        b.query('SELECT * FROM t WHERE id = 1 FOR UPDATE'),
      ]);
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(errors.map(classified)).toEqual([['ER_LOCK_DEADLOCK', 'infrastructure']]);
    } finally {
      await a.rollback();
      await b.rollback();
      a.release();
      b.release();
    }
  });

  it('names a connection killed by the server "infrastructure"', async () => {
    const victimPool = createPool({ url: db.url, connectionLimit: 1 });
    try {
      const victim = await victimPool.getConnection();
      const [[row]] = await victim.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      await pool.query('KILL CONNECTION ?', [row?.id]);
      const err = await failure(victim.query('SELECT 1'));
      victim.release();
      expect(classifyDbError(err)).toBe('infrastructure');
      expect((err as { fatal?: unknown }).fatal).toBe(true);
    } finally {
      await victimPool.end();
    }
  });

  it('names a server that is not listening, and a pool already closed, "infrastructure"', async () => {
    const nowhere = createPool({ url: 'mysql://paysync:paysync@127.0.0.1:1/paysync' });
    const refused = await failure(nowhere.query('SELECT 1'));
    await nowhere.end();
    const closed = await failure(nowhere.query('SELECT 1'));
    expect([classified(refused), classifyDbError(closed)]).toEqual([
      ['ECONNREFUSED', 'infrastructure'],
      'infrastructure',
    ]);
  });

  it('names an account over its connection limit "infrastructure"', async () => {
    const user = `ps_errlimit_${process.pid}`;
    await pool.query(
      `CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY 'x' WITH MAX_USER_CONNECTIONS 1`,
    );
    await pool.query(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'127.0.0.1'`);
    const url = new URL(db.url);
    url.username = user;
    url.password = 'x';
    const limited = createPool({ url: url.toString(), connectionLimit: 2 });
    try {
      const first = await limited.getConnection();
      const err = await failure(limited.getConnection());
      first.release();
      // MariaDB answers ER_USER_LIMIT_REACHED, MySQL ER_TOO_MANY_USER_CONNECTIONS.
      expect(classified(err)).toEqual([
        expect.stringMatching(/^ER_(USER_LIMIT_REACHED|TOO_MANY_USER_CONNECTIONS)$/),
        'infrastructure',
      ]);
    } finally {
      await limited.end();
      await pool.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    }
  });

  it('names paysync’s own wrong SQL, and what is not a database error, "other"', async () => {
    const cases: [string, unknown][] = [
      ['ER_PARSE_ERROR', await failure(pool.query('SELEC 1'))],
      ['not a database error', new TypeError('x is not a function')],
      ['not an error', 'a string'],
    ];
    expect(cases.map(([what, err]) => [what, classifyDbError(err)])).toEqual(
      cases.map(([what]) => [what, 'other']),
    );
  });
});

// payctl says "cannot reach MySQL" for these, and only these.
describe('isConnectionFailure against the real server', () => {
  it('is true for a connection that could not be made, and false for a statement that failed', async () => {
    const at = (change: (u: URL) => void) => {
      const u = new URL(db.url);
      change(u);
      return createPool({ url: u.toString(), connectionLimit: 1 });
    };
    const attempts: [string, Pool][] = [
      [
        'refused',
        at((u) => {
          u.port = '1';
        }),
      ],
      [
        'wrong password',
        at((u) => {
          u.password = 'not-the-password';
        }),
      ],
      [
        'no such database',
        at((u) => {
          u.pathname = '/no_such_database_here';
        }),
      ],
    ];
    const cases: [string, unknown, boolean][] = [];
    for (const [what, p] of attempts) {
      cases.push([what, await failure(p.query('SELECT 1')), true]);
      await p.end();
    }
    cases.push([
      'duplicate key',
      await failure(pool.query("INSERT INTO t (id, name) VALUES (1, 'dup')")),
      false,
    ]);
    cases.push(['parse error', await failure(pool.query('SELEC 1')), false]);
    expect(cases.map(([what, err]) => [what, isConnectionFailure(err)])).toEqual(
      cases.map(([what, , expected]) => [what, expected]),
    );
  });
});
