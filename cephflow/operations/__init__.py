"""What a user can do, as plain functions: the one API both front ends call.

Each module holds one area: ``plan`` (compile a runbook with params), ``runbooks`` (list,
show, validate), ``workflows`` (submit, list, snapshot, approve, reject, cancel, resume),
``follow`` (a workflow's snapshot moved on by its events), ``services`` (the embedded Redis
and worker), ``lab`` (the lab cluster) and ``demo`` (the lab's replace-disk demo).

Functions take typed inputs and return dataclasses or the engine's models; they raise
``cephflow.errors`` exceptions and never print, so the CLI (rich) and a web API (JSON) render
the same answers and can never disagree. Layers: front ends import this package; it imports
tasks, engine, runbook, ceph, lab and settings, and nothing below imports it.
"""
