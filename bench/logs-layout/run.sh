#!/bin/sh
# The raw-log table in three layouts with the same rows: before issue 13 (migrations 0000-0002:
# rowid, five indexes, a unique key), lean with its (service, timestamp) index (0009) and lean
# without it (0010, now), and the queries GET /v1/logs, the summaries and re-evaluation run, timed
# by the sqlite3 CLI (three runs each). Not D1 itself: the same SQLite engine, without D1's network.
# Usage: sh bench/logs-layout/run.sh [rows] (default 100000; rows are spread over 24 hours).
set -e
here=$(dirname "$0"); root="$here/../.."; tmp=$(mktemp -d)
rows=${1:-100000}
{ cat "$root/migrations/0000_init.sql" "$root/migrations/0001_services_config.sql" "$root/migrations/0002_status_class.sql"; } | sed 's/--> statement-breakpoint//' > "$tmp/old.sql"
sed -n '/CREATE TABLE `request_logs_lean`/,/WITHOUT ROWID;/p' "$root/migrations/0009_lean_request_logs.sql" | sed 's/request_logs_lean/request_logs/' > "$tmp/now.sql"
cp "$tmp/now.sql" "$tmp/lean-indexed.sql"
echo 'CREATE INDEX `idx_logs_service_time` ON `request_logs` (`service`,`timestamp`);' >> "$tmp/lean-indexed.sql"
# common.sql writes 100,000 rows 864 ms apart; scale both to keep 24 hours.
sed "s/i < 99999/i < $((rows - 1))/; s/i \* 864/i * $((86400000 / rows))/g" "$here/common.sql" > "$tmp/common.sql"
for db in old lean-indexed now; do cat "$tmp/$db.sql" "$tmp/common.sql" | sqlite3 "$tmp/$db.db"; done
sed 's/record_key DESC/seq DESC/; s/ORDER BY timestamp, record_key/ORDER BY timestamp, seq/' "$here/queries.sql" > "$tmp/old-queries.sql"
for db in old lean-indexed now; do
  q="$here/queries.sql"; [ "$db" = old ] && q="$tmp/old-queries.sql"
  echo "== $db ($(stat -c %s "$tmp/$db.db") bytes, $rows rows)"
  for k in 1 2 3; do sqlite3 "$tmp/$db.db" < "$q"; done | grep -E "^q|Run Time" | paste - - | sort -s -k1,1 | sed 's/\tRun Time: real \([0-9.]*\).*/\t\1 s/'
done
rm -rf "$tmp"
