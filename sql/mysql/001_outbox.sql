-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_outbox below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS `missive_outbox` (
  seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  msg_key TEXT NULL,
  lane VARCHAR(128) NOT NULL,
  headers MEDIUMTEXT NOT NULL,
  body LONGBLOB NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  UNIQUE KEY `missive_outbox_message_id` (message_id),
  KEY `missive_outbox_lane` (lane, sent_at, seq),
  KEY `missive_outbox_unsent` (sent_at, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
