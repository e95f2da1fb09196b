"""No parameter ever reaches a shell: a hostile param arrives at ``ceph`` as one argv element.

A runbook passes its ``value`` param to ``ceph.config_set``, which runs ``ceph config set``
through the project's CommandRunner. The ``ceph`` it runs is a fake written by the test: it
records its argv and the name of the process that started it, and answers ``[]``. Were the
argv joined into a shell command anywhere, the metacharacters would split it, the command
substitutions would create the marker file, and the fake's parent would be a shell.
"""

from __future__ import annotations

import pytest

from cephflow.engine.state import WorkflowState
from tests.faults.support import FakeCeph, cephflow
from tests.fixtures.celery_worker import worker_with_client

pytestmark = [pytest.mark.services, pytest.mark.slow]

NS = "faultshell"

RUNBOOK = """name: hostile-value
params:
  value: {type: str}
steps:
  - id: set
    task: ceph.config_set
    with: {who: osd.0, option: osd_max_backfills, value: "{{ value }}"}
"""


def test_a_param_full_of_shell_metacharacters_reaches_ceph_as_one_exact_argument(
        redis_server, tmp_path):
    marker = tmp_path / "pwned"
    hostile = (f"1; rm -rf / ; touch {marker} && $(touch {marker}) `touch {marker}` "
               f"| tee {marker} > {marker} 'it''s' \"q\" \\ $HOME * ~ \nsecond line é😀")
    fake = FakeCeph(tmp_path)
    book = tmp_path / "hostile.yaml"
    book.write_text(RUNBOOK)
    ceph = fake.env
    with worker_with_client(redis_server, tmp_path, namespace=NS, name="shell",
                            env=ceph) as (_, client):
        done = cephflow(["run", str(book), "--value", hostile, "--quiet"], redis_server.url,
                        namespace=NS, env=ceph, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        [wf] = [w.id for w in client.list_workflows(5)]
        assert client.snapshot(wf).state is WorkflowState.SUCCEEDED
    calls = fake.calls()
    sets = [c for c in calls if "set" in c["argv"]]
    assert len(sets) == 1, calls
    argv = sets[0]["argv"]
    assert argv[-4:] == ["set", "osd.0", "osd_max_backfills", hostile]
    assert argv[-1].encode() == hostile.encode()  # byte for byte
    assert all(c["parent"] not in ("sh", "bash", "dash", "zsh") for c in calls), calls
    assert not marker.exists()
