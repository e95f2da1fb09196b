#!/usr/bin/env bash
# cephflow's lab cluster: a real, throwaway Ceph (1 mon, 1 mgr, memstore OSDs over a few CRUSH
# hosts) on 127.0.0.1, everything under one private directory, no systemd, no /etc/ceph.
#
#   labctl.sh start DIR               fresh cluster (wipes DIR's daemon state), waits for HEALTH_OK
#   labctl.sh stop DIR                SIGTERM by PID file (OSDs, then mgr+mon); SIGKILL after 15 s
#   labctl.sh status DIR              rc 0 all daemons alive, 1 one is dead, 3 the mon is not running
#   labctl.sh add-osd DIR HOST [ID]   create an OSD under CRUSH host HOST (re-using ID if given)
#   labctl.sh start-osd|stop-osd|kill-osd DIR ID
#   labctl.sh zap DIR ID              wipe an OSD's store (its "disk"); the daemon must be stopped
#   labctl.sh wait-clean DIR [TIMEOUT]
#
# Environment: LAB_PORT_BASE (mon v2 = BASE, v1 = BASE+1, daemons BASE+10..BASE+199),
# LAB_HOSTS ("lab-a lab-b lab-c"), LAB_OSDS_PER_HOST (2), LAB_POOL (labpool), LAB_PG_NUM (32),
# LAB_POOL_SIZE (3), LAB_OBJECTS (200), LAB_MEMSTORE_BYTES (512 MiB), LAB_TIMEOUT (90).
# Tunables live in the mon config DB (ceph config assimilate-conf), not in ceph.conf, so that
# `ceph config set` works on the lab as on a real cluster.
set -euo pipefail

PORT_BASE=${LAB_PORT_BASE:-13300}
HOSTS=${LAB_HOSTS:-"lab-a lab-b lab-c"}
OSDS_PER_HOST=${LAB_OSDS_PER_HOST:-2}
POOL=${LAB_POOL:-labpool}
PG_NUM=${LAB_PG_NUM:-32}
POOL_SIZE=${LAB_POOL_SIZE:-3}
OBJECTS=${LAB_OBJECTS:-200}
MEMSTORE_BYTES=${LAB_MEMSTORE_BYTES:-536870912}
TIMEOUT=${LAB_TIMEOUT:-90}

die() { echo "labctl: $*" >&2; exit 2; }
log() { echo "labctl: $(date +%T) $*" >&2; }

cmd=${1:-}
DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: labctl.sh start|stop|status|add-osd|start-osd|stop-osd|kill-osd|kill-mgr|start-mgr|zap|wait-clean DIR [...]"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/ceph.conf
RUN=$DIR/run

ceph_() { ceph -c "$CONF" --connect-timeout 10 "$@"; }

# alive PIDFILE: the process in PIDFILE exists, is not a zombie and is a ceph daemon.
alive() {
    local pidfile=$1 pid state
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -r "/proc/$pid/stat" ] || return 1
    state=$(sed -e 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
    [ "$state" != Z ] || return 1
    grep -q ceph- "/proc/$pid/cmdline" 2>/dev/null
}

# launch NAME CMD...: run a daemon in the foreground, detached, PID into run/NAME.pid.
launch() {
    local name=$1; shift
    setsid "$@" -f >"$DIR/log/$name.stdout" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

# terminate NAME...: SIGTERM, wait up to 15 s, then SIGKILL; removes the PID files.
terminate() {
    local name pids=() deadline
    for name in "$@"; do
        if alive "$RUN/$name.pid"; then
            kill -TERM "$(cat "$RUN/$name.pid")" 2>/dev/null || true
            pids+=("$name")
        else
            rm -f "$RUN/$name.pid"
        fi
    done
    deadline=$((SECONDS + 15))
    for name in "${pids[@]}"; do
        while alive "$RUN/$name.pid"; do
            if [ $SECONDS -ge $deadline ]; then
                kill -KILL "$(cat "$RUN/$name.pid")" 2>/dev/null || true
                # a SIGKILLed process is gone at once (or a zombie, which alive() ignores)
                sleep 0.1
                continue
            fi
            sleep 0.1
        done
        rm -f "$RUN/$name.pid"
    done
}

osd_names() { local f; for f in "$RUN"/osd.*.pid; do [ -e "$f" ] && basename "$f" .pid; done; return 0; }

# wait_for DESC SECONDS CMD...: poll CMD until it succeeds, or fail after SECONDS.
wait_for() {
    local desc=$1 limit=$2; shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { log "timed out after ${limit}s waiting for $desc"; return 1; }
        sleep 0.3
    done
}

is_clean() {
    # every PG of every pool (pg stat lags pool creation) active+clean, and HEALTH_OK
    local pg health dump
    dump=$(ceph_ osd dump -f json) || return 1
    pg=$(ceph_ pg stat -f json) || return 1
    health=$(ceph_ health -f json) || return 1
    /usr/bin/python3 - "$pg" "$health" "$dump" <<'EOF'
import json, sys
pg = json.loads(sys.argv[1])["pg_summary"]
health = json.loads(sys.argv[2])
want = sum(p["pg_num"] for p in json.loads(sys.argv[3])["pools"])
states = {s["name"]: s["num"] for s in pg["num_pg_by_state"]}
ok = pg["num_pgs"] == want > 0 and states.get("active+clean", 0) == want
sys.exit(0 if ok and health["status"] == "HEALTH_OK" else 1)
EOF
}

all_osds_up() {
    ceph_ osd stat -f json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["num_osds"] == s["num_up_osds"] == s["num_in_osds"] and s["num_osds"] > 0 else 1)'
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_conf() {
    local fsid=$1
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$PORT_BASE,v1:127.0.0.1:$((PORT_BASE + 1))]
mon initial members = a
public addr = 127.0.0.1
ms bind port min = $((PORT_BASE + 10))
ms bind port max = $((PORT_BASE + 199))
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $RUN
admin socket = $RUN/\$name.asok
log file = $DIR/log/\$cluster-\$name.log
mon cluster log file = $DIR/log/\$cluster.log
crash dir = $DIR/crash
mgr initial modules = iostat
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd crush chooseleaf type = 1
osd pool default pg autoscale mode = off

[mon]
mon data = $DIR/mon/\$cluster-\$id
keyring = $DIR/mon/\$cluster-\$id/keyring

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
keyring = $DIR/mgr/\$cluster-\$id/keyring

[osd]
osd data = $DIR/osd/\$cluster-\$id
keyring = $DIR/osd/\$cluster-\$id/keyring

[client]
keyring = $DIR/keyring
EOF
    cat >"$DIR/tuning.conf" <<EOF
[global]
auth allow insecure global id reclaim = false
mgr stats period = 1
mon mgr digest period = 1
mon allow pool delete = true
mon data avail warn = 2
mon data avail crit = 1
osd pool default size = 3
osd pool default min size = 2
osd pool default pg autoscale mode = off

[osd]
osd fast shutdown = false
osd heartbeat grace = 10
osd heartbeat interval = 2
osd max backfills = 8
osd recovery max active = 8
osd recovery sleep = 0
osd recovery sleep hdd = 0
osd recovery sleep ssd = 0
osd recovery sleep hybrid = 0
EOF
}

# add_osd HOST [ID]: ceph osd new (re-using ID when given), keyring, mkfs, start. Prints the id.
add_osd() {
    local host=$1 want=${2:-} uuid secret id
    uuid=$(uuidgen)
    secret=$(ceph-authtool --gen-print-key)
    if [ -n "$want" ]; then
        id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph_ osd new "$uuid" "$want" -i -)
    else
        id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph_ osd new "$uuid" -i -)
    fi
    id=$(echo "$id" | tr -dc '0-9')
    [ -n "$id" ] || die "ceph osd new returned no id"
    rm -rf "$DIR/osd/ceph-$id"
    mkdir -p "$DIR/osd/ceph-$id"
    ceph-authtool --create-keyring "$DIR/osd/ceph-$id/keyring" --name "osd.$id" --add-key "$secret" >/dev/null
    echo "$host" >"$DIR/osd/ceph-$id/lab_host"
    if ! grep -q "^\[osd\.$id\]$" "$CONF"; then
        printf '\n[osd.%s]\ncrush location = root=default host=%s\n' "$id" "$host" >>"$CONF"
    else
        # the same id may come back on another host: rewrite its location line
        /usr/bin/python3 - "$CONF" "$id" "$host" <<'EOF'
import re, sys
path, osd, host = sys.argv[1:]
text = open(path).read()
text = re.sub(rf"(\[osd\.{osd}\]\ncrush location = root=default host=)\S+", rf"\g<1>{host}", text)
open(path, "w").write(text)
EOF
    fi
    ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" >"$DIR/log/osd.$id.mkfs" 2>&1 \
        || die "mkfs of osd.$id failed: $(tail -3 "$DIR/log/osd.$id.mkfs")"
    launch "osd.$id" ceph-osd -c "$CONF" -i "$id"
    echo "$id"
}

start() {
    local t0=$SECONDS fsid host i n
    port_free "$PORT_BASE" && port_free $((PORT_BASE + 1)) \
        || die "port $PORT_BASE or $((PORT_BASE + 1)) is in use (another lab cluster?)"
    if [ -d "$RUN" ] && [ -n "$(ls -A "$RUN" 2>/dev/null)" ]; then
        for f in "$RUN"/*.pid; do
            [ -e "$f" ] && alive "$f" && die "a lab cluster is running in $DIR (stop it first)"
        done
    fi
    rm -rf "$DIR"/{mon,mgr,osd,run,log,crash} "$CONF" "$DIR"/keyring "$DIR"/mon.keyring "$DIR"/monmap
    mkdir -p "$DIR"/{mon,mgr,osd,run,log,crash}
    fsid=$(uuidgen)
    write_conf "$fsid"

    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
    monmaptool --create --addv a "[v2:127.0.0.1:$PORT_BASE,v1:127.0.0.1:$((PORT_BASE + 1))]" \
        --fsid "$fsid" "$DIR/monmap" >/dev/null
    mkdir -p "$DIR/mon/ceph-a"
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring" \
        >"$DIR/log/mon.a.mkfs" 2>&1 || die "mon mkfs failed: $(tail -3 "$DIR/log/mon.a.mkfs")"
    launch mon.a ceph-mon -c "$CONF" -i a
    wait_for "the mon" 30 ceph_ mon stat || die "the mon did not come up (see $DIR/log)"
    ceph_ config assimilate-conf -i "$DIR/tuning.conf" >/dev/null
    log "mon up after $((SECONDS - t0))s"

    mkdir -p "$DIR/mgr/ceph-x"
    ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
        -o "$DIR/mgr/ceph-x/keyring" >/dev/null
    launch mgr.x ceph-mgr -c "$CONF" -i x
    ceph_ balancer off >/dev/null 2>&1 || true

    for host in $HOSTS; do
        for ((i = 0; i < OSDS_PER_HOST; i++)); do
            add_osd "$host" >/dev/null
        done
    done
    n=$(($(echo $HOSTS | wc -w) * OSDS_PER_HOST))
    wait_for "$n OSDs up and in" "$TIMEOUT" all_osds_up || die "OSDs did not come up (see $DIR/log)"
    log "$n OSDs up after $((SECONDS - t0))s"
    ceph_ balancer off >/dev/null 2>&1 || true

    ceph_ osd pool create "$POOL" "$PG_NUM" "$PG_NUM" replicated >/dev/null 2>&1
    ceph_ osd pool set "$POOL" size "$POOL_SIZE" >/dev/null 2>&1
    if [ "$POOL_SIZE" -lt 3 ]; then
        ceph_ osd pool set "$POOL" min_size 1 >/dev/null 2>&1
    fi
    ceph_ osd pool application enable "$POOL" rados >/dev/null 2>&1
    wait_for "pool $POOL active+clean" "$TIMEOUT" is_clean || die "pool did not become clean"
    if [ "$OBJECTS" -gt 0 ]; then
        rados -c "$CONF" -p "$POOL" bench 60 write -b 4096 -O 4096 --max-objects "$OBJECTS" \
            --no-cleanup -t 16 >"$DIR/log/bench.stdout" 2>&1 || die "writing objects failed"
    fi
    wait_for "HEALTH_OK" "$TIMEOUT" is_clean || die "cluster did not reach HEALTH_OK"
    log "HEALTH_OK after $((SECONDS - t0))s"
}

stop() {
    local names
    names=$(osd_names)
    # shellcheck disable=SC2086
    [ -z "$names" ] || terminate $names
    terminate mgr.x mon.a
    rm -f "$RUN"/*.asok
}

status() {
    local f rc=0
    alive "$RUN/mon.a.pid" || { echo "mon.a not running"; return 3; }
    for f in "$RUN"/*.pid; do
        [ -e "$f" ] || continue
        if alive "$f"; then echo "$(basename "$f" .pid) $(cat "$f") running"
        else echo "$(basename "$f" .pid) dead"; rc=1; fi
    done
    return $rc
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    add-osd) [ -n "${3:-}" ] || die "add-osd DIR HOST [ID]"; add_osd "$3" "${4:-}" ;;
    start-osd)
        [ -n "${3:-}" ] || die "start-osd DIR ID"
        alive "$RUN/osd.$3.pid" || launch "osd.$3" ceph-osd -c "$CONF" -i "$3" ;;
    stop-osd) [ -n "${3:-}" ] || die "stop-osd DIR ID"; terminate "osd.$3" ;;
    kill-mgr)
        if alive "$RUN/mgr.x.pid"; then kill -KILL "$(cat "$RUN/mgr.x.pid")"; fi
        rm -f "$RUN/mgr.x.pid" ;;
    start-mgr) alive "$RUN/mgr.x.pid" || launch mgr.x ceph-mgr -c "$CONF" -i x ;;
    kill-osd)
        [ -n "${3:-}" ] || die "kill-osd DIR ID"
        if alive "$RUN/osd.$3.pid"; then kill -KILL "$(cat "$RUN/osd.$3.pid")"; fi
        rm -f "$RUN/osd.$3.pid" ;;
    zap)
        [ -n "${3:-}" ] || die "zap DIR ID"
        alive "$RUN/osd.$3.pid" && die "osd.$3 is running; stop it before zapping"
        rm -rf "$DIR/osd/ceph-$3" ;;
    wait-clean) wait_for "active+clean and HEALTH_OK" "${3:-$TIMEOUT}" is_clean ;;
    *) die "unknown command $cmd" ;;
esac
