-- Refunds: one row per refund of an order, whoever started it (the order API, payctl, or the
-- merchant platform — learnt from WeChat's notification or an answer). The order API inserts a
-- refund with its points hold; the sweep sends it to WeChat (always the same out_refund_no) and asks
-- about it; the ledger moves its status with WeChat's signed word and reverses its points once.
--   processing → succeeded | closed | abnormal (→ succeeded | closed) ; processing → rejected
CREATE TABLE IF NOT EXISTS payment_refunds (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  out_refund_no       VARCHAR(64)  NOT NULL,
  out_trade_no        VARCHAR(32)  NOT NULL,
  -- The merchant back end's own refund number: creating a refund is idempotent on it.
  merchant_refund_no  VARCHAR(64)  NULL,
  mchid               VARCHAR(32)  NOT NULL,
  user_id             VARCHAR(64)  NOT NULL,
  amount_fen          BIGINT       NOT NULL,
  reason              VARCHAR(80)  NULL,
  origin              VARCHAR(16)  NOT NULL,
  requested_by        VARCHAR(128) NULL,
  status              VARCHAR(16)  NOT NULL DEFAULT 'processing',
  wechat_status       VARCHAR(16)  NULL,
  refund_id           VARCHAR(64)  NULL,
  -- When WeChat first answered the create; until then the create is sent again (same number).
  submitted_at        DATETIME(3)  NULL,
  failure_code        VARCHAR(64)  NULL,
  -- Points kept from being spent while the refund is under way; released when it ends.
  hold_points         BIGINT       NOT NULL DEFAULT 0,
  hold_released_at    DATETIME(3)  NULL,
  reversed_points     BIGINT       NULL,
  success_time        DATETIME(3)  NULL,
  next_check_at       DATETIME(3)  NULL,
  check_attempts      INT UNSIGNED NOT NULL DEFAULT 0,
  last_checked_at     DATETIME(3)  NULL,
  last_error          VARCHAR(255) NULL,
  created_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_payment_refunds_out_refund_no (out_refund_no),
  UNIQUE KEY uk_payment_refunds_merchant_refund_no (merchant_refund_no),
  KEY idx_payment_refunds_order (out_trade_no, id),
  KEY idx_payment_refunds_status_next_check (status, next_check_at),
  KEY idx_payment_refunds_user_hold (user_id, hold_released_at),
  CONSTRAINT chk_payment_refunds_status
    CHECK (status IN ('processing', 'succeeded', 'closed', 'abnormal', 'rejected')),
  CONSTRAINT chk_payment_refunds_origin CHECK (origin IN ('api', 'payctl', 'wechat')),
  CONSTRAINT chk_payment_refunds_amounts CHECK (amount_fen > 0 AND hold_points >= 0),
  -- A refund that ended holds nothing.
  CONSTRAINT chk_payment_refunds_hold
    CHECK (status NOT IN ('succeeded', 'closed', 'rejected') OR hold_released_at IS NOT NULL)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
