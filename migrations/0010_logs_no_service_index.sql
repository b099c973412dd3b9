-- Issue 13: the raw log table keeps only its primary key (timestamp, record_key). The
-- (service, timestamp) index cost one more D1 row written per stored row on insert and one on
-- delete, and about a quarter of the table's bytes; a service filter now reads the time range
-- (README "Capacity and cost" has the measured queries).
DROP INDEX `idx_logs_service_time`;
