#!/usr/bin/env bash
# The main job on its embedded default: plan a shipped runbook.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/cephflow plan demo --items 4
