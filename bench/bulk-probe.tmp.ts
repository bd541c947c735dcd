import { createPool, migrateUp } from '@paysync/db';
import { createIsolatedDatabase } from '@paysync/testkit';
const db = await createIsolatedDatabase('bulk_probe');
const pool = createPool({ url: db.url, connectionLimit: 2 });
await migrateUp(pool);
const digits = '(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';
const t0 = Date.now();
for (let chunk = 0; chunk < 10; chunk++) {
  const c0 = Date.now();
  await pool.query(`INSERT INTO payment_orders (out_trade_no, user_id, mchid, appid, trade_type, description, amount_total, points, status, transaction_id, time_expire, next_check_at, created_at)
    SELECT CONCAT('BF', LPAD(n, 10, '0')), CONCAT('u', n % 50000), '1900009191', 'wxd678efh567hg6787', 'NATIVE', 'points recharge', 1000, 1000,
      CASE WHEN n % 10 < 7 THEN 'paid' WHEN n % 10 < 9 THEN 'expired' ELSE 'pending' END,
      CASE WHEN n % 10 < 7 THEN CONCAT('42', LPAD(n, 14, '0')) ELSE NULL END,
      NOW(3) - INTERVAL (n % 43200) MINUTE + INTERVAL 30 MINUTE,
      CASE WHEN n % 10 < 9 THEN NOW(3) - INTERVAL (n % 43200) MINUTE ELSE NOW(3) + INTERVAL (1 + n % 600) MINUTE END,
      NOW(3) - INTERVAL (n % 43200) MINUTE
    FROM (SELECT ${chunk * 100000} + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d AS n FROM ${digits} a, ${digits} b, ${digits} c, ${digits} e, ${digits} f) seq`);
  console.log('chunk', chunk, Date.now() - c0, 'ms');
}
console.log('total', Date.now() - t0);
await pool.end();
await db.drop();
