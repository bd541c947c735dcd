-- Orders finalised unpaid (expired, cancelled, failed) are now re-checked by the sweep: 1 h and 24 h
-- after they became final (the ledger and the sync schedule it in next_check_at). Orders that became
-- final before this release kept the next_check_at of their last pending check; without this, the
-- sweep would take every one of them at once, oldest first, ahead of the pending orders.
UPDATE payment_orders SET next_check_at = NULL WHERE status <> 'pending' AND next_check_at IS NOT NULL;
