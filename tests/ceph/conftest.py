"""Fixtures of the Ceph tests: the lab cluster and the sshd, from tests/fixtures."""

from tests.fixtures.ceph_lab import ceph_lab  # noqa: F401
from tests.fixtures.sshd import sshd  # noqa: F401
