import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';

/** The migrations shipped with this package. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/**
 * The migration lock's name. MySQL's named locks are server-wide: the name carries the database's,
 * so that two environments (two databases on one server) do not wait for each other.
 */
async function lockName(conn: PoolConnection): Promise<string> {
  const [[row]] = await conn.query<(RowDataPacket & { db: string | null })[]>('SELECT DATABASE() AS db');
  const db = row?.db ?? '';
  return `paysync_migrate_${createHash('sha256').update(db).digest('hex').slice(0, 32)}`;
}

export type Migration = { version: number; name: string; checksum: string; statements: string[] };
export type MigrationState = { version: number; name: string; state: 'applied' | 'pending' | 'modified' };

export class MigrationError extends Error {
  readonly code:
    | 'MIGRATION_CHECKSUM_MISMATCH'
    | 'MIGRATION_UNKNOWN_APPLIED'
    | 'MIGRATION_LOCK_TIMEOUT'
    | 'MIGRATION_FAILED';
  constructor(code: MigrationError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
    this.code = code;
  }
}

/**
 * Splits a migration file into statements: a statement ends with `;` at the end of a line.
 * Comment lines are dropped. (Migrations hold plain DDL/DML: no procedures or triggers.)
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of sql.split('\n')) {
    if (/^\s*--/.test(line) || (current.length === 0 && line.trim() === '')) continue;
    current.push(line);
    if (/;\s*$/.test(line)) {
      statements.push(current.join('\n').replace(/;\s*$/, '').trim());
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest) statements.push(rest);
  return statements;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_NAME.exec(file);
    if (!m)
      throw new MigrationError(
        'MIGRATION_FAILED',
        `migration file name must look like 0001_name.sql: ${file}`,
      );
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({
      version: Number(m[1]),
      name: m[2] as string,
      checksum: createHash('sha256').update(sql).digest('hex'),
      statements: splitStatements(sql),
    });
  }
  const versions = new Set(migrations.map((x) => x.version));
  if (versions.size !== migrations.length)
    throw new MigrationError('MIGRATION_FAILED', `duplicate migration version in ${dir}`);
  return migrations;
}

type AppliedRow = RowDataPacket & { version: number; name: string; checksum: string };

async function ensureTable(conn: PoolConnection): Promise<void> {
  await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT UNSIGNED NOT NULL PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    checksum CHAR(64) NOT NULL,
    execution_ms INT UNSIGNED NOT NULL,
    applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`);
  // The statements of a migration that ran before it failed half-way: MariaDB commits each DDL
  // statement by itself, so a failed migration cannot be rolled back — it is resumed instead.
  await conn.query(`CREATE TABLE IF NOT EXISTS schema_migration_steps (
    version INT UNSIGNED NOT NULL,
    step INT UNSIGNED NOT NULL,
    checksum CHAR(64) NOT NULL,
    done_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (version, step)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`);
}

/** Steps of `version` already done (by a run that failed later), for the same file only. */
async function doneSteps(conn: PoolConnection, m: Migration): Promise<Set<number>> {
  const [rows] = await conn.query<(RowDataPacket & { step: number; checksum: string })[]>(
    'SELECT step, checksum FROM schema_migration_steps WHERE version = ?',
    [m.version],
  );
  return new Set(rows.filter((r) => r.checksum === m.checksum).map((r) => Number(r.step)));
}

async function applied(conn: PoolConnection): Promise<Map<number, AppliedRow>> {
  const [rows] = await conn.query<AppliedRow[]>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return new Map(rows.map((r) => [r.version, r]));
}

function compare(migrations: Migration[], done: Map<number, AppliedRow>): MigrationState[] {
  const known = new Set(migrations.map((m) => m.version));
  for (const [version, row] of done) {
    if (!known.has(version)) {
      throw new MigrationError(
        'MIGRATION_UNKNOWN_APPLIED',
        `the database has migration ${version} (${row.name}) that this build does not know: is this build older than the database?`,
      );
    }
  }
  return migrations.map((m) => {
    const row = done.get(m.version);
    const state = !row ? 'pending' : row.checksum === m.checksum ? 'applied' : 'modified';
    return { version: m.version, name: m.name, state };
  });
}

/** Lists every migration as applied, pending, or modified since it was applied. */
export async function migrationStatus(pool: Pool, dir = MIGRATIONS_DIR): Promise<MigrationState[]> {
  const conn = await pool.getConnection();
  try {
    await ensureTable(conn);
    return compare(await loadMigrations(dir), await applied(conn));
  } finally {
    conn.release();
  }
}

export type MigrateOptions = {
  dir?: string;
  lockTimeoutSeconds?: number;
  /**
   * Seconds a statement waits for a table's metadata lock (lock_wait_timeout; default 10). A DDL
   * waiting behind a long transaction on payment_orders would otherwise make every query on that
   * table queue behind it: the migration fails instead, and can simply be run again.
   */
  ddlLockWaitSeconds?: number;
  onProgress?: (event: { version: number; name: string; ms: number }) => void;
};

/**
 * Applies pending migrations in order under a named lock, so concurrent runners (several pods
 * starting at once) apply each migration once. Refuses to run when an applied migration's file
 * has changed since: edit history with a new migration, never in place.
 */
export async function migrateUp(pool: Pool, opts: MigrateOptions = {}): Promise<MigrationState[]> {
  const conn = await pool.getConnection();
  const name = await lockName(conn);
  try {
    const [[lock]] = await conn.query<(RowDataPacket & { got: number | null })[]>(
      'SELECT GET_LOCK(?, ?) AS got',
      [name, opts.lockTimeoutSeconds ?? 60],
    );
    if (lock?.got !== 1) {
      throw new MigrationError(
        'MIGRATION_LOCK_TIMEOUT',
        'another migration run holds the lock; try again later',
      );
    }
    try {
      await conn.query('SET SESSION lock_wait_timeout = ?', [opts.ddlLockWaitSeconds ?? 10]);
      await ensureTable(conn);
      const migrations = await loadMigrations(opts.dir);
      const states = compare(migrations, await applied(conn));
      const modified = states.filter((s) => s.state === 'modified');
      if (modified.length > 0) {
        throw new MigrationError(
          'MIGRATION_CHECKSUM_MISMATCH',
          `applied migration(s) changed since they ran: ${modified.map((s) => `${s.version}_${s.name}`).join(', ')}; add a new migration instead of editing one`,
        );
      }
      for (const m of migrations) {
        if (states.find((s) => s.version === m.version)?.state !== 'pending') continue;
        const started = Date.now();
        const done = await doneSteps(conn, m);
        for (const [step, statement] of m.statements.entries()) {
          if (done.has(step)) continue;
          try {
            await conn.query(statement);
          } catch (err) {
            throw new MigrationError(
              'MIGRATION_FAILED',
              `migration ${m.version}_${m.name} failed at statement ${step + 1} of ${m.statements.length} (the ${step} before it are done and are not run again): ${(err as Error).message}`,
              { cause: err },
            );
          }
          await conn.query(
            'INSERT IGNORE INTO schema_migration_steps (version, step, checksum) VALUES (?, ?, ?)',
            [m.version, step, m.checksum],
          );
        }
        const ms = Date.now() - started;
        await conn.query(
          'INSERT INTO schema_migrations (version, name, checksum, execution_ms) VALUES (?, ?, ?, ?)',
          [m.version, m.name, m.checksum, ms],
        );
        await conn.query('DELETE FROM schema_migration_steps WHERE version = ?', [m.version]);
        opts.onProgress?.({ version: m.version, name: m.name, ms });
      }
      return compare(migrations, await applied(conn));
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [name]);
    }
  } finally {
    conn.release();
  }
}
