#!/bin/sh
# The raw-log table before and after issue 13 (migrations 0000-0002 vs 0008) with 100k rows, and
# the queries GET /v1/logs, the summaries and re-evaluation run, timed by the sqlite3 CLI (best of
# three). Not D1 itself: the same SQLite engine, without D1's network. Usage: sh bench/logs-layout/run.sh
set -e
here=$(dirname "$0"); root="$here/../.."; tmp=$(mktemp -d)
{ cat "$root/migrations/0000_init.sql" "$root/migrations/0001_services_config.sql" "$root/migrations/0002_status_class.sql"; } | sed 's/--> statement-breakpoint//' > "$tmp/old.sql"
sed -n '/CREATE TABLE `request_logs_lean`/,/WITHOUT ROWID;/p' "$root/migrations/0008_lean_request_logs.sql" | sed 's/request_logs_lean/request_logs/' > "$tmp/new.sql"
echo 'CREATE INDEX `idx_logs_service_time` ON `request_logs` (`service`,`timestamp`);' >> "$tmp/new.sql"
cat "$tmp/old.sql" "$here/common.sql" | sqlite3 "$tmp/old.db"
cat "$tmp/new.sql" "$here/common.sql" | sqlite3 "$tmp/new.db"
sed 's/record_key DESC/seq DESC/; s/ORDER BY timestamp, record_key/ORDER BY timestamp, seq/' "$here/queries.sql" > "$tmp/old-queries.sql"
for db in old new; do
  q="$here/queries.sql"; [ "$db" = old ] && q="$tmp/old-queries.sql"
  echo "== $db ($(stat -c %s "$tmp/$db.db") bytes)"
  for k in 1 2 3; do sqlite3 "$tmp/$db.db" < "$q"; done | grep -E "^q|Run Time" | paste - - | sort -s -k1,1 | awk '{print $1, $NF, $0}' | cut -c1-120
done
rm -rf "$tmp"
