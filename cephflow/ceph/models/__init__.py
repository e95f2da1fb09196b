"""Typed views of the JSON that Ceph prints: pure data and pure behaviour, no I/O.

Every ``from_json`` takes what ``json.loads`` made of a ``ceph ... -f json`` answer (shapes as
Ceph 16 Pacific prints them; the fixtures under tests/ceph/data were captured from the lab)
and keeps only what cephflow decides on. One module per part of the cluster: ``health``
(``ceph status``/``health``), ``pgs``, ``crush``, ``osds``, ``perf`` and ``answers`` (ok-to-stop,
safe-to-destroy); every name is importable from here.
"""

from cephflow.ceph.models.answers import OkToStop, SafeToDestroy
from cephflow.ceph.models.crush import CrushHost, CrushRule, OsdNode, OsdTree
from cephflow.ceph.models.health import (
    HEALTH_ORDER,
    ClusterStatus,
    Health,
    HealthCheck,
    PgSummary,
    osds_named,
)
from cephflow.ceph.models.osds import (
    OsdDump,
    OsdMetadata,
    OsdState,
    OsdUsage,
    Pool,
    parse_osd_df,
)
from cephflow.ceph.models.perf import OsdLatency, parse_osd_perf
from cephflow.ceph.models.pgs import PgList, PgState

__all__ = [
    "HEALTH_ORDER", "ClusterStatus", "CrushHost", "CrushRule", "Health", "HealthCheck",
    "OkToStop", "OsdDump", "OsdLatency", "OsdMetadata", "OsdNode", "OsdState", "OsdTree", "OsdUsage",
    "PgList", "PgState", "PgSummary", "Pool", "SafeToDestroy", "osds_named", "parse_osd_df",
    "parse_osd_perf",
]
