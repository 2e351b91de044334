#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 and creates the role and database the tests use.
# Idempotent: safe to run when the server is already up or the role exists. Prints the
# connection string on its last line.
set -euo pipefail

PG_USER=flotilla
PG_PASSWORD=flotilla
PG_DB=flotilla_test

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "pg_ctlcluster not found: PostgreSQL 15 is not installed" >&2
  exit 1
fi
if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" { print $4 }' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect 15 main start
fi
for _ in $(seq 1 50); do
  if su postgres -c "pg_isready -q -h 127.0.0.1" 2>/dev/null; then break; fi
  sleep 0.2
done
su postgres -c "pg_isready -h 127.0.0.1" >/dev/null

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qtA $*"; }
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname = '${PG_USER}'\"")" != "1" ]; then
  psql_admin "-c \"CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PG_PASSWORD}' CREATEDB\""
fi
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname = '${PG_DB}'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE ${PG_DB} OWNER ${PG_USER}\""
fi
echo "postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:5432/${PG_DB}"
