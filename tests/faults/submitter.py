"""One racing submitter: ``python -m tests.faults.submitter DAG.json``.

Imports and connects first, says ``ready``, waits for a line on stdin (the test's start
signal, so every submitter submits at the same moment), then submits through
``cephflow.operations.workflows.submit``, the call ``cephflow run`` makes. Prints the id and
exits 0, or prints cephflow's error and exits with its status (3 for a held lock), as the
CLI does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cephflow.errors import CephflowError
from cephflow.operations import workflows
from cephflow.runbook.dag import Dag


def main(path: str) -> int:
    dag = Dag.model_validate_json(Path(path).read_text())
    client = workflows.open_client(services=False).client
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        submitted = workflows.submit(dag, client=client)
    except CephflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(submitted.workflow_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
