#!/usr/bin/env bash
# The obvious PostgreSQL alternative to sijill's name search, on the same
# data: pg_trgm similarity on the raw names (full_name and name_ar, GIN
# trigram indexes), for latency (pgbench, CONNECTIONS clients) and recall
# (the same searches as bench/search.sh). Run by bench/search.sh:
#
#   URL=postgres://…/db QUERIES=queries.tsv bash bench/pg_trgm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${URL:?database URL}" "${QUERIES:?queries file}"
CONNECTIONS="${CONNECTIONS:-8}"
DURATION="${DURATION:-20s}"
RECALL_SEARCHES="${RECALL_SEARCHES:-300}"  # about 1.2 s each at 1,000,000 files
OUT=bench/out
mkdir -p "$OUT"

echo "== pg_trgm: GIN trigram indexes on full_name and name_ar"
psql "$URL" -qc "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
psql "$URL" -qc "DROP INDEX IF EXISTS detainees_full_name_trgm" -c "DROP INDEX IF EXISTS detainees_name_ar_trgm" >/dev/null
t0=$(date +%s.%N)
psql "$URL" -qc "CREATE INDEX detainees_full_name_trgm ON detainees USING gin (full_name gin_trgm_ops)" \
  -c "CREATE INDEX detainees_name_ar_trgm ON detainees USING gin (name_ar gin_trgm_ops)" -c "ANALYZE detainees" >/dev/null
echo "   built in $(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t0") s;" \
  "size $(psql "$URL" -Atqc "SELECT pg_size_pretty(pg_relation_size('detainees_full_name_trgm') + pg_relation_size('detainees_name_ar_trgm'))")"

psql "$URL" -qc "DROP TABLE IF EXISTS bench_queries" -c "CREATE TABLE bench_queries (n serial PRIMARY KEY, q text NOT NULL, expected text NOT NULL)" >/dev/null
psql "$URL" -qc "\\copy bench_queries (q, expected) FROM '$QUERIES'" >/dev/null
count=$(psql "$URL" -Atqc "SELECT count(*) FROM bench_queries")
cat >"$OUT/pg_trgm_search.sql" <<SQL
\\set n random(1, $count)
SELECT id, greatest(similarity(full_name, q), similarity(coalesce(name_ar, ''), q)) AS s
FROM detainees, (SELECT q FROM bench_queries WHERE n = :n) query
WHERE full_name % q OR name_ar % q
ORDER BY s DESC, id LIMIT 20;
SQL
echo "== pg_trgm: search, $CONNECTIONS clients, $DURATION (pgbench)"
rm -f "$OUT"/pg_trgm_log*
(cd "$OUT" && pgbench -n -c "$CONNECTIONS" -j 2 -T "${DURATION%s}" -f pg_trgm_search.sql -l --log-prefix=pg_trgm_log "$URL" >pg_trgm_pgbench.txt 2>&1)
python3 - "$OUT" <<'PY'
import glob, sys
latencies = sorted(int(line.split()[2]) / 1000 for f in glob.glob(sys.argv[1] + "/pg_trgm_log*") for line in open(f))
text = open(sys.argv[1] + "/pg_trgm_pgbench.txt").read()
tps = [l for l in text.splitlines() if l.startswith("tps")]
pick = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
print(f"   {tps[0].split('(')[0].strip() if tps else ''}  p50 {pick(50):.2f} ms  p95 {pick(95):.2f} ms  p99 {pick(99):.2f} ms")
PY
echo "== pg_trgm: recall on the first $RECALL_SEARCHES searches"
python3 bench/search_recall.py pg_trgm "$URL" "$QUERIES" "$RECALL_SEARCHES" | sed 's/^/   /'
psql "$URL" -qc "DROP INDEX detainees_full_name_trgm" -c "DROP INDEX detainees_name_ar_trgm" -c "DROP TABLE bench_queries" >/dev/null
