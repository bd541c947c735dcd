-- Serve the "pending past expiry" gauge and alert, and the alerting service's per-channel
-- delivery loop, from indexes rather than scans.

CREATE INDEX idx_payment_orders_status_expire ON payment_orders (status, time_expire);

CREATE INDEX idx_alert_deliveries_channel_due ON alert_deliveries (state, channel, next_attempt_at);
