"""Downtime in monitoring, so a maintenance pages nobody for what it does on purpose.

    matchers.py      ``instance=~"ceph-osd-17.*"`` strings <-> Alertmanager matcher objects
    times.py         durations (``90m``) and timestamps (ISO 8601 <-> epoch)
    alertmanager.py  one Alertmanager's silences API v2: create, find, extend, expire
    http.py          a generic HTTP downtime backend: templated set and clear requests
    downtime.py      a downtime across every configured backend, as a JSON-able record

A downtime always has an end time (the safety net: it lapses by itself if everything else
dies), carries a marker in its comment (``cephflow:<workflow>:<name>``) so it can be found
again without its id, and is recorded as plain JSON that the workflow keeps as a fact.
Failures become ``MonitoringError`` after the configured retries.
"""
