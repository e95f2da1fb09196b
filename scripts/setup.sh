#!/usr/bin/env bash
# Sets up everything cephflow and its tests need on a fresh Debian machine (run as root):
# the system services the tests start (redis, ceph, alertmanager, sshd, tmux, chromium) and a virtualenv
# in .venv with cephflow installed in editable mode. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# --- system packages -------------------------------------------------------------------------
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-sentinel >/dev/null || need+=(redis-sentinel)
command -v ceph-mon >/dev/null || need+=(ceph-mon ceph-osd ceph-mgr ceph-common)
command -v osdmaptool >/dev/null || need+=(ceph-base)  # the plan's movement prediction
[ -e /usr/lib/python3/dist-packages/rados.cpython-311-x86_64-linux-gnu.so ] || need+=(python3-rados)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v tmux >/dev/null || need+=(tmux)
command -v uuidgen >/dev/null || need+=(uuid-runtime)
command -v chromium >/dev/null || need+=(chromium)  # the web page's browser tests (Playwright drives it)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing system packages: ${need[*]} (run as root, or install them)" >&2
        exit 1
    fi
    echo "setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    for try in 1 2 3 4 5 6 7 8 9 10; do
        if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; then
            break
        fi
        [ "$try" = 10 ] && { echo "setup: apt-get failed" >&2; exit 1; }
        echo "setup: apt-get busy or failed, retrying in 10 s" >&2
        sleep 10
    done
fi

# --- python ----------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.cephflow-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e '.[test,bench]'
    touch "$stamp"
fi

# The rados binding comes from Debian's python3-rados, built for Python 3.11: make it visible
# to the venv when the venv's Python is 3.11 (cephflow falls back to the ceph CLI otherwise).
so=/usr/lib/python3/dist-packages/rados.cpython-311-x86_64-linux-gnu.so
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ -e "$so" ] && "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    ln -sf "$so" "$site/"
fi
echo "setup: ready ($VENV)"
