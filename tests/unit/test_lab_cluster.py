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
