CREATE TABLE `alert_channels` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`secret` text,
	`services` text,
	`min_severity` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `alert_deliveries` (
	`seq` integer PRIMARY KEY NOT NULL,
	`message_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`incident_id` text,
	`event` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` integer NOT NULL,
	`status` text NOT NULL,
	`response_code` integer,
	`error` text,
	`duration_ms` integer
);
--> statement-breakpoint
CREATE INDEX `alert_deliveries_at` ON `alert_deliveries` (`at`);--> statement-breakpoint
CREATE INDEX `alert_deliveries_message` ON `alert_deliveries` (`message_id`);--> statement-breakpoint
CREATE INDEX `alert_deliveries_incident` ON `alert_deliveries` (`incident_id`,`at`);--> statement-breakpoint
ALTER TABLE `incidents` ADD `ai_summary` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `ai_model` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `ai_status` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `ai_error` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `ai_updated_at` integer;