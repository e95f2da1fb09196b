"""``[clusters.<name>]``: each cluster's settings are the top level's with its own merged in,
key by key; every mistake is a ConfigError naming the cluster and what is wrong; an
installation without ``[clusters]`` has one cluster, named by ``cluster_name``.
"""

from __future__ import annotations

import pytest

from cephflow.errors import ConfigError
from cephflow.settings import (
    Settings,
    cluster_scope,
    get_settings,
    load_settings,
    use_cluster,
)

CONFIG = """\
namespace = "cf"
max_workflows = 3
[ceph]
conf = "/etc/ceph/top.conf"
call_timeout = 12.0
[smtp]
host = "mail.example"
sender = "top@example"
[clusters.par1]
region = "eu-west"
max_workflows = 1
[clusters.par1.ceph]
conf = "/etc/ceph/par1.conf"
[clusters.par1.smtp]
sender = "par1@example"
[clusters.gra2]
queue = "gra-workers"
lab = true
max_osd_draining = 2
[clusters.gra2.ceph]
conf = "/etc/ceph/gra2.conf"
"""


@pytest.fixture
def configured(tmp_path, monkeypatch):
    def write(text: str) -> None:
        config = tmp_path / "config.toml"
        config.write_text(text)
        monkeypatch.setenv("CEPHFLOW_CONFIG", str(config))
        get_settings.cache_clear()

    yield write
    get_settings.cache_clear()


def test_a_cluster_sees_its_sections_merged_key_by_key_into_the_top_level(configured):
    configured(CONFIG)
    top = load_settings()
    par1, gra2 = top.for_cluster("par1"), top.for_cluster("gra2")
    assert (par1.cluster_name, par1.ceph.conf.name, par1.ceph.call_timeout) == (
        "par1", "par1.conf", 12.0)
    assert (par1.smtp.host, par1.smtp.sender) == ("mail.example", "par1@example")
    assert (par1.max_workflows, par1.max_osd_draining, par1.lab) == (1, 10, False)
    assert (gra2.ceph.conf.name, gra2.smtp.sender, gra2.lab) == ("gra2.conf", "top@example", True)
    assert (gra2.max_workflows, gra2.max_osd_draining) == (3, 2)
    # from one cluster's settings to another's: always from the top level, never stacked
    assert par1.for_cluster("gra2") is gra2 and gra2.for_cluster("par1").smtp.sender == (
        "par1@example")
    # and a runbook's overrides on top of a cluster's
    assert par1.resolve_cluster() == "par1"


def test_each_cluster_has_a_queue_a_region_shares_one_and_explicit_wins(configured):
    configured(CONFIG + '[clusters.par3]\nregion = "eu-west"\n[clusters.bhs]\n')
    top = load_settings()
    assert top.cluster_queues() == {"par1": "cf.region.eu-west", "gra2": "gra-workers",
                                    "par3": "cf.region.eu-west", "bhs": "cf.cluster.bhs"}


def test_no_clusters_keeps_the_one_cluster_named_by_cluster_name():
    top = Settings(cluster_name="prod")
    assert top.for_cluster() is top and top.for_cluster("prod") is top
    assert top.cluster_names() == ["prod"] and top.cluster_queues() == {}
    with pytest.raises(ConfigError) as caught:
        top.for_cluster("par1")
    assert str(caught.value) == ("no cluster 'par1': the one cluster is 'prod' (no [clusters] "
                                 "in the settings)")


def test_the_default_cluster_is_the_named_one_or_the_only_one_else_cluster_is_required():
    one = Settings(clusters={"par1": {}})
    assert one.for_cluster().cluster_name == "par1"
    named = Settings(clusters={"par1": {}, "gra2": {}}, default_cluster="gra2")
    assert named.for_cluster().cluster_name == "gra2"
    several = Settings(clusters={"par1": {}, "gra2": {}})
    with pytest.raises(ConfigError) as caught:
        several.for_cluster()
    assert str(caught.value) == ("several clusters are configured (par1, gra2) and none is "
                                 "the default: name one with --cluster")
    assert caught.value.hint == "or set default_cluster in the settings"
    with pytest.raises(ConfigError) as caught:
        several.for_cluster("par")
    assert (str(caught.value), caught.value.hint) == (
        "no cluster 'par' (configured: par1, gra2)", "did you mean 'par1'?")


@pytest.mark.parametrize(("text", "message"), [
    ('[clusters.par1]\nqueu = "q"\n', "unknown setting 'clusters.par1.queu'"),
    ('[clusters.par1.ceph]\nconff = "/x"\n', "unknown setting 'clusters.par1.ceph.conff'"),
    ('[clusters.par1.ceph]\nssh_port = "x"\n', "setting clusters.par1.ceph.ssh_port: Input "
     "should be a valid integer, unable to parse string as an integer"),
    ('[clusters.par1]\nmax_workflows = -1\n', "setting clusters.par1.max_workflows: Input "
     "should be greater than or equal to 0"),
    ('default_cluster = "gra2"\n[clusters.par1]\n', "setting default_cluster: names no cluster "
     "(configured: par1)"),
    ('[clusters."par:1"]\n', "setting clusters: cluster name 'par:1': letters, digits, '_', '.' "
     "and '-' only, starting with a letter or digit"),
    ('[clusters.par1]\nqueue = " "\n', "setting clusters.par1.queue: must not be empty"),
])
def test_each_cluster_mistake_is_a_config_error(configured, text, message):
    configured(text)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)


def test_use_cluster_makes_every_reader_of_the_settings_see_that_cluster(configured):
    configured(CONFIG)
    assert get_settings().cluster_name == "ceph"  # the top level: no cluster chosen
    with cluster_scope("gra2") as name:
        assert name == "gra2" and get_settings().ceph.conf.name == "gra2.conf"
    assert get_settings().ceph.conf.name == "top.conf"
    with pytest.raises(ConfigError):
        use_cluster(None)  # several, no default
    with cluster_scope("par1"):
        assert get_settings().for_runbook("x").cluster_name == "par1"
