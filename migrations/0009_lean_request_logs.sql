-- Issue 13: the raw log table made lean (hand-written: drizzle cannot express WITHOUT ROWID).
-- Keyed by (timestamp, record_key), one secondary index (service, timestamp) instead of five
-- and a unique key, and a `weight` per row (how many records a sampled row stands for). The
-- summaries' late-record watermark moves from the rowid `seq` to `log_hours`, seeded with the
-- newest seq of every hour so that a watermark taken before this migration stays valid.
CREATE TABLE `request_logs_lean` (
	`record_key` text NOT NULL,
	`timestamp` integer NOT NULL,
	`received_at` integer NOT NULL,
	`service` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`path` text NOT NULL,
	`status` integer NOT NULL,
	`latency_ms` real NOT NULL,
	`ttfb_ms` real,
	`request_bytes` integer,
	`response_bytes` integer,
	`error` text,
	`response_empty` integer DEFAULT false NOT NULL,
	`client_id` text,
	`request_id` text,
	`client_ip` text,
	`user_agent` text,
	`consumer` text,
	`region` text,
	`attributes` text,
	`source` text DEFAULT 'ingest' NOT NULL,
	`inconsistent` integer DEFAULT false NOT NULL,
	`weight` real DEFAULT 1 NOT NULL,
	`status_class` integer GENERATED ALWAYS AS (status / 100) VIRTUAL,
	PRIMARY KEY(`timestamp`, `record_key`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `request_logs_lean` (`record_key`, `timestamp`, `received_at`, `service`, `method`, `route`, `path`, `status`, `latency_ms`, `ttfb_ms`, `request_bytes`, `response_bytes`, `error`, `response_empty`, `client_id`, `request_id`, `client_ip`, `user_agent`, `consumer`, `region`, `attributes`, `source`, `inconsistent`)
  SELECT `record_key`, `timestamp`, `received_at`, `service`, `method`, `route`, `path`, `status`, `latency_ms`, `ttfb_ms`, `request_bytes`, `response_bytes`, `error`, `response_empty`, `client_id`, `request_id`, `client_ip`, `user_agent`, `consumer`, `region`, `attributes`, `source`, `inconsistent`
  FROM `request_logs`;
--> statement-breakpoint
CREATE TABLE `log_hours` (
	`hour` integer PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `log_hours` (`hour`, `seq`) SELECT `timestamp` / 3600000, max(`seq`) FROM `request_logs` GROUP BY 1;
--> statement-breakpoint
DROP TABLE `request_logs`;
--> statement-breakpoint
ALTER TABLE `request_logs_lean` RENAME TO `request_logs`;
--> statement-breakpoint
CREATE INDEX `idx_logs_service_time` ON `request_logs` (`service`,`timestamp`);
