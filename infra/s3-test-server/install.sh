#!/usr/bin/env bash
# Installs what start.sh runs: OpenStack Swift's servers (proxy with s3api, account, container,
# object), curl, and memcached unless WITH_MEMCACHED=0; writes /etc/swift/swift.conf if missing.
# Idempotent: a no-op once everything is there. Non-interactive; run as root (apt-get). About 65 s
# the first time. start.sh calls it; CI calls it alone to install without starting anything.
set -euo pipefail

WITH_MEMCACHED=${WITH_MEMCACHED:-1}

t0=$(date +%s%N)
if ! command -v swift-proxy-server >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  # a fresh machine has no package lists yet
  apt-cache policy swift-proxy 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
  # policy-rc.d (exit 101) keeps the packages from auto-starting services, if present.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 \
    swift-proxy swift-account swift-container swift-object curl >/dev/null
fi
if [ "$WITH_MEMCACHED" = 1 ] && ! command -v memcached >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 memcached >/dev/null
fi

# /etc/swift/swift.conf is a hard-coded path in Swift (hash prefix/suffix + policies).
# The Debian package ships one; create a minimal one if it is missing.
if [ ! -f /etc/swift/swift.conf ]; then
  mkdir -p /etc/swift
  cat > /etc/swift/swift.conf <<'CONF'
[swift-hash]
swift_hash_path_suffix = changeme
swift_hash_path_prefix = changeme
[storage-policy:0]
name = Policy-0
default = yes
CONF
fi
t1=$(date +%s%N)
echo "install_ms=$(( ($t1 - $t0) / 1000000 ))"
