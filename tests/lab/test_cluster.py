"""The lab wrapper turns a labctl that cannot be run into its own LabError."""

from __future__ import annotations

import pytest

from cephflow.errors import CephflowError
from cephflow.lab import cluster
from cephflow.lab.cluster import LabCluster, LabError


@pytest.mark.parametrize("kind", ["missing", "not executable"])
def test_a_labctl_that_cannot_run_is_a_lab_error_naming_it(tmp_path, monkeypatch, kind):
    labctl = tmp_path / "labctl.sh"
    if kind == "not executable":
        labctl.write_text("#!/bin/sh\nexit 0\n")
        labctl.chmod(0o644)
    monkeypatch.setattr(cluster, "LABCTL", labctl)
    with pytest.raises(LabError, match=r"labctl status: cannot run .*labctl\.sh") as caught:
        LabCluster(tmp_path / "lab").status()
    assert isinstance(caught.value, CephflowError)
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize("text", ["[]", '{"dir": "/x", "conf": null, "port_base": 1, "pool": "p", '
                                  '"started_at": 0}', '{"port_base": null}', "not json"])
def test_a_damaged_lab_state_file_reads_as_no_lab(tmp_path, text):
    from cephflow.lab.state import read_state, state_file

    path = state_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    assert read_state(tmp_path) is None
