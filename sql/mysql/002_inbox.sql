-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_inbox below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS `missive_inbox` (
  group_name VARCHAR(255) NOT NULL,
  message_id VARCHAR(255) NOT NULL,
  handled_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, message_id),
  KEY `missive_inbox_handled_at` (handled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
