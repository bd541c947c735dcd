-- T+1 trade-bill reconciliation: one row per bill run (merchant, Beijing day, bill type) and one per
-- difference found between WeChat Pay's bill and the books. Re-running a day updates these rows.

CREATE TABLE IF NOT EXISTS trade_bill_runs (
  id                    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  mchid                 VARCHAR(32)   NOT NULL,
  bill_date             DATE          NOT NULL,
  bill_type             VARCHAR(8)    NOT NULL DEFAULT 'ALL',
  status                VARCHAR(24)   NOT NULL,
  attempts              INT UNSIGNED  NOT NULL DEFAULT 0,
  error_code            VARCHAR(64)   NULL,
  error_detail          VARCHAR(1024) NULL,
  -- The file, for audit: SHA-1 of the decompressed bytes (= WeChat's hash_value), its size, where it
  -- came from (without the token) and where a copy was kept, if one was.
  file_sha1             CHAR(40)      NULL,
  file_size             BIGINT        NULL,
  file_location         VARCHAR(512)  NULL,
  archive_path          VARCHAR(512)  NULL,
  rows_total            INT UNSIGNED  NULL,
  payment_rows          INT UNSIGNED  NULL,
  refund_rows           INT UNSIGNED  NULL,
  revoked_rows          INT UNSIGNED  NULL,
  settlement_total      BIGINT        NULL,
  refund_total          BIGINT        NULL,
  fee_total             BIGINT        NULL,
  order_total           BIGINT        NULL,
  differences           INT UNSIGNED  NULL,
  critical_differences  INT UNSIGNED  NULL,
  started_at            DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  finished_at           DATETIME(3)   NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_trade_bill_runs_day (mchid, bill_date, bill_type),
  KEY idx_trade_bill_runs_status_date (status, bill_date),
  CONSTRAINT chk_trade_bill_runs_status
    CHECK (status IN ('running', 'succeeded', 'statement_creating', 'no_statement', 'failed'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS trade_bill_differences (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  mchid             VARCHAR(32)   NOT NULL,
  bill_date         DATE          NOT NULL,
  class             VARCHAR(32)   NOT NULL,
  -- What the difference is about: the out_refund_no for a refund, else the out_trade_no (or the day).
  ref_key           VARCHAR(64)   NOT NULL,
  out_trade_no      VARCHAR(32)   NULL,
  out_refund_no     VARCHAR(64)   NULL,
  severity          VARCHAR(8)    NOT NULL,
  action            VARCHAR(16)   NOT NULL,
  action_status     VARCHAR(12)   NOT NULL DEFAULT 'pending',
  action_result     VARCHAR(512)  NULL,
  ours              JSON          NULL,
  theirs            JSON          NULL,
  -- open: to be handled; held: waiting for a later bill (the midnight boundary); resolved.
  status            VARCHAR(12)   NOT NULL DEFAULT 'open',
  resolution        VARCHAR(24)   NULL,
  resolved_by       VARCHAR(128)  NULL,
  resolved_reason   VARCHAR(1024) NULL,
  resolved_at       DATETIME(3)   NULL,
  first_seen_at     DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_seen_at      DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_trade_bill_differences (mchid, bill_date, class, ref_key),
  KEY idx_trade_bill_differences_status (status, severity),
  KEY idx_trade_bill_differences_order (out_trade_no),
  CONSTRAINT chk_trade_bill_differences_severity CHECK (severity IN ('info', 'warning', 'critical')),
  CONSTRAINT chk_trade_bill_differences_status CHECK (status IN ('open', 'held', 'resolved')),
  CONSTRAINT chk_trade_bill_differences_action_status
    CHECK (action_status IN ('pending', 'done', 'failed', 'none'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The day's paid orders and reversals, read by time rather than by scanning the tables.
CREATE INDEX idx_payment_orders_success_time ON payment_orders (success_time);

CREATE INDEX idx_point_transactions_entry_created ON point_transactions (entry_type, created_at);
