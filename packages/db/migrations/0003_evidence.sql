-- Evidence (DESIGN invariant 6): the ledger checks WeChat Pay's signature on every observation itself.

-- Every platform certificate WeChat Pay served, as delivered: still encrypted with the APIv3 key, so
-- a row proves itself (AES-GCM authenticates it) and no one without that key can add one. Written by
-- whatever downloads certificates (gateway, reconciler, payctl); never deleted, so that evidence
-- signed before a rotation still verifies after it.
CREATE TABLE IF NOT EXISTS wechatpay_platform_certificates (
  serial_no        VARCHAR(64)  NOT NULL,
  effective_time   VARCHAR(40)  NOT NULL,
  expire_time      VARCHAR(40)  NOT NULL,
  nonce            VARCHAR(64)  NOT NULL,
  associated_data  VARCHAR(64)  NOT NULL,
  ciphertext       TEXT         NOT NULL,
  first_seen_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (serial_no)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A signed 404 ORDER_NOT_EXIST does not name its order: its signature is bound to the first order it
-- is applied to, and refused for any other.
CREATE TABLE IF NOT EXISTS evidence_bindings (
  fingerprint      CHAR(64)     NOT NULL,
  out_trade_no     VARCHAR(32)  NOT NULL,
  recorded_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (fingerprint)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
