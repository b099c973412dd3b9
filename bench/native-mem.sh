#!/bin/bash
# Native memory of a running workerd, from the inside: attaches gdb for about a second and reads
# SQLite's own allocation counter (sqlite3_memory_used: every page cache, compiled statement and
# schema of every database in the process) and tcmalloc's counters (workerd links tcmalloc
# statically, with symbols): bytes allocated and live, the heap tcmalloc holds from the system,
# and what it holds free (page heap and caches). With `release` it then asks tcmalloc to give its
# free pages back (MallocExtension::ReleaseMemoryToSystem) and prints RssAnon again.
# Usage: bench/native-mem.sh <workerd pid> [release]   (needs gdb; pauses workerd while attached)
# One line of JSON per call: {"t","pid","rss_anon_kb","sqlite_used","sqlite_highwater",<tcmalloc props>,"rss_anon_after_release_kb"?}
set -euo pipefail
PID=$1
props="generic.current_allocated_bytes generic.heap_size generic.physical_memory_used tcmalloc.pageheap_free_bytes tcmalloc.pageheap_unmapped_bytes tcmalloc.central_cache_free tcmalloc.transfer_cache_free tcmalloc.thread_cache_free tcmalloc.cpu_free tcmalloc.metadata_bytes"
args=(-batch -p "$PID" -ex "set pagination off" -ex 'printf "V sqlite_used %ld\n", (long)sqlite3_memory_used()' -ex 'printf "V sqlite_highwater %ld\n", (long)sqlite3_memory_highwater(0)' -ex 'set $v = (unsigned long*)malloc(8)')
for p in $props; do args+=(-ex "set \$ok = (char)MallocExtension_Internal_GetNumericProperty(\"$p\", ${#p}, \$v)" -ex "printf \"V $p %lu\\n\", *\$v"); done
[ "${2:-}" = release ] && args+=(-ex 'call (void)MallocExtension_Internal_ReleaseMemoryToSystem(~0UL)')
args+=(-ex 'call (void)free($v)')
anon() { awk '/RssAnon/ {print $2}' "/proc/$PID/status"; }
before=$(anon)
out=$(gdb "${args[@]}" 2>/dev/null | awk '/^V / {printf ",\"%s\":%s", $2, $3}')
extra=""
[ "${2:-}" = release ] && { sleep 1; extra=",\"rss_anon_after_release_kb\":$(anon)"; }
echo "{\"t\":$(date +%s),\"pid\":$PID,\"rss_anon_kb\":$before$out$extra}"
