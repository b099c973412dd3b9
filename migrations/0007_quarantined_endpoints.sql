CREATE TABLE `quarantined_endpoints` (
	`service` text NOT NULL,
	`method` text NOT NULL,
	`route` text NOT NULL,
	`records` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`service`, `method`, `route`)
);
