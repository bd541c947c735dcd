-- The bill run reads a day's paid orders (success_time range, merchant, status → out_trade_no and
-- amount): with every column it reads in the index, that is one index range scan and no lookup of
-- the row by primary key per order. At 1,000,000 orders a day it took MariaDB 1.76 s of CPU with
-- the success_time index and 0.56 s with this one (npm run bench -- bill-reconcile). It replaces
-- idx_payment_orders_success_time, its prefix. Both statements are online in InnoDB (no table lock).
CREATE INDEX idx_payment_orders_paid_day
  ON payment_orders (success_time, mchid, status, amount_total, out_trade_no);

DROP INDEX idx_payment_orders_success_time ON payment_orders;
