CREATE TABLE `control_switches` (
	`name` text PRIMARY KEY NOT NULL,
	`enabled` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `job_runs` (
	`job` text PRIMARY KEY NOT NULL,
	`last_started_at` integer,
	`last_finished_at` integer,
	`last_duration_ms` integer,
	`last_rows` integer,
	`last_error` text,
	`last_ok_at` integer,
	`runs` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`cursor` text
);
--> statement-breakpoint
CREATE TABLE `probe_runs` (
	`service` text NOT NULL,
	`probe` text NOT NULL,
	`last_run_at` integer NOT NULL,
	`last_ok` integer NOT NULL,
	`last_status` integer,
	`last_latency_ms` real,
	`last_error` text,
	`consecutive_failures` integer NOT NULL,
	PRIMARY KEY(`service`, `probe`)
);
--> statement-breakpoint
CREATE TABLE `summaries` (
	`granularity` text NOT NULL,
	`service` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`count` integer NOT NULL,
	`status_2xx` integer NOT NULL,
	`status_3xx` integer NOT NULL,
	`status_4xx` integer NOT NULL,
	`status_5xx` integer NOT NULL,
	`silent_failures` integer NOT NULL,
	`inconsistent` integer NOT NULL,
	`bytes` integer NOT NULL,
	`latency_sum` real NOT NULL,
	`p50_ms` real,
	`p90_ms` real,
	`p95_ms` real,
	`p99_ms` real,
	`max_ms` real,
	`apdex_satisfied` integer NOT NULL,
	`apdex_tolerating` integer NOT NULL,
	`apdex_t_ms` real NOT NULL,
	`error_budget_consumed` real,
	`sketch` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`granularity`, `service`, `method`, `route`, `bucket_start`)
);
--> statement-breakpoint
CREATE INDEX `summaries_service_time` ON `summaries` (`service`,`granularity`,`bucket_start`);--> statement-breakpoint
CREATE INDEX `summaries_time` ON `summaries` (`granularity`,`bucket_start`);--> statement-breakpoint
ALTER TABLE `endpoint_health` ADD `backlog` integer DEFAULT 0 NOT NULL;