ALTER TABLE `request_logs` ADD `inconsistent` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `services` ADD `config` text;--> statement-breakpoint
ALTER TABLE `services` ADD `updated_at` integer;