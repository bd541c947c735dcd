import { randomBytes } from 'node:crypto';
import mysql, { type Pool } from 'mysql2/promise';

/**
 * The database rights of every paysync component, written once: `payctl migrate --grants` applies
 * them, the integration tests run each component under a user made from them, and the docs list
 * them. A component gets what its own SQL needs and nothing else; a missing grant fails that
 * component's tests.
 */
export const COMPONENTS = [
  'migrate',
  'receiver',
  'orders',
  'ledger',
  'reconciler',
  'operator',
  'alerting',
  'payctl',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** `privileges` are MariaDB privilege names, column lists allowed: `UPDATE (a, b)`. */
export type TableGrant = { table: string | '*'; privileges: readonly string[] };

/** The refund bookkeeping a refund's driver writes (packages/db refundTracker), and nothing else. */
const REFUND_TRACKING = `UPDATE (refund_id, submitted_at, last_checked_at, check_attempts, next_check_at, last_error, status, failure_code, hold_released_at)`;
/** The reconciler's scheduling columns of an order (packages/reconcile store); states are the ledger's. */
const ORDER_SCHEDULING = 'UPDATE (next_check_at, check_attempts, last_checked_at, last_wechat_state)';

/** A person's answer to a payment review (payctl review resolve); the ledger opens them. */
const REVIEW_RESOLUTION = 'UPDATE (resolution, resolved_by, resolved_reason, resolved_at)';

const read = (...tables: string[]): TableGrant[] =>
  tables.map((table) => ({ table, privileges: ['SELECT'] }));
const CERTIFICATES: TableGrant = {
  table: 'wechatpay_platform_certificates',
  privileges: ['SELECT', 'INSERT'],
};
const AUDIT: TableGrant = { table: 'operator_audit_log', privileges: ['SELECT', 'INSERT', 'UPDATE'] };
const BILL: TableGrant[] = [
  { table: 'trade_bill_runs', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
  { table: 'trade_bill_differences', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
];

export const COMPONENT_GRANTS: Readonly<Record<Component, readonly TableGrant[]>> = {
  // Schema changes (DDL) on the paysync database only.
  migrate: [{ table: '*', privileges: ['ALL PRIVILEGES'] }],
  // The public notification receiver: it only reads the platform certificates the signing
  // components archived (to verify notifications). It writes nothing: a compromised public edge
  // cannot insert an order or a refund for the sweep to send to WeChat Pay.
  receiver: [{ table: 'wechatpay_platform_certificates', privileges: ['SELECT'] }],
  // The private order service (GATEWAY_ROLE=orders): creates and reads orders, accepts refunds and
  // drives them (the refund bookkeeping columns), archives the WeChat Pay platform certificates its
  // signing client downloads (the receiver and the ledger verify with them). Nothing on the ledger,
  // the accounts or an order's state: a leaked order-service password mints no points.
  orders: [
    { table: 'payment_orders', privileges: ['SELECT', 'INSERT'] },
    { table: 'payment_refunds', privileges: ['SELECT', 'INSERT', REFUND_TRACKING] },
    CERTIFICATES,
  ],
  // The only writer of the ledger, order states and accounts.
  ledger: [
    { table: 'payment_orders', privileges: ['SELECT', 'UPDATE'] },
    { table: 'payment_refunds', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    { table: 'order_observations', privileges: ['SELECT', 'INSERT'] },
    { table: 'point_transactions', privileges: ['SELECT', 'INSERT'] },
    { table: 'point_accounts', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    { table: 'ledger_outbox', privileges: ['SELECT', 'INSERT', 'DELETE'] },
    { table: 'evidence_bindings', privileges: ['SELECT', 'INSERT'] },
    { table: 'payment_reviews', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    ...read('wechatpay_platform_certificates'),
  ],
  // The sweep (scheduling columns), the refund sweep, the bill run.
  reconciler: [
    { table: 'payment_orders', privileges: ['SELECT', ORDER_SCHEDULING] },
    { table: 'payment_refunds', privileges: ['SELECT', REFUND_TRACKING] },
    ...read('order_observations', 'point_transactions'),
    ...BILL,
    AUDIT,
    CERTIFICATES,
  ],
  // PaymentRepair: reads orders and their journal, publishes observations, writes the audit.
  operator: [...read('payment_orders', 'payment_refunds', 'order_observations'), AUDIT, CERTIFICATES],
  alerting: [{ table: 'alert_deliveries', privileges: ['SELECT', 'INSERT', 'UPDATE'] }],
  // The operator's CLI (everything but migrate, which runs as `migrate`).
  payctl: [
    ...read('payment_orders', 'order_observations', 'point_transactions', 'point_accounts', 'ledger_outbox'),
    { table: 'payment_refunds', privileges: ['SELECT', 'INSERT', REFUND_TRACKING] },
    { table: 'payment_reviews', privileges: ['SELECT', REVIEW_RESOLUTION] },
    ...BILL,
    AUDIT,
    CERTIFICATES,
  ],
};

export type Account = { user: string; host: string };

function quoteName(name: string): string {
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(name)) throw new Error(`invalid database name ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

function account(a: Account): string {
  if (!/^[A-Za-z0-9_.-]{1,80}$/.test(a.user))
    throw new Error(`invalid database user ${JSON.stringify(a.user)}`);
  if (!/^[A-Za-z0-9_.%:-]{1,255}$/.test(a.host))
    throw new Error(`invalid database host ${JSON.stringify(a.host)}`);
  return `'${a.user}'@'${a.host}'`;
}

/** The GRANT statements of one component in `database` (no password in them). */
export function grantStatements(component: Component, database: string, to: Account): string[] {
  const db = quoteName(database);
  return COMPONENT_GRANTS[component].map(
    (g) =>
      `GRANT ${g.privileges.join(', ')} ON ${db}.${g.table === '*' ? '*' : quoteName(g.table)} TO ${account(to)}`,
  );
}

/** The component's user name (`paysync_orders`, …). */
export function componentUser(component: Component, prefix = 'paysync_'): string {
  return `${prefix}${component}`;
}

/**
 * Creates (or re-keys) the account and gives it exactly the component's grants: every earlier
 * right is revoked first, so applying twice, or after a right was dropped from the table, leaves
 * the same result. Needs CREATE USER and GRANT OPTION; the password is passed as a parameter and
 * never appears in a returned value, log or error.
 */
export async function applyGrants(
  pool: Pool,
  opts: { component: Component; database: string; account: Account; password: string },
): Promise<{ statements: number }> {
  const who = account(opts.account);
  const conn = await pool.getConnection();
  try {
    try {
      await conn.query(`CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ?`, [opts.password]);
      await conn.query(`ALTER USER ${who} IDENTIFIED BY ?`, [opts.password]);
    } catch (err) {
      // mysql2 puts the statement (with the password) into the error: never let it out.
      const code = (err as { code?: string }).code ?? 'error';
      throw new Error(`could not create or re-key ${who} (${code})`);
    }
    await conn.query(`REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${who}`);
    const statements = grantStatements(opts.component, opts.database, opts.account);
    for (const s of statements) await conn.query(s);
    return { statements: statements.length };
  } finally {
    conn.release();
  }
}

/**
 * A new account with exactly `component`'s grants in the database of `adminUrl` (whose user may
 * create users), for tests and local stacks: returns that account's URL and a `drop()`.
 */
export async function createComponentAccount(
  adminUrl: string,
  component: Component,
  opts: { user?: string; host?: string; password?: string } = {},
): Promise<{ url: string; account: Account; drop: () => Promise<void> }> {
  const base = new URL(adminUrl);
  const database = decodeURIComponent(base.pathname.replace(/^\//, ''));
  const to: Account = {
    user: opts.user ?? `${component.slice(0, 10)}_${randomBytes(6).toString('hex')}`,
    host: opts.host ?? '%',
  };
  const password = opts.password ?? randomBytes(18).toString('base64url');
  const admin = mysql.createPool({ uri: adminUrl, connectionLimit: 1 });
  try {
    await applyGrants(admin, { component, database, account: to, password });
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.username = to.user;
  url.password = password;
  return {
    url: url.toString(),
    account: to,
    drop: async () => {
      const conn = await mysql.createConnection({ uri: adminUrl });
      try {
        await conn.query(`DROP USER IF EXISTS ${account(to)}`);
      } finally {
        await conn.end();
      }
    },
  };
}
