#!/usr/bin/env bash
# The main job on its embedded default: a real disk replacement on a throwaway lab Ceph.
#
# `cephflow lab up` starts a private Ceph (1 mon, 1 mgr, 6 memstore OSDs on lab-a/b/c) that
# cephflow then talks to; `cephflow lab fail-disk` kills one OSD daemon of lab-b (a dead disk);
# `cephflow plan` shows what replace-disk would do for the failed disk of lab-b; `cephflow lab
# demo` runs replace-disk --host lab-b with the embedded Redis and a local worker, follows it
# live to the end and confirms the technicians' disk swap itself (allowed on a lab only).
# The lab and the embedded services stay up afterwards so you can look around:
#   .venv/bin/cephflow lab status     .venv/bin/cephflow status
#   .venv/bin/cephflow lab down       .venv/bin/cephflow services stop
set -euo pipefail
cd "$(dirname "$0")/.."
cf=.venv/bin/cephflow
$cf lab up
$cf lab fail-disk --host lab-b
$cf plan replace-disk --host lab-b
$cf lab demo --host lab-b
echo
echo "done. the lab and the background services are still up:"
echo "  $cf lab down && $cf services stop    # to stop them"
