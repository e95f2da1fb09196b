"""The Lua scripts speak only the names Python gives them.

``scripts.prelude()`` binds every key (``K_<NAME>``) and spells every state, phase, event type
and reply word (``S``, ``W``, ``P``, ``E``, ``R``) from ``keys.py``, ``state.py`` and
``scripts.Reply``. These tests read the ``.lua`` files and fail when one indexes ``KEYS`` by
hand, names a key or a constant Python does not generate, or writes one of those words as a
string literal (which nothing would check against the enums).
"""

from __future__ import annotations

import re

import pytest

from cephflow.engine import keys, scripts
from cephflow.engine.scripts import LUA_CONSTANTS, LUA_DIR, Transitions, prelude
from tests.engine.support import dag, node
from tests.fixtures.workflow_client import make_client

LUA_FILES = sorted(LUA_DIR.glob("*.lua"))
SCRIPT_NAMES = [p.stem for p in LUA_FILES if not p.stem.startswith("_")]

_TOKEN = re.compile(r"""--[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|[^-'"]+|-""")
_KEY_NAME = re.compile(r"\bK_[A-Z_]+\b")
_CONSTANT = re.compile(r"(?<![\w.])([A-Z])\.([A-Za-z_]\w*)")


def _code_and_strings(source: str) -> tuple[str, list[str]]:
    """The source without comments or string literals, and the literals' contents."""
    code, strings = [], []
    for token in _TOKEN.findall(source):
        if token.startswith("--"):
            code.append(" ")
        elif token[0] in "'\"":
            strings.append(token[1:-1])
            code.append(" '' ")
        else:
            code.append(token)
    return "".join(code), strings


def lua_problems(source: str) -> list[str]:
    """What in ``source`` (a ``.lua`` file, without the prelude) Python does not know."""
    words: dict[str, list[str]] = {}
    for table, enum in LUA_CONSTANTS.items():
        for m in enum:
            words.setdefault(m.value, []).append(f"{table}.{m.name}")
    code, strings = _code_and_strings(source)
    problems = [f"KEYS indexed by hand: {m.group(0)}"
                for m in re.finditer(r"\bKEYS\s*\[[^\]]*\]", code)]
    problems += [f"unknown key {name}" for name in _KEY_NAME.findall(code)
                 if name.removeprefix("K_") not in {*keys.SCRIPT_KEYS,
                                                     *keys.CONTROL_SCRIPT_KEYS}]
    for table, member in _CONSTANT.findall(code):
        enum = LUA_CONSTANTS.get(table)
        if enum is None:
            problems.append(f"unknown constant table {table} ({table}.{member})")
        elif member not in enum.__members__:
            problems.append(f"unknown constant {table}.{member} (not in {enum.__name__})")
    problems += [f"literal '{s}': write {' or '.join(words[s])}" for s in strings if s in words]
    return problems


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_lua_files_use_only_the_generated_names(path):
    assert lua_problems(path.read_text()) == []


def test_a_script_that_spells_names_by_hand_is_caught():
    bad = """
    -- a comment may say 'running' and KEYS[3]
    local st = redis.call('HGET', KEYS[1], 'state')
    if st == "failing" then return {'ok'} end
    redis.call('HSET', K_STATE, ARGV[4], 'running')
    redis.call('HSET', K_STAT, ARGV[4], S.RUNING)
    redis.call('HSET', K_META, 'phase', X.MAIN, 'note', 'cancelled by ' .. ARGV[4])
    """
    assert lua_problems(bad) == [
        "KEYS indexed by hand: KEYS[1]",
        "unknown key K_STAT",
        "unknown constant S.RUNING (not in NodeState)",
        "unknown constant table X (X.MAIN)",
        "literal 'failing': write W.FAILING",
        "literal 'ok': write R.OK",
        "literal 'running': write S.RUNNING or W.RUNNING",
    ]
    good = "redis.call('HSET', K_STATE, ARGV[4], S.RUNNING)\nreturn {R.OK, 'state', W.FAILING}"
    assert lua_problems(good) == []


def test_the_prelude_binds_the_keys_in_script_keys_order():
    wk = keys.WorkflowKeys("ns", "wf")
    bound = re.findall(r"^local K_([A-Z_]+) = KEYS\[(\d+)\]$", prelude(), re.M)
    assert [(name, int(i)) for name, i in bound] == [
        (name, i) for i, name in enumerate([*keys.SCRIPT_KEYS, *keys.CONTROL_SCRIPT_KEYS], 1)]
    assert len(wk.script_keys()) + len(keys.CONTROL_SCRIPT_KEYS) == len(bound)
    assert len(wk.script_keys()) == len(set(wk.script_keys()))
    by_name = dict(zip(keys.SCRIPT_KEYS, wk.script_keys(), strict=True))
    assert by_name["META"] == wk.meta and by_name["LEASES"] == keys.leases("ns")
    assert by_name["GREADY"] + "g" == wk.gready("g") and by_name["MEMO"] + "n" == wk.memo("n")


def test_the_workflow_owns_exactly_its_keys_under_its_base():
    wk = keys.WorkflowKeys("ns", "wf")
    owned = {keys.SCRIPT_KEYS[name](wk) for name in keys.OWNED_SCRIPT_KEYS}
    assert wk.meta in owned and wk.order in owned and wk.relay in owned
    assert not owned & {keys.leases("ns"), keys.lock_prefix("ns"), keys.audit("ns", "wf"),
                        keys.workflows("ns"), keys.workflow_ids("ns"), keys.submitting("ns"),
                        wk.gready_prefix, wk.memo_prefix, keys.holder_prefix("ns")}
    assert len(owned) == len(keys.SCRIPT_KEYS) - 9


def test_the_constant_tables_hold_every_member():
    text = prelude()
    for table, enum in LUA_CONSTANTS.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"local {table} = "))
        assert dict(re.findall(r"(\w+) = '(\w+)'", line)) == {m.name: m.value for m in enum}
    assert "SUBMITTING = 'submitting'" in text


def test_each_script_is_built_once_and_registered_once(redis_url):
    client = make_client(redis_url)
    try:
        wf = client.submit(dag(node("a")), user="tester")
        transitions = Transitions(client.redis, client.ns, 30)
        for _ in range(3):
            transitions.progress(wf, "a", "step 1", {})
        assert list(transitions._scripts) == ["progress"]
        script = transitions._scripts["progress"]
        assert client.redis.script_exists(script.sha) == [True]
        built = scripts._source.cache_info()
        transitions.progress(wf, "a", "step 2", {})
        assert scripts._source.cache_info().hits == built.hits  # cached in the Script itself
        assert scripts._source.cache_info().currsize <= len(SCRIPT_NAMES)
    finally:
        client.close()


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_every_script_compiles(redis_url, name):
    client = make_client(redis_url)
    try:
        client.redis.script_load(scripts._source(name))
    finally:
        client.close()


@pytest.mark.parametrize(("version", "flagged"), [("7.0.15", True), ("6.2.14", False)])
def test_scripts_pass_maxmemory_only_where_redis_reads_script_flags(version, flagged):
    """Redis 7 reads ``#!lua flags=allow-oom`` (a transition runs past maxmemory); Redis 6
    would refuse to compile it, so there the scripts go without it."""

    class Server:
        def execute_command(self, *words):
            assert words == ("HELLO",)
            return ["server", "redis", "version", version, "proto", 2]

        def register_script(self, source):
            self.source = source
            return lambda keys, args: [1]

    server = Server()
    Transitions(server, "ns", 30).progress("wf", "a", "step 1", {})
    assert server.source.startswith(scripts.ALLOW_OOM + "\n") is flagged
    assert scripts.prelude() in server.source


def test_the_version_comes_from_hello_which_any_acl_user_may_ask(redis_url):
    """``HELLO`` answers on the real server (``INFO`` is ``@dangerous``: the documented ACLs
    refuse it, and each refusal would fill the ACL log)."""
    client = make_client(redis_url)
    try:
        assert scripts.server_version(client.redis).split(".")[0] == \
            client.redis.info("server")["redis_version"].split(".")[0]
    finally:
        client.close()


def test_an_acl_that_refuses_hello_still_gets_the_flagged_scripts():
    """NOPERM is a ResponseError too: it must not read as "Redis 5, no flags" (a running
    workflow would then lose its steps' outcomes when Redis is full)."""
    import redis

    class Guarded:
        def execute_command(self, *words):
            raise redis.exceptions.NoPermissionError("this user has no permissions to run "
                                                     "the 'hello' command")

    assert scripts.server_version(Guarded()) == "7"
