-- paysync initial schema. Works on MariaDB 10.11 and MySQL 8.0.16+ (CHECK constraints enforced).
-- Times are UTC (the pool sets time_zone = '+00:00'); money is integer fen.

CREATE TABLE IF NOT EXISTS point_accounts (
  user_id        VARCHAR(64)  NOT NULL,
  balance        BIGINT       NOT NULL DEFAULT 0,
  -- Set when a reversal took the balance below zero (a refund of points already spent).
  flagged        TINYINT(1)   NOT NULL DEFAULT 0,
  flag_reason    VARCHAR(255) NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payment_orders (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  out_trade_no       VARCHAR(32)  NOT NULL,
  -- The merchant back end's own order number: creating an order is idempotent on it.
  merchant_order_no  VARCHAR(64)  NULL,
  user_id            VARCHAR(64)  NOT NULL,
  mchid              VARCHAR(32)  NOT NULL,
  appid              VARCHAR(32)  NOT NULL,
  trade_type         VARCHAR(16)  NOT NULL,
  description        VARCHAR(127) NOT NULL,
  amount_total       BIGINT       NOT NULL,
  currency           CHAR(3)      NOT NULL DEFAULT 'CNY',
  points             BIGINT       NOT NULL,
  bonus_points       BIGINT       NOT NULL DEFAULT 0,
  status             VARCHAR(16)  NOT NULL DEFAULT 'pending',
  transaction_id     VARCHAR(32)  NULL,
  time_expire        DATETIME(3)  NOT NULL,
  next_check_at      DATETIME(3)  NULL,
  check_attempts     INT UNSIGNED NOT NULL DEFAULT 0,
  last_checked_at    DATETIME(3)  NULL,
  last_wechat_state  VARCHAR(20)  NULL,
  settled_via        VARCHAR(16)  NULL,
  success_time       DATETIME(3)  NULL,
  settled_at         DATETIME(3)  NULL,
  refunded_amount    BIGINT       NOT NULL DEFAULT 0,
  created_at         DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at         DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_payment_orders_out_trade_no (out_trade_no),
  UNIQUE KEY uk_payment_orders_transaction_id (transaction_id),
  UNIQUE KEY uk_payment_orders_merchant_order_no (merchant_order_no),
  KEY idx_payment_orders_status_next_check (status, next_check_at),
  KEY idx_payment_orders_status_created (status, created_at),
  KEY idx_payment_orders_user (user_id, created_at),
  CONSTRAINT chk_payment_orders_status
    CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'refunded', 'expired')),
  CONSTRAINT chk_payment_orders_trade_type
    CHECK (trade_type IN ('NATIVE', 'JSAPI', 'APP', 'MWEB', 'MICROPAY', 'FACEPAY')),
  CONSTRAINT chk_payment_orders_settled_via
    CHECK (settled_via IS NULL OR settled_via IN ('notification', 'query', 'manual')),
  CONSTRAINT chk_payment_orders_amounts
    CHECK (amount_total > 0 AND points >= 0 AND bonus_points >= 0 AND refunded_amount >= 0
           AND refunded_amount <= amount_total),
  CONSTRAINT chk_payment_orders_paid_has_transaction
    CHECK (status NOT IN ('paid', 'refunded') OR transaction_id IS NOT NULL)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The points ledger. Entries are only ever inserted: a refund is a new reversing entry.
-- One recharge entry per order; one reversal per refund (reference_no = out_refund_no).
CREATE TABLE IF NOT EXISTS point_transactions (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id        VARCHAR(64)  NOT NULL,
  out_trade_no   VARCHAR(32)  NOT NULL,
  entry_type     VARCHAR(16)  NOT NULL,
  reference_no   VARCHAR(64)  NOT NULL DEFAULT '',
  points_delta   BIGINT       NOT NULL,
  bonus_points   BIGINT       NOT NULL DEFAULT 0,
  balance_after  BIGINT       NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_point_transactions_order_entry (out_trade_no, entry_type, reference_no),
  KEY idx_point_transactions_user (user_id, id),
  CONSTRAINT chk_point_transactions_entry_type CHECK (entry_type IN ('recharge', 'refund_reversal')),
  CONSTRAINT chk_point_transactions_sign
    CHECK ((entry_type = 'recharge' AND points_delta >= 0 AND reference_no = '')
        OR (entry_type = 'refund_reversal' AND points_delta <= 0 AND reference_no <> ''))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every observation applied to an order, in order: what was seen and what it changed.
CREATE TABLE IF NOT EXISTS order_observations (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  observation_id   CHAR(36)     NOT NULL,
  out_trade_no     VARCHAR(32)  NOT NULL,
  source           VARCHAR(16)  NOT NULL,
  trade_state      VARCHAR(20)  NOT NULL,
  transaction_id   VARCHAR(32)  NULL,
  amount_total     BIGINT       NULL,
  observed_at      DATETIME(3)  NOT NULL,
  outcome          VARCHAR(24)  NOT NULL,
  status_before    VARCHAR(16)  NOT NULL,
  status_after     VARCHAR(16)  NOT NULL,
  detail           VARCHAR(512) NULL,
  payload          JSON         NOT NULL,
  -- Alerts this observation raised, re-published if it is delivered again after a crash.
  alerts           JSON         NULL,
  kafka_partition  INT          NULL,
  kafka_offset     BIGINT       NULL,
  recorded_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_order_observations_observation_id (observation_id),
  KEY idx_order_observations_order (out_trade_no, id),
  CONSTRAINT chk_order_observations_source CHECK (source IN ('notification', 'query', 'manual'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Operator actions (payctl, PaymentRepair): who, why, dry-run or not, before and after.
CREATE TABLE IF NOT EXISTS operator_audit_log (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  actor          VARCHAR(128)  NOT NULL,
  tool           VARCHAR(32)   NOT NULL,
  action         VARCHAR(32)   NOT NULL,
  reason         VARCHAR(1024) NOT NULL,
  dry_run        TINYINT(1)    NOT NULL,
  out_trade_no   VARCHAR(32)   NULL,
  before_state   JSON          NULL,
  after_state    JSON          NULL,
  correlation_id VARCHAR(64)   NULL,
  created_at     DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY idx_operator_audit_log_order (out_trade_no, created_at),
  KEY idx_operator_audit_log_created (created_at),
  CONSTRAINT chk_operator_audit_log_reason CHECK (CHAR_LENGTH(reason) > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- What the alerting service delivered, per channel: deduplication across restarts and replicas.
CREATE TABLE IF NOT EXISTS alert_deliveries (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  dedupe_key       VARCHAR(255) NOT NULL,
  alert_status     VARCHAR(16)  NOT NULL,
  channel          VARCHAR(64)  NOT NULL,
  alert_type       VARCHAR(64)  NOT NULL,
  severity         VARCHAR(16)  NOT NULL,
  state            VARCHAR(16)  NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  last_error       VARCHAR(1024) NULL,
  payload          JSON         NOT NULL,
  next_attempt_at  DATETIME(3)  NULL,
  sent_at          DATETIME(3)  NULL,
  cooldown_until   DATETIME(3)  NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_alert_deliveries_key (dedupe_key, alert_status, channel),
  KEY idx_alert_deliveries_due (state, next_attempt_at),
  CONSTRAINT chk_alert_deliveries_state CHECK (state IN ('pending', 'sent', 'failed', 'suppressed')),
  CONSTRAINT chk_alert_deliveries_status CHECK (alert_status IN ('firing', 'resolved'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
