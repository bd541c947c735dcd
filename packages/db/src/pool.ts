import mysql, { type Pool, type PoolConnection } from 'mysql2/promise';

export type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export type PoolOptions = {
  url: string;
  connectionLimit?: number;
  /** Seconds a statement may wait for a row lock before failing (innodb_lock_wait_timeout). */
  lockWaitTimeoutSeconds?: number;
};

/**
 * A mysql2 pool whose every connection runs in UTC with strict SQL mode, so DATETIME values mean
 * the same on every server and bad data is refused rather than truncated.
 */
export function createPool(opts: PoolOptions): Pool {
  const pool = mysql.createPool({
    uri: opts.url,
    connectionLimit: opts.connectionLimit ?? 10,
    waitForConnections: true,
    enableKeepAlive: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
    multipleStatements: false,
    charset: 'utf8mb4_bin',
  });
  const lockWait = opts.lockWaitTimeoutSeconds ?? 10;
  pool.pool.on('connection', (conn) => {
    conn.query(
      `SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', SESSION innodb_lock_wait_timeout = ${Number(lockWait)}`,
    );
  });
  return pool;
}

/** The URL with its password replaced, for log lines and error messages. */
export function redactMysqlUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable MySQL URL)';
  }
}

/** Runs `fn` in a transaction on one connection; commits on success, rolls back on any error. */
export async function withTransaction<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    try {
      await conn.rollback();
    } catch {
      // The connection is broken; the server rolls the transaction back when it closes.
      conn.destroy();
      throw err;
    }
    throw err;
  } finally {
    conn.release();
  }
}

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** Deadlocks and lock-wait timeouts: the whole transaction may be retried. */
export function isRetryableTransactionError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RETRYABLE.has((err as { code?: string }).code ?? '');
}

/**
 * A row lock held elsewhere for longer than innodb_lock_wait_timeout (an operator's open
 * `SELECT … FOR UPDATE`, a long transaction): waiting again would only wait again.
 */
export function isLockWaitTimeout(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ER_LOCK_WAIT_TIMEOUT'
  );
}

/** A duplicate-key error: a unique key refused a second row (used for exactly-once writes). */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ER_DUP_ENTRY';
}

/**
 * Server errors that are about the statement's own data, by error number (MySQL and MariaDB agree
 * on these): a duplicate on a unique key, a CHECK constraint, a value too long, out of range,
 * truncated or NULL where none is allowed, a foreign key, invalid JSON.
 */
const DATA_ERRNOS = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1292, // ER_TRUNCATED_WRONG_VALUE
  1365, // ER_DIVISION_BY_ZERO
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1406, // ER_DATA_TOO_LONG
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  1586, // ER_DUP_ENTRY_WITH_KEY_NAME
  3140, // ER_INVALID_JSON_TEXT (MySQL)
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
]);

/**
 * True only for an error known to be about the data a statement carried — the same statement with
 * other data would succeed. Everything else (the server unreachable, read-only after a failover,
 * missing grants, a table or column not migrated yet, a full disk, too many connections, a lock
 * wait) says the database is not ready for any data: retry, never discard the data.
 */
export function isDataError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { errno, sqlMessage } = err as { errno?: number; sqlMessage?: string };
  if (typeof errno !== 'number') return false;
  // MariaDB's CHECK constraint error; 4025 is another error on MySQL, hence the message.
  if (errno === 4025) return /^CONSTRAINT .* failed/.test(sqlMessage ?? '');
  return DATA_ERRNOS.has(errno);
}

/** A statement paysync itself wrote wrongly: a bug, never the database's state. */
const STATEMENT_BUG_ERRNOS = new Set([1064 /* ER_PARSE_ERROR */, 1210 /* ER_WRONG_ARGUMENTS */]);

/**
 * True for an error of the database rather than of the data or the code: the server unreachable,
 * restarting, read-only, out of connections, refusing the account, a table or column not migrated.
 * A request that met one can succeed later unchanged (503 and retry, not 500).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || isDataError(err)) return false;
  const { code, errno, sqlState, fatal, message } = err as {
    code?: unknown;
    errno?: unknown;
    sqlState?: unknown;
    fatal?: unknown;
    message?: unknown;
  };
  if (typeof errno === 'number' && STATEMENT_BUG_ERRNOS.has(errno)) return false;
  return (
    fatal === true ||
    typeof sqlState === 'string' ||
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|PROTOCOL_)/.test(
      typeof code === 'string' ? code : '',
    ) ||
    /Pool is closed|connection is in closed state/i.test(typeof message === 'string' ? message : '')
  );
}
