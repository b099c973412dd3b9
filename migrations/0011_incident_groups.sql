CREATE TABLE `incident_group_members` (
	`incident_id` text PRIMARY KEY NOT NULL,
	`group_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incident_group_members_group` ON `incident_group_members` (`group_id`);--> statement-breakpoint
CREATE TABLE `incident_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`service` text NOT NULL,
	`status` text NOT NULL,
	`severity` text NOT NULL,
	`origin_down` integer DEFAULT false NOT NULL,
	`opened_at` integer NOT NULL,
	`resolved_at` integer,
	`explanation` text NOT NULL,
	`members` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `incident_groups_service_opened` ON `incident_groups` (`service`,`opened_at`);--> statement-breakpoint
CREATE INDEX `incident_groups_opened` ON `incident_groups` (`opened_at`);