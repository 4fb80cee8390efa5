#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser test (playwright-core drives it; Playwright's
# own browser download is never used). Idempotent: a no-op when `chromium` is on the PATH.
# Non-interactive; run as root (apt-get). npm test (infra/test/run.sh) and .ci/run call it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
# a fresh machine has no package lists yet
apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  -o DPkg::Lock::Timeout=600 chromium >/dev/null
command -v chromium >/dev/null
