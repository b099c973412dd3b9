CREATE TABLE `request_logs` (
	`seq` integer PRIMARY KEY NOT NULL,
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
	`source` text DEFAULT 'ingest' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `request_logs_record_key_unique` ON `request_logs` (`record_key`);--> statement-breakpoint
CREATE INDEX `idx_logs_time` ON `request_logs` (`timestamp`);--> statement-breakpoint
CREATE INDEX `idx_logs_status_time` ON `request_logs` (`status`,`timestamp`);--> statement-breakpoint
CREATE INDEX `idx_logs_service_time` ON `request_logs` (`service`,`timestamp`);--> statement-breakpoint
CREATE INDEX `idx_logs_service_route_method_time` ON `request_logs` (`service`,`route`,`method`,`timestamp`);--> statement-breakpoint
CREATE TABLE `services` (
	`name` text PRIMARY KEY NOT NULL,
	`first_seen_at` integer NOT NULL
);
