#!/usr/bin/env bash
# `npm test`: prepares what the tests need (the S3 test server; Postgres and Redis must already be
# running), builds every workspace, then runs every compiled *.test.js with Node's test runner.
# Each integration test file creates its own database, Redis key prefix and bucket.
#   TEST_FILTER=registry npm test   runs only test files whose path contains "registry"
set -euo pipefail
cd "$(dirname "$0")/../.."

export S3_TEST_ENDPOINT=${S3_TEST_ENDPOINT:-http://127.0.0.1:18080}
export S3_TEST_ACCESS_KEY=${S3_TEST_ACCESS_KEY:-test:tester}
export S3_TEST_SECRET_KEY=${S3_TEST_SECRET_KEY:-testing}
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://127.0.0.1:5432/postgres}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379}

need() { # $1 = what, $2 = how to check, $3 = hint (a server that accepts but never answers fails too)
  if ! timeout 20 bash -c "$2" >/dev/null 2>&1; then echo "npm test: $1 is not reachable or does not answer. $3" >&2; exit 1; fi
}
need "PostgreSQL at $TEST_DATABASE_URL" "psql '$TEST_DATABASE_URL' -c 'select 1'" \
  "Start it, e.g. pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
need "Redis at $TEST_REDIS_URL" "redis-cli -u '$TEST_REDIS_URL' ping | grep -q PONG" \
  "Start it, e.g. redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"

# The Python client's tests run on Debian's python3 with requests (packages/client-python).
if ! /usr/bin/python3 -c 'import requests' >/dev/null 2>&1; then
  echo "npm test: installing Debian's python3-requests for the Python client's tests"
  apt-cache policy python3-requests 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 python3 python3-requests >/dev/null
fi

bash infra/test/install-prometheus.sh

started_s3=0
if ! curl -fs --max-time 5 -o /dev/null "$S3_TEST_ENDPOINT/healthcheck"; then
  echo "npm test: starting the S3 test server (infra/s3-test-server)"
  PROXY_PORT=${S3_TEST_ENDPOINT##*:} bash infra/s3-test-server/start.sh
  started_s3=1
fi
cleanup() {
  if [ "$started_s3" = 1 ] && [ "${S3_TEST_KEEP:-0}" != 1 ]; then bash infra/s3-test-server/stop.sh >/dev/null; fi
}
trap cleanup EXIT

# Debian's chromium for the console's browser test (idempotent; a no-op once installed).
bash infra/test/install-chromium.sh

npm run --silent build

# Compiled tests of the workspaces, and the plain-JS tests of infra/ (the launcher from a fresh clone).
mapfile -t files < <( { find packages services dags -path '*/node_modules' -prune -o \
  -path '*/dist/*' -name '*.test.js' -print; find infra -name '*.test.mjs'; } | grep -- "${TEST_FILTER:-}" | sort)
if [ ${#files[@]} -eq 0 ]; then echo "npm test: no test files found" >&2; exit 1; fi
# Two files at a time: these machines have 2 cores, and each integration file brings its own
# database and servers. A file that has not finished within TEST_TIMEOUT_MS (the fresh-clone tests,
# the slowest, take about 75 s on an idle machine and three times that on a loaded one) fails with "test timed out" instead of holding the run open: a hook waiting on a service
# that never answers, or a handle left open, then shows as a failure with its file's name.
node --enable-source-maps --test --test-concurrency="${TEST_CONCURRENCY:-2}" \
  --test-timeout="${TEST_TIMEOUT_MS:-600000}" "${files[@]}"
