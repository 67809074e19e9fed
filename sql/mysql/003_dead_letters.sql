-- missive: generated from src/stores/sql/schema.ts (the statements `missive migrate` runs).
-- To choose another table name, replace every missive_dlq below (index, trigger and channel names follow it).

CREATE TABLE IF NOT EXISTS `missive_dlq` (
  entry_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  group_name VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  message_id MEDIUMTEXT NOT NULL,
  message_key VARCHAR(255) NOT NULL,
  msg_key MEDIUMTEXT NULL,
  headers MEDIUMTEXT NOT NULL,
  body LONGBLOB NOT NULL,
  error_code VARCHAR(255) NULL,
  error_class VARCHAR(255) NULL,
  dead_lettered_at BIGINT NOT NULL,
  UNIQUE KEY `missive_dlq_message` (group_name, message_key),
  KEY `missive_dlq_group` (group_name, entry_id),
  KEY `missive_dlq_topic` (topic, entry_id),
  KEY `missive_dlq_error_code` (error_code, entry_id),
  KEY `missive_dlq_error_class` (error_class, entry_id),
  KEY `missive_dlq_message_key` (message_key),
  KEY `missive_dlq_at` (dead_lettered_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
