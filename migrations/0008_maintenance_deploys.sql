CREATE TABLE `deploys` (
	`id` text PRIMARY KEY NOT NULL,
	`service` text NOT NULL,
	`version` text NOT NULL,
	`at` integer NOT NULL,
	`description` text,
	`source` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deploys_service_at` ON `deploys` (`service`,`at`);--> statement-breakpoint
CREATE INDEX `deploys_at` ON `deploys` (`at`);--> statement-breakpoint
CREATE TABLE `maintenance_windows` (
	`id` text PRIMARY KEY NOT NULL,
	`service` text NOT NULL,
	`endpoints` text,
	`starts_at` integer NOT NULL,
	`ends_at` integer NOT NULL,
	`reason` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `maintenance_service_end` ON `maintenance_windows` (`service`,`ends_at`);--> statement-breakpoint
CREATE INDEX `maintenance_end` ON `maintenance_windows` (`ends_at`);--> statement-breakpoint
ALTER TABLE `incidents` ADD `in_maintenance` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `incidents` ADD `maintenance_id` text;--> statement-breakpoint
ALTER TABLE `incidents` ADD `maintenance_released_at` integer;--> statement-breakpoint
ALTER TABLE `incidents` ADD `deploy` text;