-- Issue 13: the hours in which each service has raw rows, so that a search by service reads only
-- the span of that service's hours (request_logs has no service index since 0010: a service with
-- no rows used to read the whole table). WITHOUT ROWID added by hand (drizzle cannot say it). The
-- backfill reads the raw table once.
CREATE TABLE `log_service_hours` (
	`service` text NOT NULL,
	`hour` integer NOT NULL,
	PRIMARY KEY(`service`, `hour`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `log_service_hours` (`service`, `hour`) SELECT DISTINCT `service`, `timestamp` / 3600000 FROM `request_logs`;
