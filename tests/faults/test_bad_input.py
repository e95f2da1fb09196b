"""Bad input from the command line, the runbook file and Redis, tried through the real CLI.

Every refusal is exit status 2 with one ``error:`` line and no traceback, and leaves the test
namespace of Redis empty: nothing submitted, no audit record. Input that is merely strange
(shell metacharacters, newlines, unicode, 100 KB) is valid text: it is submitted and run,
and comes back byte for byte.
"""

from __future__ import annotations

import pytest

from cephflow.engine import keys
from cephflow.engine.state import WorkflowState
from cephflow.errors import ExitStatus
from tests.faults.support import cephflow, one_error
from tests.fixtures.redis_server import NAMESPACE

pytestmark = [pytest.mark.services, pytest.mark.slow]

PARAMS = """name: params
params:
  msg: {type: str}
  count: {type: int, default: 1}
steps:
  - id: say
    task: core.log
    with: {message: "{{ msg }}"}
"""

STEP = """name: escape
steps:
  - id: a
    task: core.log
    with:
      message: "%s"
"""

BILLION_LAUGHS = "name: lol\n" + "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
) + "steps:\n  - id: a\n    task: core.log\n    with: {message: *l9}\n"

DEPTH = 10_000
DEEP_LIST = STEP.replace('"%s"', "[" * DEPTH + "]" * DEPTH)
DEEP_MAP = STEP.replace('"%s"', "{a: " * DEPTH + "1" + "}" * DEPTH)


def nothing_stored(redis_server) -> None:
    assert redis_server.client().keys(f"{NAMESPACE}:*") == []


@pytest.mark.parametrize("template, expect", [
    ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
    ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__'"),
    ("{{ range(10**9) | list | length }}", "Range too big"),
    ("{{ 'x' * 10**9 }}", "would build more than 100000 items"),
], ids=["mro", "globals", "huge-range", "huge-string"])
def test_a_template_that_tries_to_leave_the_sandbox_is_refused(template, expect, tmp_path,
                                                               redis_server, redis_url):
    book = tmp_path / "escape.yaml"
    book.write_text(STEP % template)
    result = cephflow(["run", str(book)], redis_url, timeout=60, cwd=tmp_path)
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    error = one_error(result)
    assert error.startswith("error: escape.yaml:6:16: step 'a': template ") and expect in error
    nothing_stored(redis_server)


@pytest.mark.parametrize("text, expect", [
    (BILLION_LAUGHS, "YAML document too large (alias expansion?)"),
    (DEEP_LIST, "YAML syntax: nested too deeply"),
    (DEEP_MAP, "YAML syntax: nested too deeply"),
], ids=["billion-laughs", "10000-nested-lists", "10000-nested-maps"])
def test_a_yaml_bomb_is_refused_quickly_with_its_place(text, expect, tmp_path, redis_server,
                                                       redis_url):
    book = tmp_path / "bomb.yaml"
    book.write_text(text)
    result = cephflow(["run", str(book)], redis_url, timeout=30, cwd=tmp_path)
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    error = one_error(result)
    assert error.startswith("error: bomb.yaml:") and expect in error
    nothing_stored(redis_server)


@pytest.mark.parametrize("args, expect", [
    (["--msg", "x", "--count", "$(id)"], "param 'count': expected an integer, got '$(id)'"),
    (["--msg", "x", "--count", "1; rm -rf /"], "expected an integer, got '1; rm -rf /'"),
    (["--msg", "x", "--count", "`id`\n2"], "expected an integer"),
    (["--msg", "x", "--nope", "1"], "--nope"),
    ([], "msg"),
], ids=["subst-in-int", "semicolon-in-int", "backtick-newline-in-int", "unknown-param",
        "missing-param"])
def test_a_param_of_the_wrong_shape_is_refused_before_anything_is_submitted(
        args, expect, tmp_path, redis_server, redis_url):
    book = tmp_path / "params.yaml"
    book.write_text(PARAMS)
    result = cephflow(["run", str(book), *args], redis_url, cwd=tmp_path)
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert expect in result.stderr
    nothing_stored(redis_server)


@pytest.mark.parametrize("path, expect", [
    ("a/" * 3000 + "x.yaml", "error: no runbook file 'a/a/a/"),   # longer than PATH_MAX
    ("a" * 300 + ".yaml", "error: no runbook file 'aaaa"),          # longer than NAME_MAX
    ("x\n;$(id) `id`.yaml", "error: no runbook file 'x\\n;$(id) `id`.yaml'"),
    ("/dev/zero", "error: '/dev/zero' is not a regular file, not a runbook file"),  # endless
    ("/", "error: '/' is a directory, not a runbook file"),
], ids=["path-max", "name-max", "metacharacters", "dev-zero", "directory"])
def test_a_runbook_path_that_cannot_be_read_is_refused(path, expect, tmp_path, redis_server,
                                                       redis_url):
    result = cephflow(["run", path], redis_url, cwd=tmp_path, timeout=30)
    assert result.returncode == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    error = one_error(result)
    assert error.startswith(expect), error
    assert len(error) < 300, error  # a huge path is cut, not printed whole
    assert "hint:" not in result.stderr  # no advice about HOME for a path that is too long
    nothing_stored(redis_server)


@pytest.mark.parametrize("value", [
    "; rm -rf / $(id) `id` && echo pwned | tee x > y",
    "first line\nsecond line\r\nthird",
    "é€😀 中文 \u202e reversed \u0000 nul",
    "x" * 100_000,
], ids=["metacharacters", "newlines", "unicode", "100KB"])
def test_strange_but_valid_text_is_run_and_kept_byte_for_byte(value, tmp_path, client,
                                                              celery_worker, redis_url):
    if "\u0000" in value:
        value = value.replace("\u0000", "")  # an argv element cannot hold NUL: the OS refuses it
    book = tmp_path / "params.yaml"
    book.write_text(PARAMS)
    done = cephflow(["run", str(book), "--msg", value, "--quiet"], redis_url, cwd=tmp_path)
    [summary] = client.list_workflows(5)
    snap = client.snapshot(summary.id)
    if len(value) < 64 * 1024:
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        assert snap.state is WorkflowState.SUCCEEDED
    else:  # core.log returns its message: more than a step's output may hold, said plainly
        assert done.returncode == ExitStatus.FAILED, done.stdout + done.stderr[-2000:]
        assert snap.state is WorkflowState.FAILED
        assert snap.nodes["say"].error == ("the step's output is 97 KiB, more than the 64 KiB "
                                           "a step may keep")
    assert snap.params["msg"].encode() == value.encode()
    assert client.snapshot(summary.id).nodes["say"].args["message"].encode() == value.encode()


def test_a_workflow_stored_in_an_unknown_format_is_refused_by_name(client, celery_worker,
                                                                     redis_server, redis_url,
                                                                     tmp_path):
    book = tmp_path / "params.yaml"
    book.write_text(PARAMS)
    done = cephflow(["run", str(book), "--msg", "hi", "--quiet"], redis_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [summary] = client.list_workflows(5)
    wf = summary.id
    meta = client.workflow_keys(wf).meta
    assert redis_server.client().hget(meta, "format") == keys.FORMAT  # written at submit
    redis_server.client().hset(meta, mapping={"format": "99", "state": "teleporting"})
    before = redis_server.client().hgetall(meta)
    for args in (["status", wf], ["status", wf[:8], "--json"], ["cancel", wf],
                 ["resume", wf], ["approve", wf, "say"]):
        refused = cephflow(args, redis_url)
        assert refused.returncode == ExitStatus.BAD_INPUT, (args, refused.stderr)
        assert one_error(refused) == (
            f"error: workflow {wf} is stored in format '99', which this cephflow does not "
            f"read (it reads {keys.FORMAT})")
    assert redis_server.client().hgetall(meta) == before  # nothing changed it
    listed = cephflow(["status"], redis_url)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr and wf[:8] not in listed.stdout
