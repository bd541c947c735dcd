// Each process of the stack signs in to MariaDB as its own user with the grants of production
// (packages/db/src/grants.ts), the password in a file (MYSQL_PASSWORD_FILE) and MYSQL_URL without
// it, as the chart does: a grant a component lacks fails here, on a laptop, not in production.
// The stack's MYSQL_URL is only the administrator that migrates and creates these users.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createComponentAccount, type Component as DbComponent } from '@paysync/db';
import { StackError } from './errors.ts';

/** The components the stack runs under accounts of their own. */
export type StackAccountName = Extract<
  DbComponent,
  'receiver' | 'orders' | 'ledger' | 'alerting' | 'reconciler'
>;

/** What a process gets: a password-less URL and the file with the password. */
export type StackAccount = { user: string; url: string; passwordFile: string };

export type StackAccounts = {
  accounts: Partial<Record<StackAccountName, StackAccount>>;
  /** Drops every user created here. */
  drop(): Promise<void>;
};

/**
 * A user name per stack and component: the same on every start of a stack directory against the
 * same database (re-keyed, not piled up), different for stacks side by side (tests, benchmarks).
 */
export function stackUser(dir: string, adminUrl: string, component: StackAccountName): string {
  const u = new URL(adminUrl);
  const hash = createHash('sha256').update(`${dir}\n${u.host}${u.pathname}`).digest('hex').slice(0, 10);
  return `ps${hash}_${component}`;
}

/** Creates (or re-keys) the users of `components` in the database of `adminUrl`. */
export async function createStackAccounts(opts: {
  adminUrl: string;
  dir: string;
  secretsDir: string;
  components: readonly StackAccountName[];
}): Promise<StackAccounts> {
  const accounts: StackAccounts['accounts'] = {};
  const drops: (() => Promise<void>)[] = [];
  const drop = async () => {
    for (const d of drops.splice(0).reverse()) await d().catch(() => {});
  };
  try {
    for (const component of opts.components) {
      const user = stackUser(opts.dir, opts.adminUrl, component);
      const password = randomBytes(18).toString('base64url');
      const created = await createComponentAccount(opts.adminUrl, component, { user, password }).catch(
        (err: unknown) => {
          const code = (err as { code?: string }).code ?? (err as Error).message;
          throw new StackError(
            'DATABASE_ACCOUNTS',
            `could not create the database user of the ${component} (${code}): the user of MYSQL_URL needs CREATE USER and GRANT OPTION`,
          );
        },
      );
      drops.push(created.drop);
      const passwordFile = join(opts.secretsDir, `mysql-${component}`);
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      const url = new URL(created.url);
      url.password = '';
      accounts[component] = { user, url: url.toString(), passwordFile };
    }
  } catch (err) {
    await drop();
    throw err;
  }
  return { accounts, drop };
}
