#!/usr/bin/env bash
# The main job on its embedded default: run the shipped demo runbook end to end.
# With no CEPHFLOW_REDIS_URL, cephflow starts its private Redis and a local worker; they stay
# in the background (`cephflow services` shows them, `cephflow services stop` stops them).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/cephflow plan demo --items 4
.venv/bin/cephflow run demo --items 4
echo "background services (stop them with: .venv/bin/cephflow services stop):"
.venv/bin/cephflow services
