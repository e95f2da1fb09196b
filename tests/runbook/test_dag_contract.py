"""The DAG is plain data: canonical JSON round-trips byte for byte."""

from cephflow.runbook.dag import Dag, Group, Node, RetryPolicy


def test_dag_json_round_trip_is_byte_identical():
    dag = Dag(
        runbook="demo",
        source="runbooks/demo.yaml",
        params={"items": 2},
        groups={"work": Group(id="work", concurrency=1)},
        nodes=[
            Node(id="start", step="start", task="core.log", args={"message": "hi"}),
            Node(id="work[a]", step="work", task="core.sleep", args={"seconds": 0.1},
                 after=["start"], group="work", label="a", retry=RetryPolicy(attempts=3)),
        ],
    )
    text = dag.to_json()
    assert Dag.model_validate_json(text).to_json() == text
    assert dag.children() == {"start": ["work[a]"], "work[a]": []}


def test_retry_delay_grows_and_is_capped():
    policy = RetryPolicy(attempts=5, backoff=1, factor=3, max_backoff=5)
    assert [policy.delay(n) for n in (1, 2, 3)] == [1, 3, 5]
