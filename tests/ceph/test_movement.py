"""Movement prediction on what the lab's real Ceph (16.2.15) printed, captured into data/.

``movement_osdmap.bin`` is the lab's binary OSD map (``ceph osd getmap``); the ``.txt`` files
are ``osdmaptool --test-map-pgs-dump-all`` of it as is and with osd.4's CRUSH weight at 0;
the JSON files are ``pg ls``, ``osd df`` and ``osd dump`` of the same moment. Where the test
needs ``osdmaptool`` itself it runs the real one on a copy of that map.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cephflow.ceph.backends import CliBackend
from cephflow.ceph.command import cmd
from cephflow.ceph.command_runner import CommandResult, LocalRunner
from cephflow.ceph.models import OsdDump, PgList, parse_osd_df
from cephflow.ceph.movement import (
    NONE_ITEM,
    Usage,
    WeightChange,
    parse_up_sets,
    pg_bytes_from_text,
    predict,
)
from cephflow.ceph.movement_tools import (
    MovementTool,
    ec_divisors,
    osdmaptool_args,
    recovery_rate,
)
from cephflow.errors import TransportError, UnsafeOperation

DATA = Path(__file__).parent / "data"
MIB = 1024 * 1024


def text(name: str) -> str:
    return (DATA / name).read_text()


def load(name: str):
    return json.loads(text(name))


def recorded(backfillfull: float = 0.9, nearfull: float = 0.85, rate: float = 0.0):
    pgs = PgList.from_json(load("movement_pg_ls.json"))
    usage = parse_osd_df(load("movement_osd_df.json"))
    return predict(
        [WeightChange(4, weight=0.0)],
        parse_up_sets(text("movement_before.txt")),
        parse_up_sets(text("movement_osd4_weight0.txt")),
        pg_bytes={p.pgid: p.bytes for p in pgs.pgs},
        usage={i: Usage(u.kb * 1024, u.kb_used * 1024) for i, u in usage.items()},
        nearfull_ratio=nearfull, backfillfull_ratio=backfillfull,
        rate=rate or 100 * MIB, rate_source="recovery" if rate else "default", epoch=16,
    )


def test_up_sets_are_read_from_osdmaptool_and_its_other_lines_skipped():
    before = parse_up_sets(text("movement_before.txt"))
    assert len(before) == 33  # device_health_metrics' 1 PG + labpool's 32
    assert before["1.0"] == (3, 5, 0)
    assert all(len(up) == 3 for up in before.values())
    # an EC hole (CRUSH_ITEM_NONE) and an empty up set are kept as Ceph prints them
    odd = parse_up_sets("pool 3 pg_num 2\n"
                        f"3.0 raw ([1,{NONE_ITEM},2], p1) up ([1,{NONE_ITEM},2], p1) acting ([], p-1)\n"
                        "3.1 raw ([], p-1) up ([], p-1) acting ([], p-1)\n"
                        "#osd\tcount\tfirst\tprimary\tc wt\twt\nosd.0\t16\t16\t16\t1\t1\n")
    assert odd == {"3.0": (1, NONE_ITEM, 2), "3.1": ()}


def test_a_weight_to_zero_moves_every_pg_off_that_osd_and_counts_its_bytes():
    p = recorded()
    before = parse_up_sets(text("movement_before.txt"))
    on_osd4 = {pg for pg, up in before.items() if 4 in up}
    moving = {m.pgid for m in p.moves}
    assert on_osd4 <= moving  # every PG osd.4 held changes mapping
    assert p.pgs_moving == 24 and p.pgs_total == 33
    assert all(4 not in m.after for m in p.moves)
    pgs = {pg.pgid: pg.bytes for pg in PgList.from_json(load("movement_pg_ls.json")).pgs}
    assert p.bytes_moving == sum(pgs[m.pgid] for m in p.moves)
    assert p.bytes_to_copy == sum(pgs[m.pgid] * len(set(m.after) - set(m.before)) for m in p.moves)
    # osd.4 ends with what it held minus every copy it gives away; the others' totals balance
    fill = p.fill
    gave = sum(pgs[pg] for pg in on_osd4)
    assert fill[4].used_after == max(0, fill[4].used - gave)
    total_before = sum(f.used for f in fill.values())
    total_after = sum(f.used_after for f in fill.values())
    assert total_after - total_before == pytest.approx(-gave + p.bytes_to_copy, abs=fill[4].used)


def test_bytes_per_pg_are_scanned_from_the_text_as_json_would_give_them():
    parsed = {p.pgid: p.bytes for p in PgList.from_json(load("movement_pg_ls.json")).pgs}
    assert pg_bytes_from_text(text("movement_pg_ls.json")) == parsed
    assert sum(parsed.values()) > 0
    spaced = json.dumps(load("movement_pg_ls.json"), indent=2)  # any spacing
    assert pg_bytes_from_text(spaced) == parsed
    # a PG without num_bytes (another shape): None, and the caller parses the JSON whole
    assert pg_bytes_from_text('{"pg_stats": [{"pgid": "1.0"}, {"pgid": "1.1", '
                              '"stat_sum": {"num_bytes": 5}}]}') is None
    assert pg_bytes_from_text('{"pg_stats":[{"pgid":"1.0"},{"pgid":"1.1",'
                              '"stat_sum":{"num_bytes":5}}]}') is None  # compact, same
    assert pg_bytes_from_text('{"pg_stats":[{"pgid":"1.0","stat_sum":{"num_bytes":7}},'
                              '{"pgid":"1.1","stat_sum":{"num_bytes":5}}]}') == {"1.0": 7, "1.1": 5}


def test_the_compact_dump_and_the_dump_all_give_the_same_up_sets():
    compact = "pool 2 pg_num 2\n2.0\t[3,5,0]\t3\n2.1\t[]\t-1\n#osd\tcount\tfirst\n"
    assert parse_up_sets(compact) == {"2.0": (3, 5, 0), "2.1": ()}


def test_eta_uses_the_rate_measured_now_or_the_stated_default():
    assert recorded().rate_source == "default"
    assert recorded().eta_seconds == pytest.approx(recorded().bytes_to_copy / (100 * MIB))
    fast = recorded(rate=1024.0)
    assert fast.rate_source == "recovery" and fast.eta_seconds == pytest.approx(
        fast.bytes_to_copy / 1024.0)
    assert recovery_rate({"pgmap": {"recovering_bytes_per_sec": 5242880}}) == 5242880
    assert recovery_rate({"pgmap": {"num_pgs": 33}}) == 0


def test_a_move_past_backfillfull_is_refused_naming_the_osd_and_numbers():
    assert recorded().refusal() is None
    fullest = recorded().fullest(1)[0]
    assert fullest.osd == 5 and fullest.ratio_after > fullest.ratio  # it receives data
    limit = (fullest.ratio + fullest.ratio_after) / 2
    p = recorded(backfillfull=limit)
    assert [f.osd for f in p.over_backfillfull] == [5]
    why = p.refusal()
    assert "osd.5 0.1% -> 0.2%" in why and "backfillfull_ratio 0.1%" in why
    assert "osd.4 weight 0" in why and "backfill_toofull" in why


def test_an_osd_already_past_the_ratio_that_only_gives_data_away_is_not_named():
    p = recorded(backfillfull=0.0001)  # every OSD is past it already
    assert 4 not in [f.osd for f in p.over_backfillfull]  # osd.4 only loses data
    assert p.fill[4].used_after < p.fill[4].used


def test_the_json_carries_the_numbers_the_plan_shows():
    data = recorded().to_json(fullest=2)
    assert data["kind"] == "movement" and data["epoch"] == 16
    assert data["changes"] == [{"osd": 4, "weight": 0.0, "out": False}]
    assert data["pgs_moving"] == 24 and data["pgs_total"] == 33
    assert [f["osd"] for f in data["fullest_after"]] == [5, 3]
    assert data["over_backfillfull"] == [] and data["rate_source"] == "default"
    assert "moving_pgs" not in data  # 100,000 pgids have no place in a plan
    json.dumps(data)  # plain data


def test_osdmaptool_options_for_weights_and_outs():
    assert osdmaptool_args([WeightChange(4, weight=0.0), WeightChange(5, weight=0.25)]) == (
        ["--adjust-crush-weight", "4:0,5:0.25"], None)
    assert osdmaptool_args([WeightChange(2, out=True)]) == (["--mark-out", "2"], None)
    args, approximate = osdmaptool_args([WeightChange(2, out=True), WeightChange(3, out=True)])
    assert args == ["--adjust-crush-weight", "2:0,3:0"] and "one OSD out per run" in approximate


def test_ec_pools_count_a_shard_not_the_whole_object_set():
    dump = {"erasure_code_profiles": {"ec42": {"k": "4", "m": "2"}},
            "pools": [{"pool": 1, "type": 1}, {"pool": 7, "type": 3, "erasure_code_profile": "ec42"}]}
    assert ec_divisors(dump) == {7: 4}
    p = predict([WeightChange(0, weight=0.0)], {"7.0": (0, 1, 2, 3, 4, 5)},
                {"7.0": (6, 1, 2, 3, 4, 5)}, pg_bytes={"7.0": 4000},
                usage={0: Usage(10_000, 2000), 6: Usage(10_000, 0)}, nearfull_ratio=0.85,
                backfillfull_ratio=0.9, rate=1.0, rate_source="default", divisors={7: 4})
    assert p.bytes_moving == 4000 and p.bytes_to_copy == 1000
    assert p.fill[6].used_after == 1000 and p.fill[0].used_after == 1000


needs_osdmaptool = pytest.mark.skipif(shutil.which("osdmaptool") is None,
                                      reason="osdmaptool not installed")


@needs_osdmaptool
def test_the_real_osdmaptool_on_a_private_copy_gives_the_recorded_mappings(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before, after, approximate = MovementTool().up_sets(
        (DATA / "movement_osdmap.bin").read_bytes(), [WeightChange(4, weight=0.0)])
    assert before == parse_up_sets(text("movement_before.txt"))
    assert after == parse_up_sets(text("movement_osd4_weight0.txt"))
    assert approximate is None
    assert list(tmp_path.iterdir()) == []  # the copy is gone


class RecordedClient:
    """A client answering from data/ (the binary map included); ratios can be lowered."""

    def __init__(self, backfillfull: float | None = None):
        self.dump = load("movement_osd_dump.json")
        if backfillfull is not None:
            self.dump["backfillfull_ratio"] = backfillfull

    def osdmap_bytes(self) -> bytes:
        return (DATA / "movement_osdmap.bin").read_bytes()

    def query(self, command):
        return {"osd dump": self.dump, "status": {"pgmap": {}}}[command.prefix]

    def osd_dump(self):
        return OsdDump.from_json(self.dump)

    def pg_ls(self):
        return PgList.from_json(load("movement_pg_ls.json"))

    def pg_ls_text(self) -> str:
        return text("movement_pg_ls.json")

    def osd_df(self):
        return parse_osd_df(load("movement_osd_df.json"))


@needs_osdmaptool
def test_the_lookup_refuses_past_backfillfull_even_with_force(monkeypatch):
    from cephflow.tasks.ceph import movement as lookup_module

    client = RecordedClient()
    monkeypatch.setattr(lookup_module, "client_for", lambda settings: client)
    answer = lookup_module.lookup_movement(osds=[4], target=0.0)
    assert answer["pgs_moving"] == 24 and answer["changes"][0] == {"osd": 4, "weight": 0.0, "out": False}
    client.dump["backfillfull_ratio"] = 0.0012  # osd.5 goes from 0.09 % to 0.16 %
    for force in (False, True):
        with pytest.raises(UnsafeOperation, match=r"osd\.5 .* past backfillfull_ratio 0\.1%"):
            lookup_module.lookup_movement(osds=[4], target=0.0, force=force)


@needs_osdmaptool
def test_the_lookup_refuses_past_nearfull_unless_forced(monkeypatch):
    from cephflow.tasks.ceph import movement as lookup_module

    client = RecordedClient()
    client.dump["nearfull_ratio"] = 0.0012
    monkeypatch.setattr(lookup_module, "client_for", lambda settings: client)
    with pytest.raises(UnsafeOperation, match=r"osd\.5 0\.2% past nearfull_ratio .* --force"):
        lookup_module.lookup_movement(osds=[4], target=0.0)
    assert lookup_module.lookup_movement(osds=[4], target=0.0, force=True)["over_nearfull"] == [5]


@needs_osdmaptool
def test_replacing_marks_a_dead_osd_out_and_drains_a_running_one(monkeypatch):
    from cephflow.tasks.ceph import movement as lookup_module

    client = RecordedClient()
    for osd in client.dump["osds"]:
        if osd["osd"] == 2:
            osd["up"] = 0
    monkeypatch.setattr(lookup_module, "client_for", lambda settings: client)
    answer = lookup_module.lookup_movement(osds=[2, 3], replace=True)
    assert answer["changes"] == [{"osd": 2, "weight": None, "out": True},
                                 {"osd": 3, "weight": 0.0, "out": False}]


def test_a_local_runner_hands_back_binary_output_unchanged():
    data = (DATA / "movement_osdmap.bin").read_bytes()
    result = LocalRunner().run_bytes(["cat", str(DATA / "movement_osdmap.bin")])
    assert result.check().stdout == data


def test_a_cli_backend_over_a_text_only_runner_says_it_cannot_read_binary():
    class TextOnly:
        def run(self, argv, *, input=None, timeout=None):
            return CommandResult(tuple(argv), 0, "", "")

    with pytest.raises(TransportError, match="cannot return a binary answer"):
        CliBackend(TextOnly()).fetch_bytes(cmd("osd getmap", json_output=False))
