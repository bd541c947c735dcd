import { createHash } from 'node:crypto';
import type { Pool, PoolConnection, RowDataPacket } from '@paysync/db';
import { StoreFailedError } from './errors.ts';

export type AdvisoryLock = {
  readonly name: string;
  readonly acquired: boolean;
  /** Releases the lock (if held) and returns the connection to the pool. Safe to call twice. */
  release(): Promise<void>;
};

/** MySQL lock names are at most 64 characters. */
const MAX_LOCK_NAME = 64;

/**
 * The lock name scoped to the current database: MySQL's named locks are server-wide, and two
 * environments (or test databases) on one server must not exclude each other.
 */
export function scopedLockName(database: string | null, name: string): string {
  const scoped = `${database ?? ''}.${name}`;
  if (scoped.length <= MAX_LOCK_NAME) return scoped;
  const hash = createHash('sha256')
    .update(database ?? '')
    .digest('hex')
    .slice(0, 12);
  return `${hash}.${name}`.slice(0, MAX_LOCK_NAME);
}

/**
 * MySQL's named lock (GET_LOCK with timeout 0: never waits), scoped to the current database. It
 * belongs to one connection, which is kept out of the pool for as long as the lock is held; if that
 * connection dies, the server releases the lock, and the page claims still keep two runs apart.
 */
export async function tryAdvisoryLock(pool: Pool, baseName: string): Promise<AdvisoryLock> {
  let conn: PoolConnection;
  try {
    conn = await pool.getConnection();
  } catch (err) {
    throw new StoreFailedError('connection for the advisory lock', { cause: err });
  }
  let got: number | null | undefined;
  let name = baseName;
  try {
    const [db] = await conn.query<(RowDataPacket & { db: string | null })[]>('SELECT DATABASE() AS db');
    name = scopedLockName(db[0]?.db ?? null, baseName);
    const [rows] = await conn.query<(RowDataPacket & { got: number | null })[]>(
      'SELECT GET_LOCK(?, 0) AS got',
      [name],
    );
    got = rows[0]?.got;
  } catch (err) {
    conn.release();
    throw new StoreFailedError('GET_LOCK', { cause: err });
  }
  const acquired = got === 1;
  let released = false;
  if (!acquired) {
    conn.release();
    released = true;
  }
  return {
    name,
    acquired,
    release: async () => {
      if (released) return;
      released = true;
      try {
        await conn.query('SELECT RELEASE_LOCK(?)', [name]);
        conn.release();
      } catch {
        // The connection is gone, and the lock with it.
        conn.destroy();
      }
    },
  };
}
