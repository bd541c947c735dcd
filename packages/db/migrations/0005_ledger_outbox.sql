-- What the ledger publishes (order-settled events, alerts, dead letters), written in the same
-- transaction as the settlement it reports and relayed to Kafka afterwards: a topic that cannot be
-- written (an ACL change, a quota, a deleted topic) delays those messages, never the settlement.
CREATE TABLE IF NOT EXISTS ledger_outbox (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  topic          VARCHAR(64)  NOT NULL,
  message_key    VARCHAR(255) NOT NULL,
  message_value  MEDIUMTEXT   NOT NULL,
  created_at     DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
