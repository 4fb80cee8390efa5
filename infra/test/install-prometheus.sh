#!/usr/bin/env bash
# Debian's prometheus (2.42, with promtool) for the dashboards and alerts tests; idempotent. The
# package's own service is not started (there is no init system to start it here, and the tests
# run their own Prometheus on a free port).
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then exit 0; fi
echo "npm test: installing Debian's prometheus for the dashboards and alerts tests" >&2
apt-cache policy prometheus 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 prometheus >/dev/null
