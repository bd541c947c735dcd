-- Payments a person must decide about, kept until one does: a settlement mismatch (WeChat Pay
-- reported an amount, merchant, app or transaction that is not the order's: never settled) and a
-- late payment (settled after the order had expired, been cancelled or failed: keep it or refund
-- it). The ledger opens a review in the transaction that journals the observation; `payctl review
-- resolve` closes it (who, what was done, why; audited). The alerts PaysyncSettlementMismatch and
-- PaysyncLatePayments fire while reviews are open (paysync_ledger_open_reviews), however long ago
-- the payment was seen.
--
-- One review per order, kind and WeChat transaction: the same payment seen again (the sweep queries
-- a pending order every run) counts in seen_count and does not reopen an answered review; another
-- transaction for the same order is a new question.
CREATE TABLE IF NOT EXISTS payment_reviews (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  kind             VARCHAR(16)   NOT NULL,
  out_trade_no     VARCHAR(32)   NOT NULL,
  transaction_id   VARCHAR(32)   NOT NULL DEFAULT '',
  observation_id   CHAR(36)      NOT NULL,
  detail           VARCHAR(512)  NULL,
  observed_fen     BIGINT        NULL,
  seen_count       INT UNSIGNED  NOT NULL DEFAULT 1,
  first_seen_at    DATETIME(3)   NOT NULL,
  last_seen_at     DATETIME(3)   NOT NULL,
  resolution       VARCHAR(16)   NULL,
  resolved_by      VARCHAR(128)  NULL,
  resolved_reason  VARCHAR(1024) NULL,
  resolved_at      DATETIME(3)   NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_payment_reviews (out_trade_no, kind, transaction_id),
  KEY idx_payment_reviews_open (resolved_at, kind),
  CONSTRAINT chk_payment_reviews_kind CHECK (kind IN ('mismatch', 'late_payment')),
  CONSTRAINT chk_payment_reviews_resolution
    CHECK (resolution IS NULL OR resolution IN ('kept', 'refunded', 'not_ours', 'other')),
  CONSTRAINT chk_payment_reviews_resolved
    CHECK ((resolved_at IS NULL) = (resolution IS NULL)
       AND (resolved_at IS NULL) = (resolved_by IS NULL)
       AND (resolved_at IS NULL) = (resolved_reason IS NULL))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The last day's mismatches and late payments from the journal, so that what the 24-hour alerts of
-- earlier versions showed is still shown after the upgrade.
INSERT IGNORE INTO payment_reviews
  (kind, out_trade_no, transaction_id, observation_id, detail, observed_fen, first_seen_at, last_seen_at)
SELECT CASE outcome WHEN 'late' THEN 'late_payment' ELSE 'mismatch' END, out_trade_no,
       COALESCE(transaction_id, ''), observation_id, detail, amount_total, recorded_at, recorded_at
  FROM order_observations
 WHERE outcome IN ('mismatch', 'late') AND recorded_at >= NOW(3) - INTERVAL 1 DAY;
