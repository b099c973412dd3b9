CREATE TABLE `detection_settings` (
	`service` text PRIMARY KEY NOT NULL,
	`config` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `endpoint_health` (
	`service` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`health` text NOT NULL,
	`severity_score` real NOT NULL,
	`health_score` integer NOT NULL,
	`action` text NOT NULL,
	`signals` text NOT NULL,
	`figures` text NOT NULL,
	`baselines` text NOT NULL,
	`open_incident_id` text,
	`evaluated_at` integer NOT NULL,
	`events_processed` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`service`, `method`, `route`)
);
--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` text PRIMARY KEY NOT NULL,
	`service` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`severity` text NOT NULL,
	`status` text NOT NULL,
	`opened_at` integer NOT NULL,
	`escalated_at` integer,
	`resolved_at` integer,
	`last_event_at` integer NOT NULL,
	`severity_score` real NOT NULL,
	`health_score` integer NOT NULL,
	`action` text NOT NULL,
	`signals` text NOT NULL,
	`figures` text NOT NULL,
	`explanation` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incidents_opened` ON `incidents` (`opened_at`);--> statement-breakpoint
CREATE INDEX `incidents_status_opened` ON `incidents` (`status`,`opened_at`);--> statement-breakpoint
CREATE INDEX `incidents_service_opened` ON `incidents` (`service`,`opened_at`);