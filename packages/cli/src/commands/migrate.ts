import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  applyGrants,
  COMPONENTS,
  type Component,
  componentUser,
  migrateUp,
  migrationStatus,
} from '@paysync/db';
import { dbEnv, grantsEnv, load } from '../config.ts';
import { CommandFailedError, type ExitCode, UsageError } from '../errors.ts';
import { json, table } from '../format.ts';
import type { Io } from '../io.ts';
import type { Resources } from '../resources.ts';

type Granted = { component: Component; account: string; statements: number };

/**
 * payctl migrate [--status] [--grants [components]]: apply pending migrations (under the migration
 * lock), or list them; with --grants, then create (or re-key) every component's database user with
 * exactly the grants of @paysync/db, reading each password from $PAYCTL_DB_PASSWORDS_DIR/<component>.
 */
export async function migrateCommand(
  res: Resources,
  io: Io,
  flags: { status?: boolean; json?: boolean; grants?: boolean | string },
): Promise<ExitCode> {
  const grants = flags.grants === undefined ? undefined : grantsPlan(io, flags.grants);
  const pool = res.pool();
  const applied: { version: number; name: string; ms: number }[] = [];
  const states = flags.status
    ? await migrationStatus(pool)
    : await migrateUp(pool, { onProgress: (e) => applied.push(e) });
  const granted: Granted[] = [];
  if (grants && !flags.status) {
    const database = decodeURIComponent(new URL(load(dbEnv, io.env).MYSQL_URL).pathname.replace(/^\//, ''));
    if (!database) throw new UsageError('MYSQL_URL: names no database (mysql://…/paysync)');
    for (const g of grants.components) {
      const account = { user: componentUser(g.component, grants.prefix), host: grants.host };
      const { statements } = await applyGrants(pool, {
        component: g.component,
        database,
        account,
        password: g.password,
      });
      granted.push({ component: g.component, account: `'${account.user}'@'${account.host}'`, statements });
    }
  }
  if (flags.json) json(io, { applied, migrations: states, ...(grants ? { granted } : {}) });
  else {
    if (!flags.status) {
      io.out(
        applied.length === 0
          ? 'schema up to date\n'
          : applied.map((a) => `applied ${a.version}_${a.name} (${a.ms} ms)\n`).join(''),
      );
    }
    io.out(
      table(
        ['version', 'name', 'state'],
        states.map((s) => [String(s.version).padStart(4, '0'), s.name, s.state]),
      ),
    );
    for (const g of granted) io.out(`granted ${g.component} to ${g.account} (${g.statements} grants)\n`);
  }
  return states.some((s) => s.state === 'modified') ? 1 : 0;
}

/** Which components, and their passwords, read before anything changes (a missing file fails first). */
function grantsPlan(
  io: Io,
  list: boolean | string,
): { host: string; prefix: string; components: { component: Component; password: string }[] } {
  const env = load(grantsEnv, io.env);
  const wanted =
    typeof list === 'string'
      ? list
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean)
      : [...COMPONENTS];
  const unknown = wanted.filter((c) => !(COMPONENTS as readonly string[]).includes(c));
  if (unknown.length > 0) {
    throw new UsageError(
      `--grants: unknown component(s) ${unknown.join(', ')} (known: ${COMPONENTS.join(', ')})`,
    );
  }
  const dir = env.PAYCTL_DB_PASSWORDS_DIR;
  if (!dir) throw new UsageError('PAYCTL_DB_PASSWORDS_DIR: is required with --grants');
  return {
    host: env.PAYCTL_DB_USER_HOST,
    prefix: env.PAYCTL_DB_USER_PREFIX,
    components: (wanted as Component[]).map((component) => {
      let password: string;
      try {
        password = readFileSync(join(dir, component), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new CommandFailedError(
          `PAYCTL_DB_PASSWORDS_DIR: cannot read the password file of ${component} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
      if (password.length < 12) {
        throw new CommandFailedError(
          `PAYCTL_DB_PASSWORDS_DIR: the password file of ${component} holds fewer than 12 characters`,
        );
      }
      return { component, password };
    }),
  };
}
