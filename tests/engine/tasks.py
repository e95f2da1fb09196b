"""Test-only tasks, imported by test workers through CEPHFLOW_EXTRA_TASK_MODULES.

Each records what it did under ``<ns>:test:<wf>:*`` so tests can check exactly-once and
ordering: ``runs`` (hash node -> times run to the end of its body), ``order`` (list of nodes
in the order their bodies ended).
"""

from __future__ import annotations

import json
import os
import time

from cephflow.engine.connection import call
from cephflow.engine.context import StepContext
from cephflow.engine.keys import WorkflowKeys
from cephflow.engine.registry import task
from cephflow.errors import StepFailed
from tests.engine.recorded import recorded


def _key(ctx: StepContext, name: str) -> str:
    return recorded(ctx.settings.namespace, ctx.workflow_id, name)


def _record(ctx: StepContext) -> None:
    client = ctx.backend.client  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=True)
    pipe.hincrby(_key(ctx, "runs"), ctx.node_id, 1)
    pipe.rpush(_key(ctx, "order"), ctx.node_id)
    call(pipe.execute)  # waits out a Redis restart, as the engine's own calls do


@task("test.record")
def record(ctx: StepContext) -> None:
    """Record that this node ran."""
    _record(ctx)


@task("test.fail")
def fail(ctx: StepContext, *, message: str = "boom", fixed_by: str | None = None) -> None:
    """Fail for good (unless the fact ``fixed_by`` is set: then succeed)."""
    if fixed_by and ctx.fact(fixed_by):
        _record(ctx)
        return
    raise StepFailed(message)


@task("test.flaky")
def flaky(ctx: StepContext, *, succeed_on: int = 3) -> dict:
    """Raise until try number ``succeed_on``."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    client.rpush(_key(ctx, "tries"), f"{ctx.node_id}:{ctx.attempt}")
    if ctx.attempt < succeed_on:
        raise RuntimeError(f"flaky try {ctx.attempt}")
    _record(ctx)
    return {"attempt": ctx.attempt}


@task("test.stamp")
def stamp(ctx: StepContext) -> None:
    """Record when this node's body started (``stamps``: node -> epoch seconds), then run."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    call(lambda: client.hset(_key(ctx, "stamps"), ctx.node_id, repr(time.time())))
    _record(ctx)


@task("test.sleep")
def sleep(ctx: StepContext, *, seconds: float = 1.0) -> None:
    """Sleep (a step that takes time), publishing progress first."""
    ctx.progress(f"sleeping {seconds}s")
    client = ctx.backend.client  # type: ignore[attr-defined]
    call(lambda: client.hincrby(_key(ctx, "starts"), ctx.node_id, 1))
    time.sleep(seconds)
    _record(ctx)


@task("test.concurrent")
def concurrent(ctx: StepContext, *, seconds: float = 0.3) -> None:
    """Count how many of these run at once (max kept in ``maxrun``)."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    now = client.incr(_key(ctx, "running"))
    client.eval("if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then "
                "redis.call('SET', KEYS[1], ARGV[1]) end", 1, _key(ctx, "maxrun"), now)
    time.sleep(seconds)
    client.decr(_key(ctx, "running"))
    _record(ctx)


@task("test.wait_fact", poll=True)
def wait_fact(ctx: StepContext, *, key: str, countdown: float = 0.2) -> dict:
    """Wait (without holding a worker) until the workflow fact ``key`` is set."""
    value = ctx.fact(key)
    if value is None:
        client = ctx.backend.client  # type: ignore[attr-defined]
        client.hincrby(_key(ctx, "checks"), ctx.node_id, 1)
        ctx.not_yet(f"waiting for {key}", countdown=countdown)
    _record(ctx)
    return {"value": value}


@task("test.approval", poll=True)
def approval(ctx: StepContext, *, approvers: list[str] | None = None,
             countdown: float = 0.2) -> dict:
    """An approval gate: waits for the fact approval:<node>; rejected fails the step."""
    decision = ctx.fact(f"approval:{ctx.node_id}")
    if not decision:
        ctx.not_yet("waiting for approval", countdown=countdown)
    if decision["decision"] != "approved":
        raise StepFailed(f"rejected by {decision['by']}: {decision.get('reason') or ''}")
    _record(ctx)
    return decision


@task("test.setup", redo_on_resume=True)
def setup(ctx: StepContext) -> None:
    """Set something up that a finally step undoes (run again on resume)."""
    _record(ctx)


@task("test.settings")
def settings(ctx: StepContext) -> dict:
    """Record the SMTP sender and poll countdown this step's settings give."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    seen = {"sender": ctx.settings.smtp.sender, "poll_countdown": ctx.settings.poll_countdown,
            "smtp_host": ctx.settings.smtp.host}
    call(lambda: client.hset(_key(ctx, "settings"), ctx.node_id, json.dumps(seen)))
    _record(ctx)
    return seen


@task("test.fact")
def fact(ctx: StepContext, *, key: str, value: str) -> dict:
    """Keep ``value`` as a fact and a progress line; fail the first try quoting it."""
    ctx.set_fact(key, {"value": value})
    ctx.progress(f"kept {value}", value=value)
    if ctx.attempt == 1:
        raise RuntimeError(f"first try refuses {value}")
    return {"kept": value}


@task("test.output")
def output(ctx: StepContext, *, value: object = None, seconds: float = 0.0) -> object:
    """Record that this node ran (with the arguments it got) and return ``value`` as its
    output, whatever it is (a test of what the engine accepts as an output)."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    call(lambda: client.hset(_key(ctx, "args"), ctx.node_id, json.dumps(value, default=str)))
    if seconds:
        concurrent(ctx, seconds=seconds)
    else:
        _record(ctx)
    return value


@task("test.fail_on_fact")
def fail_on_fact(ctx: StepContext, *, key: str, fixed_by: str | None = None,
                 seconds: float = 30.0) -> None:
    """Hold a worker slot (running, not waiting: a failure elsewhere does not cancel it)
    until the fact ``key`` is set, then fail for good, or succeed once ``fixed_by`` is set.
    Lets a test fail two branches one after the other."""
    deadline = time.monotonic() + seconds
    while ctx.fact(key) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if fixed_by and ctx.fact(fixed_by):
        _record(ctx)
        return
    raise StepFailed(f"{ctx.node_id} failed")


@task("test.once")
def once(ctx: StepContext) -> None:
    """Record whether ``ctx.once('done')`` said this is the first time (``once`` list)."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    first = ctx.once("done")
    call(lambda: client.rpush(_key(ctx, "once"), f"{ctx.node_id}:{int(first)}"))
    _record(ctx)


@task("test.rewrite_history")
def rewrite_history(ctx: StepContext) -> dict:
    """Use all of ``StepContext`` (progress, facts, ``leave``, ``once``, memos), then try to
    rewrite the history with a Redis connection made from the worker's own URL: add an entry,
    trim it, delete it, from a script too, and flush the database. Returns what each try got
    (``ok``, or the error's class and text)."""
    import redis

    from cephflow.engine import keys

    ctx.progress("using the context")
    ctx.set_fact("tried", True)
    ctx.leave("nothing", None)
    ctx.once("first")
    ctx.remember("seen", 1)
    key = keys.history(ctx.settings.namespace)
    tries = {
        "xadd": lambda c: c.xadd(key, {"action": "approved", "user": "mallory"}),
        "xtrim": lambda c: c.xtrim(key, maxlen=0),
        "del": lambda c: c.delete(key),
        "xdel": lambda c: c.xdel(key, *[i for i, _ in c.xrange(key)]),
        "eval": lambda c: c.eval("return redis.call('DEL', KEYS[1])", 1, key),
        "flushdb": lambda c: c.flushdb(),
    }
    got = {}
    with redis.Redis.from_url(ctx.settings.redis_url, decode_responses=True) as client:
        for name, attempt in tries.items():
            try:
                attempt(client)
                got[name] = "ok"
            except redis.RedisError as exc:
                got[name] = f"{type(exc).__name__}: {exc}"
    return got


_EFFECT = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('RPUSH', KEYS[2], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. (redis.call('HGET', KEYS[3], ARGV[1]) or ''))
return n
"""


@task("test.effect")
def effect(ctx: StepContext, *, hold: float = 0.0) -> None:
    """A step with an effect: one atomic script counts the run (``runs``) and appends
    ``"<node> <pid> <token>"`` to ``executions``, the token being the one the engine holds for
    the node now (the claim's). A test of worker kills tells by the pid and the token which
    runs a kill cut short after their effect (token voided by a re-send) from the one that
    counted. With ``hold``, its first run then names its pid in ``held`` and waits up to
    ``hold`` seconds before it completes: a window for the test to kill it in."""
    client = ctx.backend.client  # type: ignore[attr-defined]
    tokens = WorkflowKeys(ctx.settings.namespace, ctx.workflow_id).token
    runs = call(lambda: client.eval(_EFFECT, 3, _key(ctx, "runs"), _key(ctx, "executions"),
                                    tokens, ctx.node_id, os.getpid()))
    if hold and runs == 1:
        call(lambda: client.hset(_key(ctx, "held"), ctx.node_id, os.getpid()))
        time.sleep(hold)
